"""AutoencoderClassifier and AutoencoderRegressor: semi-supervised fits, freezing, transfer."""

import copy

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skae import AutoencoderClassifier, AutoencoderRegressor, AutoencoderTransformer, DenoisingAE

SMALL_AE = dict(n_components=4, hidden_layer_sizes=(16,), max_iter=5, early_stopping=False)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=200, n_features=6, centers=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def _encoder_state(module):
    return {k: v.detach().clone().double() for k, v in module.encoder.state_dict().items()}


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class RowCounter(Callback):
    """Records how many rows the autoencoder trains on."""

    def on_train_begin(self, net, X=None, **kwargs):
        self.n_rows = len(X)


@pytest.mark.slow
def test_few_labels_beats_supervised_baselines(digits_labeled):
    # 5% of the digits training rows labeled, the rest marked -1; held-out
    # accuracy averaged over five draws of the labeled rows (fixed seeds, so
    # deterministic). The autoencoder learns from all training rows; as they
    # are the same rows for every draw, it is fitted once and used as is.
    X_train, X_test, y_train, y_test = digits_labeled
    ae = DenoisingAE(
        n_components=16,
        hidden_layer_sizes=(128,),
        noise_level=0.3,
        early_stopping=False,
        max_iter=100,
        batch_size=64,
        random_state=0,
    ).fit(X_train)
    scores = {"autoencoder": [], "logistic": [], "mlp": []}
    for seed in range(5):
        rng = np.random.RandomState(seed)
        labeled = np.zeros(len(y_train), dtype=bool)
        labeled[rng.choice(len(y_train), int(0.05 * len(y_train)), replace=False)] = True
        y_partial = np.where(labeled, y_train, -1)
        clf = AutoencoderClassifier(
            ae, refit_autoencoder=False, fine_tuning_learning_rate=1e-2, random_state=0
        )
        scores["autoencoder"].append(clf.fit(X_train, y_partial).score(X_test, y_test))
        X_lab, y_lab = X_train[labeled], y_train[labeled]
        scores["logistic"].append(
            LogisticRegression(max_iter=5000).fit(X_lab, y_lab).score(X_test, y_test)
        )
        scores["mlp"].append(
            MLPClassifier(max_iter=5000, random_state=0).fit(X_lab, y_lab).score(X_test, y_test)
        )
    means = {name: np.mean(values) for name, values in scores.items()}
    assert means["autoencoder"] > means["logistic"] + 0.01, scores
    assert means["autoencoder"] > means["mlp"], scores


def test_autoencoder_trains_on_all_rows_head_on_labeled(blobs):
    X, y = blobs
    y_partial = np.where(np.arange(len(y)) % 4 == 0, y, -1)
    counter = RowCounter()
    ae = AutoencoderTransformer(**SMALL_AE, callbacks=[counter])
    clf = AutoencoderClassifier(ae, freeze_epochs=3, max_iter=2, random_state=0)
    clf.fit(X, y_partial)
    assert dict(clf.autoencoder_.net_.callbacks_)["user_0"].n_rows == len(X)
    assert counter.__dict__.get("n_rows") is None  # the user's callback is not touched
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    phases = clf.history_[:, "phase"]
    assert phases == ["frozen"] * 3 + ["fine-tuning"] * 2
    assert len(clf.loss_curve_) == clf.n_iter_ == 5


def test_frozen_phase_keeps_encoder_fine_tuning_changes_it(blobs):
    X, y = blobs
    ae = AutoencoderTransformer(**SMALL_AE, batch_norm=True, dropout=0.2, random_state=0)
    frozen = AutoencoderClassifier(ae, freeze_epochs=5, max_iter=0, random_state=0).fit(X, y)
    start = _encoder_state(frozen.autoencoder_.module_)
    # Weights and batch-norm statistics unchanged; the head did learn.
    assert _same_state(_encoder_state(frozen.module_.autoencoder), start)
    assert frozen.score(X, y) > 0.5
    tuned = AutoencoderClassifier(ae, freeze_epochs=5, max_iter=5, random_state=0).fit(X, y)
    tuned_state = _encoder_state(tuned.module_.autoencoder)
    changed = [not torch.equal(tuned_state[k], start[k]) for k in start if "weight" in k]
    assert all(changed)
    # transform gives the fine-tuned codes, not the pretrained autoencoder's.
    codes = tuned.transform(X)
    assert codes.shape == (len(X), 4) and codes.dtype == np.float64
    assert not np.allclose(codes, tuned.autoencoder_.transform(X), atol=1e-3)
    np.testing.assert_allclose(frozen.transform(X), frozen.autoencoder_.transform(X), atol=1e-5)


def test_transfer_uses_fitted_autoencoder_without_modifying_it(blobs):
    X, y = blobs
    source = AutoencoderTransformer(**SMALL_AE, random_state=0).fit(X[:100])
    before = _encoder_state(source.module_)
    clf = AutoencoderClassifier(source, refit_autoencoder=False, freeze_epochs=3, max_iter=3)
    clf.fit(X[100:], y[100:])
    assert _same_state(_encoder_state(clf.autoencoder_.module_), before)  # used as is
    assert _same_state(_encoder_state(source.module_), before)  # the user's copy untouched
    assert source.n_iter_ == clf.autoencoder_.n_iter_
    refit = AutoencoderClassifier(source, freeze_epochs=3, max_iter=3, random_state=0)
    refit.fit(X[100:], y[100:])
    assert not _same_state(_encoder_state(refit.autoencoder_.module_), before)
    with pytest.raises(ValueError, match="expects 6 features, but X has 5"):
        AutoencoderClassifier(source, refit_autoencoder=False).fit(X[:, :5], y)


def test_label_only_fit_string_labels_and_probabilities(blobs):
    X, y = blobs
    names = np.array(["cat", "dog", "eel"])[y]
    clf = AutoencoderClassifier(
        AutoencoderTransformer(**SMALL_AE), freeze_epochs=20, max_iter=5, random_state=0
    ).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "eel"])
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, names) > 0.9


def test_default_autoencoder(blobs):
    X, y = blobs
    clf = AutoencoderClassifier(freeze_epochs=5, max_iter=2, random_state=0).fit(X, y)
    assert isinstance(clf.autoencoder_, DenoisingAE)
    assert clf.autoencoder_.n_components == min(32, X.shape[1])
    assert clf.transform(X).shape == (len(X), X.shape[1])


def test_deterministic_given_random_state(blobs):
    X, y = blobs
    y_partial = np.where(np.arange(len(y)) % 2 == 0, y, -1)
    ae = AutoencoderTransformer(**SMALL_AE)
    a = AutoencoderClassifier(ae, freeze_epochs=3, max_iter=3, random_state=1).fit(X, y_partial)
    b = AutoencoderClassifier(ae, freeze_epochs=3, max_iter=3, random_state=1).fit(X, y_partial)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert ae.random_state is None  # the unfitted template is not modified


@pytest.mark.parametrize(
    "y, match",
    [
        (np.full(200, -1), "Every label is the unlabeled marker"),
        (np.where(np.arange(200) < 100, 1, -1), "at least 2 classes"),
        (None, "requires y to be passed"),
        (np.linspace(0, 1, 200), "Unknown label type"),
    ],
)
def test_classifier_bad_targets(blobs, y, match):
    X, _ = blobs
    clf = AutoencoderClassifier(AutoencoderTransformer(**SMALL_AE), freeze_epochs=1, max_iter=1)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_no_training_epochs_is_an_error(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="head untrained"):
        AutoencoderClassifier(freeze_epochs=0, max_iter=0).fit(X, y)


def test_regressor_semi_supervised():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    y_partial = y_train.copy()
    y_partial[::2] = np.nan
    y_given = y_partial.copy()
    reg = AutoencoderRegressor(
        AutoencoderTransformer(n_components=10, hidden_layer_sizes=(32,), max_iter=20),
        random_state=0,
    ).fit(X_train, y_partial)
    np.testing.assert_array_equal(y_partial, y_given)  # the user's y is not modified
    assert reg.score(X_test, y_test) > 0.3  # R^2: far better than the mean
    assert reg.predict(X_test).dtype == np.float64
    with pytest.raises(ValueError, match="NaN only"):
        AutoencoderRegressor().fit(X_train, np.full(len(X_train), np.nan))
    with pytest.raises(ValueError, match="infinity"):
        AutoencoderRegressor().fit(X_train, np.where(np.isnan(y_partial), np.inf, y_partial))


def test_pickle_round_trip(blobs):
    import pickle

    X, y = blobs
    clf = AutoencoderClassifier(AutoencoderTransformer(**SMALL_AE), freeze_epochs=2, max_iter=2)
    clf.fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))
    assert copy.deepcopy(clf).score(X, y) == clf.score(X, y)


# ------------------------------------------------ graph (label spreading) and bad labels
def _tiny_classifier(**params):
    """The default graph method on a small autoencoder, few epochs (seconds)."""
    ae = DenoisingAE(n_components=4, hidden_layer_sizes=(16,), max_iter=5, early_stopping=False)
    return AutoencoderClassifier(ae, freeze_epochs=2, max_iter=3, random_state=0, **params)


def test_one_labeled_row_per_class_spreads_to_the_rest(blobs):
    X, y = blobs
    first = [np.flatnonzero(y == label)[0] for label in range(3)]
    y_partial = np.full(len(y), -1)
    y_partial[first] = y[first]
    given = y_partial.copy()
    clf = _tiny_classifier().fit(X, y_partial)
    np.testing.assert_array_equal(y_partial, given)  # the user's y is not modified
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.combination_ == "graph" and clf.combination_scores_ == {}
    # Three separated blobs: three labels reach every row, training and new ones.
    assert np.mean(clf.label_distributions_.argmax(axis=1) == y) > 0.95
    assert clf.score(X, y) > 0.95
    np.testing.assert_array_equal(clf.label_distributions_[first], np.eye(3))


def test_predict_proba_is_a_distribution_and_predict_its_argmax(blobs):
    X, y = blobs
    y_partial = np.where(np.arange(len(y)) % 10 == 0, y, -1)
    clf = _tiny_classifier().fit(X, y_partial)
    proba = clf.predict_proba(X[:50])
    assert proba.shape == (50, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(clf.predict(X[:50]), clf.classes_[proba.argmax(axis=1)])


def test_plentiful_labels_choose_the_prediction_on_held_out_rows():
    X, y = make_blobs(n_samples=400, n_features=5, centers=4, cluster_std=3.0, random_state=1)
    X = StandardScaler().fit_transform(X)
    clf = _tiny_classifier().fit(X, y)  # 10% of 400 labeled rows: 10 per class
    assert set(clf.combination_scores_) == {"graph", "head", "mean"}
    best = max(clf.combination_scores_.values())
    assert clf.combination_scores_[clf.combination_] == best
    few = _tiny_classifier().fit(X, np.where(np.arange(len(y)) % 10 == 0, y, -1))
    assert few.combination_ == "graph" and few.combination_scores_ == {}  # 4 rows per class


def test_no_graph_trains_the_head_on_labeled_rows_only(blobs):
    X, y = blobs
    clf = _tiny_classifier(n_neighbors=None).fit(X, np.where(np.arange(len(y)) % 4 == 0, y, -1))
    assert clf.combination_ == "head"
    assert not hasattr(clf, "label_distributions_")
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_string_labels_with_an_explicit_unlabeled_marker(blobs):
    X, y = blobs
    names = np.array(["cat", "dog", "eel"])[y].astype(object)
    names[np.arange(len(y)) % 3 != 0] = "?"
    clf = _tiny_classifier(unlabeled_label="?").fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "eel"])
    assert clf.predict(X).dtype.kind in "OU" and set(clf.predict(X)) <= {"cat", "dog", "eel"}
    truth = np.array(["cat", "dog", "eel"])[y]
    assert clf.score(X, truth) > 0.9
    # The default marker -1 among string labels (an object array) works too...
    mixed = np.where(names == "?", -1, names).astype(object)
    np.testing.assert_array_equal(_tiny_classifier().fit(X, mixed).classes_, clf.classes_)
    # ... and None as the marker.
    with_none = np.where(names == "?", None, names)
    fitted = _tiny_classifier(unlabeled_label=None).fit(X, with_none)
    np.testing.assert_array_equal(fitted.classes_, clf.classes_)


def test_string_labels_with_the_default_marker_are_all_labeled(blobs):
    X, y = blobs
    names = np.array(["a", "b", "c"])[y]  # no string equals -1: every row is labeled
    clf = _tiny_classifier().fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])


@pytest.mark.parametrize("marker", [-1, "?", None])
def test_all_unlabeled_is_a_clear_error(blobs, marker):
    X, _ = blobs
    y = np.full(len(X), marker, dtype=object)
    with pytest.raises(ValueError, match="Every label is the unlabeled marker.*Label some rows"):
        _tiny_classifier(unlabeled_label=marker).fit(X, y)


def test_score_with_labels_unseen_at_fit_is_a_clear_error(blobs):
    X, y = blobs
    clf = _tiny_classifier().fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match=r"labels not seen at fit: \[2\].*classes_=\[0, 1\]"):
        clf.score(X, y)
    with pytest.raises(ValueError, match="without the unlabeled marker -1"):
        clf.score(X, np.where(y < 2, y, -1))
    assert clf.score(X[y < 2], y[y < 2]) > 0.9


def _overlapping_classes_with_chance_label_counts():
    """Four overlapping classes of 100 rows with 6, 2, 3 and 5 labels (as random labels come)."""
    X, y = make_blobs(n_samples=400, centers=4, n_features=4, cluster_std=2.0, random_state=2)
    y_partial = np.full(len(y), -1)
    chosen = np.concatenate([np.flatnonzero(y == c)[:k] for c, k in enumerate((6, 2, 3, 5))])
    y_partial[chosen] = y[chosen]
    return StandardScaler().fit_transform(X), y, y_partial


class PseudoLabelRecorder(AutoencoderClassifier):
    """Records the targets the network is trained on (the pseudo labels)."""

    def _train(self, module, data, *args, **kwargs):
        self.trained_targets = np.asarray(data[1])
        return super()._train(module, data, *args, **kwargs)


def test_labels_drawn_at_random_do_not_set_the_class_sizes_of_the_pseudo_labels():
    # With the classes' masses at the labeled shares (0.375 to 0.125) the
    # pseudo labels gave classes 1 and 2 (2 and 3 labels) 25 and 9 rows of their
    # 100 each, 58% of them right; the final spreading keeps the shares.
    X, y, y_partial = _overlapping_classes_with_chance_label_counts()
    ae = DenoisingAE(n_components=4, hidden_layer_sizes=(16,), max_iter=5, early_stopping=False)
    clf = PseudoLabelRecorder(ae, freeze_epochs=2, max_iter=3, random_state=0).fit(X, y_partial)
    sizes = np.bincount(clf.trained_targets, minlength=4)
    assert sizes.min() > 70, sizes
    assert np.mean(clf.trained_targets == y) > 0.8
    assert clf.score(X, y) > 0.8


def test_a_class_with_no_label_is_never_predicted():
    X, y, y_partial = _overlapping_classes_with_chance_label_counts()
    y_partial[y_partial == 3] = -1  # class 3: rows, but no label
    clf = _tiny_classifier().fit(X, y_partial)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (400, 3) and clf.label_distributions_.shape == (400, 3)
    assert set(clf.predict(X)) <= {0, 1, 2}
    known = y < 3
    assert np.mean(clf.predict(X[known]) == y[known]) > 0.8  # the labeled classes still work


def test_auto_epochs_grow_with_the_share_of_true_labels_on_small_data(blobs):
    X, y = blobs  # 200 rows: 2 batches of 128 per epoch
    ae = DenoisingAE(n_components=4, hidden_layer_sizes=(16,), max_iter=5, early_stopping=False)
    clf = AutoencoderClassifier(ae, n_iter_no_change=1000, random_state=0)
    few = clf.fit(X, np.where(np.arange(len(y)) % 20 == 0, y, -1))
    assert few.n_iter_ == 5 + 30  # 5% true labels: the floor of 5 and 30 epochs
    labeled = clone(clf).fit(X, y)  # 90% true labels (10% held out): 0.81 * 1000 / 2 steps
    assert labeled.history_[:, "phase"].count("frozen") == 61  # ceil(0.81 * 150) / 2
    assert labeled.history_[:, "phase"].count("fine-tuning") == 405


# --------------------------------------------- pseudo labels and the NaN marker (guards)
def _moons(n_samples, seed, mean=None, scale=None):
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=0.05, random_state=seed)
    mean = X.mean(axis=0) if mean is None else mean
    scale = X.std(axis=0) if scale is None else scale
    return (X - mean) / scale, y, mean, scale


def _head_accuracy(clf, X, y):
    """Accuracy of the network's head alone (``module_``), whatever ``combination_`` is."""
    with torch.no_grad():
        logits = clf.module_(torch.as_tensor(X, dtype=torch.float64))[0].numpy()
    return np.mean(clf.classes_[logits.argmax(axis=1)] == y)


@pytest.mark.parametrize("n_neighbors", [10, None])
def test_the_head_learns_the_labels_spread_over_the_graph(n_neighbors):
    # Two moons, three labeled rows each: spread over the k-NN graph, the labels follow
    # the moons (every pseudo label right), and the head, which trains on the pseudo
    # labels of all rows, learns the bent boundary. Without the graph it trains on the
    # six labeled rows only and misclassifies 12-18% of new rows (seeds 0-3).
    X, y, mean, scale = _moons(400, seed=0)
    X_new, y_new, _, _ = _moons(400, seed=1, mean=mean, scale=scale)
    rng = np.random.RandomState(0)
    labeled = np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False) for c in (0, 1)])
    y_partial = np.full(len(y), -1)
    y_partial[labeled] = y[labeled]
    ae = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=10,
                                early_stopping=False, random_state=0)
    clf = AutoencoderClassifier(ae, head_hidden_layer_sizes=(32,), freeze_epochs=100, max_iter=0,
                                n_neighbors=n_neighbors, random_state=0).fit(X, y_partial)
    if n_neighbors is None:
        assert _head_accuracy(clf, X_new, y_new) < 0.95
        return
    assert np.mean(clf.label_distributions_.argmax(axis=1) == y) > 0.98
    assert _head_accuracy(clf, X_new, y_new) > 0.97
    assert _head_accuracy(clf, X, y) > 0.97


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_nan_marks_the_unlabeled_rows_of_a_float_target(blobs):
    X, y = blobs
    unlabeled = np.arange(len(y)) % 4 != 0
    y_nan = np.where(unlabeled, np.nan, y.astype(np.float64))
    given = y_nan.copy()
    clf = _tiny_classifier(unlabeled_label=np.nan).fit(X, y_nan)
    np.testing.assert_array_equal(y_nan, given)  # the user's y is not modified
    np.testing.assert_array_equal(clf.classes_, [0.0, 1.0, 2.0])
    assert clf.classes_.dtype.kind == "f"
    # The same fit as with the -1 marker: the same rows labeled, with the same labels.
    reference = _tiny_classifier().fit(X, np.where(unlabeled, -1, y))
    np.testing.assert_array_equal(clf.label_distributions_, reference.label_distributions_)
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(X), reference.predict(X).astype(np.float64))
    labeled_rows = np.flatnonzero(~unlabeled)
    np.testing.assert_array_equal(clf.label_distributions_[labeled_rows],
                                  np.eye(3)[y[labeled_rows]])
    assert clf.score(X, y.astype(np.float64)) > 0.9
    # NaN is the marker only when asked: by default NaN is not a class.
    with pytest.raises(ValueError, match="NaN"):
        _tiny_classifier().fit(X, y_nan)
