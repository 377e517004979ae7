"""AutoencoderClassifier: a head on a pretrained encoder, labels spread over k-NN graphs."""

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._budget import n_batches
from ._data import LazyRows
from ._distributed import active_parallel
from ._docstrings import fill_docstring
from ._graph import class_priors, induce, neighbor_affinity, spread_labels, unit_rows
from ._head import SHARED_ATTRIBUTES, BaseAutoencoderSupervised, parameters_doc
from ._validation import map_batches
from .denoising import DenoisingAE

__all__ = ["AutoencoderClassifier"]

# How far the labels travel when they are spread to train the network on
# (the final spreading, to predict, uses ``spreading_alpha``).
PSEUDO_LABEL_ALPHA = 0.99

# Labeled rows held out to choose between the graph's and the head's
# predictions: this share of them, when it makes at least
# ``MIN_VALIDATION_PER_CLASS`` rows per class (fewer labels: the graph's;
# 30 rows in all chose worse at 5% labels: letter 0.742 -> 0.729).
VALIDATION_FRACTION = 0.1
MIN_VALIDATION_PER_CLASS = 5

# What a fit with ``n_neighbors`` (the label graph) sets and a fit without it does not.
GRAPH_ATTRIBUTES = (
    "label_distributions_",
    "reference_rows_",
    "reference_codes_",
    "induction_neighbors_",
    "unit_norm_rows_",
)

# The classifier's ``"auto"`` epochs: at least these many, and enough for
# these many optimizer steps (times the squared share of true labels) on
# small data.
AUTO_FROZEN_EPOCHS, AUTO_FROZEN_STEPS = 5, 150
AUTO_FINE_TUNING_EPOCHS, AUTO_FINE_TUNING_STEPS = 30, 1000

# The ways of predicting a classifier chooses from, preferred in this order on ties.
COMBINATIONS = ("graph", "mean", "head")


def _unlabeled_rows(y, marker):
    """Mask of the entries of ``y`` equal to ``marker`` (NaN markers match NaN)."""
    if isinstance(marker, float) and np.isnan(marker):
        return np.asarray([isinstance(v, float) and np.isnan(v) for v in y.tolist()], dtype=bool)
    if y.dtype.kind in "USb" and not isinstance(marker, (str, bytes)):
        return np.zeros(len(y), dtype=bool)  # a string array holds no number
    if y.dtype.kind in "iufb" and isinstance(marker, (str, bytes)):
        return np.zeros(len(y), dtype=bool)
    return np.asarray([value == marker for value in y.tolist()], dtype=bool)


def _graph_rows(X, unit_norm):
    """The network's input rows as the graph sees them: missing values (NaN) as 0,
    scaled to unit norm if ``unit_norm``."""
    X = np.nan_to_num(np.asarray(X, dtype=np.float64), nan=0.0)
    return unit_rows(X) if unit_norm else X


def _entropy(distributions):
    """Shannon entropy (nats) of each row of ``distributions``."""
    safe = np.where(distributions > 0, distributions, 1.0)
    return -(distributions * np.log(safe)).sum(axis=1)


def _combinations(graph_proba, head_proba):
    """The candidate predictions: the graph's, the head's and their mean."""
    return {
        "graph": graph_proba,
        "mean": 0.5 * (graph_proba + head_proba),
        "head": head_proba,
    }


def _softmax(logits):
    """Row-wise softmax of ``logits`` (ndarray of shape (n_samples, n_classes))."""
    logits = logits - logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=1, keepdims=True)


_CLASSIFIER_PARAMETERS = parameters_doc(
    default_autoencoder="``DenoisingAE(n_components=min(32, n_features), "
    "hidden_layer_sizes=(256,), noise_level=0.3, max_iter=100)``",
    epochs_type='int or "auto"',
    freeze_epochs='"auto"',
    auto_frozen=(
        f'\n        ``"auto"``: {AUTO_FROZEN_EPOCHS} epochs, or enough for {AUTO_FROZEN_STEPS} '
        "optimizer steps\n        times the squared share of truly labeled rows among "
        "the training\n        rows, if more (small data)."
    ),
    max_iter='"auto"',
    auto_fine_tuning=(
        f'\n        ``"auto"``: {AUTO_FINE_TUNING_EPOCHS} epochs, or enough for '
        f"{AUTO_FINE_TUNING_STEPS} optimizer steps\n        times the squared share of "
        "truly labeled rows, if more."
    ),
    batch_size=128,
    batch_rows="Training rows (labeled or pseudo-labeled)",
    alpha="1e-4",
    distributed_targets=(
        "\n        ``classes_`` holds the labels seen on any rank. Label spreading needs the"
        "\n        graph of every row in one process: ``distributed=True`` requires"
        "\n        ``n_neighbors=None`` (the head then learns from the labeled rows)."
    ),
) + """\
    n_neighbors : int or None, default=10
        Neighbours of each row in the k-nearest-neighbour graphs the labels
        spread over (at most ``n_samples - 1``). ``None``: no graph, the
        unlabeled rows only train the autoencoder and the head learns from
        the labeled rows (the head's predictions).
    spreading_alpha : float in [0, 1), default=0.9
        How far the labels travel in the final spreading, the one that
        predicts: the weight of a row's neighbours against its own label
        (Zhou et al., 2004). The spreading that makes the network's pseudo
        labels uses 0.99.
    unlabeled_label : object, default=-1
        The label that marks an unlabeled row, as in scikit-learn's
        semi-supervised estimators; e.g. ``"unlabeled"`` or ``None`` with
        string classes.
"""


@fill_docstring(
    parameters=_CLASSIFIER_PARAMETERS,
    shared_attributes=SHARED_ATTRIBUTES,
    min_validation_per_class=MIN_VALIDATION_PER_CLASS,
    validation_share=f"{VALIDATION_FRACTION:.0%}",
)
class AutoencoderClassifier(ClassifierMixin, BaseAutoencoderSupervised):
    """Classifier on the encoder of an autoencoder, semi-supervised.

    Rows whose label is ``unlabeled_label`` (``-1`` by default, as in
    scikit-learn's semi-supervised estimators) are unlabeled. With the
    default ``n_neighbors=10`` the unlabeled rows are used three times:

    1. the autoencoder is trained on every row;
    2. the labels are spread (label spreading, Zhou et al., 2004) over the
       sum of two k-nearest-neighbour graphs of the training rows, one over
       the rows as the encoder reads them (scaled to unit norm when no value
       is negative, as pixels or counts, whose norm is an intensity) and one
       over the autoencoder's codes; every row gets the class the spreading
       gives it, weighted
       by its confidence (one minus the normalized entropy), and the
       encoder with a head (linear by default) is trained on all rows with
       the cross-entropy loss: ``freeze_epochs`` epochs with the encoder
       frozen, then ``max_iter`` epochs end to end;
    3. the labels are spread again, ``spreading_alpha``, over the graphs of
       the rows and of the fine-tuned codes; a new row gets the weighted mean
       of the label distributions of its ``n_neighbors`` nearest training
       rows, in each space, averaged over the two.

    The labels need not be balanced. The spreading of step 2 gives the
    classes their estimated priors as total mass: the shares of the labeled
    rows, shrunk toward equal shares as far as their sampling noise explains
    their differences (positive-part James-Stein shrinkage), so that labels
    drawn as they come, whose class counts vary by chance, do not impose
    those chance counts on the pseudo labels, while classes whose labeled
    shares differ by more than chance keep their difference; the spreading
    of step 3, whose labels travel less far, keeps the labeled shares. A
    class with no labeled row is not among ``classes_`` and is never
    predicted: label at least one row of every class to be predicted.
    Labels of one class only are an error (there is nothing to tell apart).

    With many labels (at least %(min_validation_per_class)s rows per class in
    %(validation_share)s of the labeled rows), that share of them is held
    out of steps 2 and 3 (they stay, unlabeled, in the graphs) and decides
    between the graph's prediction, the head's and their mean (``combination_``);
    its labels join the final spreading, not the head's training. With
    fewer labels the graph's prediction is used. ``n_neighbors=None`` trains
    the head on the labeled rows only, on the pretrained encoder.

    Parameters
    ----------
%(parameters)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen among the labeled rows (at least 2); a class no
        labeled row shows is not among them and cannot be predicted.
    label_distributions_ : ndarray of shape (n_samples, n_classes)
        The final spreading's class distribution of each training row (a
        labeled row's is its label); absent with ``n_neighbors=None``.
    reference_rows_ : ndarray of shape (n_samples, n_features_encoded)
        The training rows as the graph sees them (the autoencoder's encoding
        of ``X``, missing values as 0, at unit norm when ``unit_norm_rows_``);
        a new row is compared with them. Absent with ``n_neighbors=None``.
    reference_codes_ : ndarray of shape (n_samples, n_components)
        The fine-tuned codes of the training rows; absent with
        ``n_neighbors=None``.
    induction_neighbors_ : int
        Nearest training rows a new row takes its distribution from; absent
        with ``n_neighbors=None``.
    unit_norm_rows_ : bool
        Whether the graph's rows are scaled to unit norm (no training value
        was negative); absent with ``n_neighbors=None``.
    combination_ : {"graph", "head", "mean"}
        What ``predict_proba`` returns: the graph's distributions, the head's
        softmax, or their mean (``"head"`` with ``n_neighbors=None``).
    combination_scores_ : dict
        Accuracy of each way of predicting on the held-out labeled rows;
        empty when no rows were held out.
%(shared_attributes)s
    See Also
    --------
    sklearn.semi_supervised.LabelSpreading : Label spreading over the input features.
    sklearn.semi_supervised.SelfTrainingClassifier : Another way to use unlabeled rows.
    AutoencoderRegressor : The regression counterpart.

    References
    ----------
    Zhou, D., Bousquet, O., Lal, T. N., Weston, J., & Schölkopf, B. (2004).
    Learning with local and global consistency. NIPS 16, 321-328.

    Iscen, A., Tolias, G., Avrithis, Y., & Chum, O. (2019). Label propagation
    for deep semi-supervised learning. CVPR, 5070-5079.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import AutoencoderClassifier, DenoisingAE
    >>> X, y = load_digits(return_X_y=True)
    >>> X = MinMaxScaler().fit_transform(X)
    >>> y_partial = np.where(np.arange(len(y)) % 20 == 0, y, -1)  # 5% labeled
    >>> ae = DenoisingAE(n_components=16, hidden_layer_sizes=(64,), max_iter=5)
    >>> clf = AutoencoderClassifier(ae, freeze_epochs=2, max_iter=3, random_state=0)
    >>> clf.fit(X, y_partial).predict_proba(X[:3]).shape
    (3, 10)
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.combination_
    'graph'
    """

    _parameter_constraints: dict = {
        **BaseAutoencoderSupervised._parameter_constraints,
        "freeze_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left"), None],
        "spreading_alpha": [Interval(Real, 0, 1, closed="left")],
        "unlabeled_label": "no_validation",
    }

    def __init__(
        self,
        autoencoder=None,
        *,
        refit_autoencoder=True,
        head_hidden_layer_sizes=(),
        head_activation="relu",
        freeze_epochs="auto",
        max_iter="auto",
        learning_rate_init=1e-2,
        fine_tuning_learning_rate=None,
        batch_size=128,
        alpha=1e-4,
        optimizer="adam",
        n_iter_no_change=10,
        tol=1e-4,
        n_neighbors=10,
        spreading_alpha=0.9,
        unlabeled_label=-1,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        distributed=False,
    ):
        self.autoencoder = autoencoder
        self.refit_autoencoder = refit_autoencoder
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.head_activation = head_activation
        self.freeze_epochs = freeze_epochs
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.fine_tuning_learning_rate = fine_tuning_learning_rate
        self.batch_size = batch_size
        self.alpha = alpha
        self.optimizer = optimizer
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_neighbors = n_neighbors
        self.spreading_alpha = spreading_alpha
        self.unlabeled_label = unlabeled_label
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.distributed = distributed

    @property
    def _n_outputs(self):
        return len(self.classes_)

    def _phase_epochs(self, n_rows, labeled_share):
        # Steps in proportion to the squared share of true labels among the
        # training targets: a long fit of pseudo labels learns their mistakes
        # (150 rows, 10% labeled: in proportion to the share lost 1-2 points).
        share = labeled_share**2
        batches = n_batches(n_rows, self.batch_size)  # optimizer steps per epoch
        frozen, fine_tuning = self.freeze_epochs, self.max_iter
        if frozen == "auto":
            steps = int(np.ceil(share * AUTO_FROZEN_STEPS))
            frozen = max(AUTO_FROZEN_EPOCHS, -(-steps // batches))
        if fine_tuning == "auto":
            steps = int(np.ceil(share * AUTO_FINE_TUNING_STEPS))
            fine_tuning = max(AUTO_FINE_TUNING_EPOCHS, -(-steps // batches))
        return frozen, fine_tuning

    @staticmethod
    def _default_autoencoder(n_components):
        return DenoisingAE(
            n_components=n_components, hidden_layer_sizes=(256,), noise_level=0.3, max_iter=100
        )

    def _encode_targets(self, y):
        unlabeled = _unlabeled_rows(y, self.unlabeled_label)
        labeled = ~unlabeled
        if not labeled.any():
            raise ValueError(
                f"Every label is the unlabeled marker unlabeled_label={self.unlabeled_label!r}: "
                "AutoencoderClassifier needs at least one labeled row of each of 2 classes. "
                "Label some rows, or fit an autoencoder (e.g. DenoisingAE) on X alone."
            )
        y_labeled = y[labeled]
        if y_labeled.dtype == object:  # e.g. strings and a -1 marker: only the labels remain
            y_labeled = np.asarray(y_labeled.tolist())
        check_classification_targets(y_labeled)
        return labeled, y_labeled

    def _finish_targets(self, y_labeled):
        """Class indices of the labels; ``classes_`` from every rank's labels."""
        self.classes_ = np.unique(y_labeled)
        parallel = active_parallel()
        if parallel is not None:  # the labels seen on any rank
            self.classes_ = np.unique(np.concatenate(parallel.all_gather_objects(self.classes_)))
        if len(self.classes_) < 2:
            raise ValueError(
                f"AutoencoderClassifier needs labeled rows of at least 2 classes; got 1 "
                f"class ({np.asarray(self.classes_[0]).tolist()!r}) besides the unlabeled "
                f"rows (unlabeled_label={self.unlabeled_label!r}). Label some rows of "
                "another class, or fit an autoencoder (e.g. DenoisingAE) on X alone."
            )
        return np.searchsorted(self.classes_, y_labeled)

    def _check_distributed(self):
        parallel = super()._check_distributed()
        if parallel is not None and self.n_neighbors is not None:
            raise ValueError(
                f"AutoencoderClassifier with distributed=True needs n_neighbors=None; got "
                f"n_neighbors={self.n_neighbors}. Label spreading needs the graph of every "
                "row in one process: set n_neighbors=None to train the head on the labeled "
                "rows of every rank, or distributed=False."
            )
        return parallel

    def _loss(self, output, batch, X_input, epoch=None):
        if len(batch) == 2:
            return F.cross_entropy(output[0], batch[1])
        losses = F.cross_entropy(output[0], batch[1], reduction="none")
        weights = batch[2]
        return (losses * weights).sum() / weights.sum().clamp_min(1e-12)

    # ------------------------------------------------- graph (n_neighbors)
    def _fit_network(self, X, labeled, targets, seed):
        """Pseudo labels from the graphs, the network on all rows, the final spreading."""
        if self.n_neighbors is None:
            # What the graph of an earlier fit left would otherwise outlive it.
            for name in GRAPH_ATTRIBUTES:
                self.__dict__.pop(name, None)
            super()._fit_network(X, labeled, targets, seed)
            self.combination_, self.combination_scores_ = "head", {}
            return
        n_classes = len(self.classes_)
        n_neighbors = min(self.n_neighbors, len(X) - 1)
        labels = np.full(len(X), -1)
        labels[labeled] = targets
        held_out = self._held_out_rows(labels, seed)
        fit_labels = np.where(held_out, -1, labels)
        # Non-negative inputs (pixels, counts): their norm is an intensity, left out.
        unit_norm_rows = bool(np.nanmin(X) >= 0)
        rows = _graph_rows(X, unit_norm_rows)
        network = self._network(X)
        row_graph = neighbor_affinity(rows, n_neighbors)
        codes = self._codes_of(network, X)
        # Labels travel far here and the class masses decide the rows far from
        # any label: chance class counts (labels drawn at random) must not.
        pseudo = spread_labels(
            row_graph + neighbor_affinity(codes, n_neighbors),
            fit_labels,
            n_classes,
            PSEUDO_LABEL_ALPHA,
            priors=class_priors(np.bincount(fit_labels[fit_labels >= 0], minlength=n_classes)),
        )
        confidence = 1.0 - _entropy(pseudo) / np.log(n_classes)
        confidence[fit_labels >= 0] = 1.0
        self._train(
            network,
            (X, pseudo.argmax(axis=1), confidence.astype(np.float32)),
            seed,
            labeled_share=float(np.mean(fit_labels >= 0)),
        )
        codes = self._codes_of(self.module_, X)
        graph = row_graph + neighbor_affinity(codes, n_neighbors)
        self.combination_, self.combination_scores_ = "graph", {}
        if held_out.any():
            graph_proba = spread_labels(graph, fit_labels, n_classes, self.spreading_alpha)
            head_proba = _softmax(self._map_batches(
                X[held_out], lambda batch: self.module_(batch)[0], n_classes
            ))
            candidates = _combinations(graph_proba[held_out], head_proba)
            truth = labels[held_out]
            self.combination_scores_ = {
                name: float(np.mean(proba.argmax(axis=1) == truth))
                for name, proba in candidates.items()
            }
            self.combination_ = max(COMBINATIONS, key=self.combination_scores_.get)
        self.label_distributions_ = spread_labels(graph, labels, n_classes, self.spreading_alpha)
        self.reference_rows_, self.reference_codes_ = rows, codes
        self.induction_neighbors_ = min(self.n_neighbors, len(X))
        self.unit_norm_rows_ = unit_norm_rows

    def _held_out_rows(self, labels, seed):
        """Mask of the labeled rows that choose ``combination_`` (none when labels are few)."""
        from sklearn.model_selection import train_test_split

        labeled = np.flatnonzero(labels >= 0)
        n_classes = len(self.classes_)
        n_held_out = int(VALIDATION_FRACTION * len(labeled))
        counts = np.bincount(labels[labeled], minlength=n_classes)
        mask = np.zeros(len(labels), dtype=bool)
        if n_held_out < MIN_VALIDATION_PER_CLASS * n_classes or counts.min() < 2:
            return mask
        _, chosen = train_test_split(
            labeled, test_size=n_held_out, stratify=labels[labeled], random_state=seed
        )
        mask[chosen] = True
        return mask

    def _codes_of(self, module, X):
        """Codes of ``X`` (the network's input) by ``module``'s encoder, float64."""
        with torch.no_grad():
            sample = torch.as_tensor(np.asarray(X[:1], dtype=np.float32))
            parameter = next(module.parameters())
            n_code = module.encode(sample.to(parameter.device, parameter.dtype)).shape[1]
        return map_batches(
            X,
            lambda batch: module.encode(batch),
            n_code,
            device=parameter.device,
            n_jobs=self.n_jobs,
            dtype=np.float64,
            input_dtype=np.float32 if parameter.dtype == torch.float32 else np.float64,
        )

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), dtype float64
            Probabilities of ``classes_``, in that order.
        """
        check_is_fitted(self)
        X = self._network_input(X, reset=False)
        if isinstance(X, LazyRows):
            X = X[0 : len(X)]
        n_classes = len(self.classes_)
        outputs = self._map_batches(
            X, lambda batch: torch.cat(self.module_(batch), dim=1), n_classes + self._n_code
        )
        head_proba = _softmax(outputs[:, :n_classes])
        if self.combination_ == "head":
            return head_proba
        k = self.induction_neighbors_
        graph_proba = 0.5 * (
            induce(
                self.reference_rows_,
                self.label_distributions_,
                _graph_rows(X, self.unit_norm_rows_),
                k,
            )
            + induce(
                self.reference_codes_,
                self.label_distributions_,
                outputs[:, n_classes:],
                k,
            )
        )
        return _combinations(graph_proba, head_proba)[self.combination_]

    @property
    def _n_code(self):
        return self.module_.head[0].in_features

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The most probable class of each row.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on ``X`` and its labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows.
        y : array-like of shape (n_samples,)
            Their labels, every one among ``classes_`` (no unlabeled marker).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        score : float
            The mean accuracy.
        """
        check_is_fitted(self)
        labels = column_or_1d(y, warn=True)
        unseen = ~np.isin(labels, self.classes_)
        if unseen.any():
            found = list(dict.fromkeys(labels[unseen].tolist()))[:5]
            raise ValueError(
                f"y holds labels not seen at fit: {found} (first ones); the classifier knows "
                f"classes_={self.classes_.tolist()}. Score on rows of known classes only"
                + (
                    f", without the unlabeled marker {self.unlabeled_label!r}."
                    if self.unlabeled_label in found
                    else "."
                )
            )
        return super().score(X, y, sample_weight=sample_weight)
