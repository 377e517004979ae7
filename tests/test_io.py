"""skae.save / skae.load (no pickle), pickle and joblib, and ONNX export."""

import hashlib
import io
import json
import os
import pickle
import struct
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from _public_estimators import fit, make_fast, outputs, public_estimator_classes

import skae

ESTIMATORS = public_estimator_classes()

@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(40, 4)).astype(np.float32)


def _quiet_fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(estimator, X)


def _assert_same_outputs(a, b, X):
    found_a, found_b = outputs(a, X), outputs(b, X)
    assert found_a.keys() == found_b.keys() and found_a
    for method in found_a:
        np.testing.assert_array_equal(found_a[method], found_b[method], err_msg=method)


# ----------------------------------------------------------- save / load
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_save_load_round_trip(cls, X, tmp_path):
    estimator = _quiet_fit(make_fast(cls), X)
    path = tmp_path / "model.skae"
    skae.save(estimator, path)
    loaded = skae.load(path)
    assert type(loaded) is cls
    assert repr(loaded.get_params()) == repr(estimator.get_params())
    _assert_same_outputs(estimator, loaded, X)
    for name in ("n_features_in_", "n_iter_", "loss_curve_"):
        if hasattr(estimator, name):
            assert getattr(loaded, name) == getattr(estimator, name)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_unfitted_round_trip(cls, tmp_path):
    estimator = make_fast(cls)
    skae.save(estimator, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert repr(loaded) == repr(estimator)
    assert not hasattr(loaded, "n_features_in_")


def test_feature_names_output_config_and_random_state_survive(tmp_path):
    frame = pd.DataFrame(np.random.RandomState(1).normal(size=(30, 3)), columns=["x", "y", "z"])
    ae = make_fast(skae.AutoencoderTransformer, random_state=np.random.RandomState(3))
    ae.set_output(transform="pandas").fit(frame)
    skae.save(ae, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    np.testing.assert_array_equal(loaded.feature_names_in_, ["x", "y", "z"])
    codes = loaded.transform(frame)
    assert isinstance(codes, pd.DataFrame)
    pd.testing.assert_frame_equal(codes, ae.transform(frame))
    assert loaded.random_state.randint(10**6) == ae.random_state.randint(10**6)


def test_callbacks_are_not_saved_and_say_so(X, tmp_path):
    from skorch.callbacks import EpochTimer

    ae = make_fast(skae.AutoencoderTransformer, callbacks=[EpochTimer()]).fit(X)
    with pytest.warns(UserWarning, match="does not store callbacks"):
        skae.save(ae, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert loaded.callbacks is None
    _assert_same_outputs(ae, loaded, X)


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_resuming_from_a_saved_model_matches_an_uninterrupted_run(X, tmp_path, how):
    params = dict(dropout=0.2, early_stopping=False, warm_start=how == "warm_start")
    uninterrupted = make_fast(skae.AutoencoderTransformer, **params).fit(X)
    saved = make_fast(skae.AutoencoderTransformer, **params).fit(X)
    skae.save(saved, tmp_path / "m.skae")
    resumed = skae.load(tmp_path / "m.skae")
    for estimator in (uninterrupted, resumed):
        for _ in range(2):  # dropout and shuffling draw from the saved generator
            estimator.partial_fit(X) if how == "partial_fit" else estimator.fit(X)
    assert resumed.n_iter_ == uninterrupted.n_iter_ == (6 if how == "warm_start" else 4)
    assert resumed.loss_curve_ == uninterrupted.loss_curve_
    _assert_same_outputs(uninterrupted, resumed, X)
    # and the optimizer state (Adam's moments and step) came along
    state_a = uninterrupted.net_.optimizer_.state_dict()["state"]
    state_b = resumed.net_.optimizer_.state_dict()["state"]
    for key in state_a:
        for name in state_a[key]:
            torch.testing.assert_close(state_a[key][name], state_b[key][name], rtol=0, atol=0)


@pytest.mark.parametrize(
    "cls",
    [cls for cls in ESTIMATORS if issubclass(cls, skae.BaseAutoencoder)],
    ids=lambda cls: cls.__name__,
)
def test_every_autoencoder_resumes_exactly_after_save_and_load(cls, X, tmp_path):
    """Corruption noise, sampling and shuffling all come from the saved generator."""
    uninterrupted = _quiet_fit(make_fast(cls, early_stopping=False), X)
    saved = _quiet_fit(make_fast(cls, early_stopping=False), X)
    skae.save(saved, tmp_path / "m.skae")
    resumed = skae.load(tmp_path / "m.skae")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        uninterrupted.partial_fit(X)
        resumed.partial_fit(X)
    _assert_same_outputs(uninterrupted, resumed, X)


def test_model_saved_for_a_gpu_loads_on_cpu(X, tmp_path):
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    ae.set_params(device="cuda")  # as if it had been trained on a GPU
    skae.save(ae, tmp_path / "m.skae")
    if torch.cuda.is_available():
        pytest.skip("a GPU is available: nothing to fall back from")
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        loaded = skae.load(tmp_path / "m.skae")
    assert loaded.device == "cpu"
    assert next(loaded.module_.parameters()).device.type == "cpu"
    _assert_same_outputs(ae.set_params(device="auto"), loaded, X)
    assert skae.load(tmp_path / "m.skae", device="cpu").device == "cpu"  # explicit: no warning


def test_nested_gpu_estimator_loads_on_cpu(X, tmp_path):
    detector = make_fast(skae.AutoencoderOutlierDetector).fit(X)
    detector.estimator_.set_params(device="cuda")
    skae.save(detector, tmp_path / "m.skae")
    if torch.cuda.is_available():
        pytest.skip("a GPU is available: nothing to fall back from")
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        loaded = skae.load(tmp_path / "m.skae")
    assert loaded.estimator_.device == "cpu"
    np.testing.assert_array_equal(loaded.score_samples(X), detector.score_samples(X))


# ------------------------------------------------- untrusted files refused
class _Payload:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _refused(path, match="not a skae model file"):
    with pytest.raises(ValueError, match=match):
        skae.load(path)


def test_a_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.skae"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    _refused(path, match="never unpickles")
    assert not marker.exists()


def test_a_torch_save_file_is_refused(tmp_path, X):
    path = tmp_path / "model.pt"
    torch.save(make_fast(skae.AutoencoderTransformer).fit(X).module_, path)
    _refused(path)


def test_a_model_file_with_a_pickle_spliced_in_is_refused(tmp_path, X):
    marker = tmp_path / "pwned"
    path = tmp_path / "m.skae"
    skae.save(make_fast(skae.AutoencoderTransformer).fit(X), path)
    good = path.read_bytes()
    payload = pickle.dumps(_Payload(str(marker)))
    for tampered in (payload + good, good[:8] + payload + good[8:]):
        path.write_bytes(tampered)
        _refused(path)
    assert not marker.exists()


def _description_sha256(description):
    """The checksum skae.save writes of the description (canonical JSON)."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _rewrite_metadata(path, edit, *, fix_checksum=True):
    """Rewrite the JSON metadata of a safetensors file, as an attacker could.

    ``edit(content)`` changes the parsed metadata in place, or returns the new
    metadata as a string. The description's checksum is recomputed unless
    ``fix_checksum=False``: a forger can recompute it, so what ``load`` must
    refuse then is the content itself.
    """
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    content = json.loads(header["__metadata__"]["skae"])
    text = edit(content)
    if not isinstance(text, str):
        if fix_checksum and "sha256" in content and "estimator" in content:
            content["sha256"]["estimator"] = _description_sha256(content["estimator"])
        text = json.dumps(content)
    header["__metadata__"]["skae"] = text
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + data[8 + n :])


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["estimator"].update({"class": "os:system"}),
        lambda c: c["estimator"].update({"class": "builtins:eval"}),
        lambda c: c["estimator"]["params"].update({"optimizer": {"__type__": "subprocess:Popen"}}),
        lambda c: c["estimator"]["params"].update({"optimizer": {"__type__": "torch:load"}}),
    ],
    ids=["os.system", "eval", "Popen", "torch.load (not a class)"],
)
def test_a_file_naming_untrusted_code_is_refused(tmp_path, X, edit):
    path = tmp_path / "m.skae"
    skae.save(make_fast(skae.AutoencoderTransformer).fit(X), path)
    _rewrite_metadata(path, edit)
    _refused(path, match="only loads classes|not an allowed class")


def test_a_module_naming_untrusted_code_is_refused(tmp_path, X):
    path = tmp_path / "m.skae"
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    ae.extra_ = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU())
    skae.save(ae, path)
    loaded = skae.load(path)  # a module outside the engine: rebuilt from its parts
    torch.testing.assert_close(loaded.extra_[0].weight, ae.extra_[0].weight, rtol=0, atol=0)
    assert isinstance(loaded.extra_[1], torch.nn.ReLU)

    def swap_class(content):
        tree = content["estimator"]["attributes"]["extra_"]["__module__"]
        tree["modules"]["1"]["class"] = "subprocess:Popen"

    _rewrite_metadata(path, swap_class)
    _refused(path, match="only loads classes|not an allowed class")


def test_other_safetensors_files_are_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    _refused(path, match="not a skae model file")


def test_a_file_from_another_skae_version_warns(tmp_path, X):
    path = tmp_path / "m.skae"
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    skae.save(ae, path)
    _rewrite_metadata(path, lambda c: c["versions"].update({"skae": "0.0.1"}))
    with pytest.warns(UserWarning, match="saved with skae 0.0.1"):
        loaded = skae.load(path)
    _assert_same_outputs(ae, loaded, X)


def test_mixed_column_types_round_trip(tmp_path):
    frame = pd.DataFrame(
        {
            "x": np.linspace(0, 1, 40),
            "n": pd.Series(np.arange(40.0), dtype="Float32"),
            "c": pd.Categorical(["a", "b"] * 20),
            "s": ["u", "v", "w", "u"] * 10,
        }
    )
    model = _quiet_fit(make_fast(skae.TabularAE), frame)
    skae.save(model, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    _assert_same_outputs(model, loaded, frame)
    pd.testing.assert_frame_equal(
        loaded.inverse_transform(loaded.transform(frame)),
        model.inverse_transform(model.transform(frame)),
    )


def test_unsupported_attributes_fail_at_save_not_at_load(tmp_path, X):
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    ae.custom_ = object()
    with pytest.raises(TypeError, match="cannot store the fitted attribute 'custom_'"):
        skae.save(ae, tmp_path / "m.skae")


def test_whole_pipeline_round_trip(tmp_path):
    """A fitted scaler + autoencoder + classifier pipeline saves and loads as one file."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(60, 4)) * [1, 10, 100, 1000], columns=list("abcd"))
    y = (frame["a"] > 0).astype(int)
    model = make_pipeline(
        StandardScaler(), make_fast(skae.AutoencoderTransformer), LogisticRegression()
    ).set_output(transform="pandas")
    model.fit(frame, y)
    skae.save(model, tmp_path / "pipeline.skae")
    loaded = skae.load(tmp_path / "pipeline.skae")
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    pd.testing.assert_frame_equal(loaded[:-1].transform(frame), model[:-1].transform(frame))


def test_pipeline_step_that_needs_pickle_fails_at_save(tmp_path, X):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model = make_pipeline(FunctionTransformer(np.tanh), make_fast(skae.AutoencoderTransformer))
    model.fit(X)
    with pytest.raises(TypeError, match="cannot store the parameter 'func'"):
        skae.save(model, tmp_path / "pipeline.skae")


# ------------------------------------------- a file keeps what a pickle keeps
def _unpickled(estimator):
    return pickle.loads(pickle.dumps(estimator))


@pytest.mark.parametrize(
    "change",
    [
        {"n_components": 3},
        {"hidden_layer_sizes": (5,)},
        {"dropout": 0.3},
        {"activation": "tanh"},
        {"batch_norm": True, "init": "random", "output_activation": "sigmoid"},
    ],
    ids=lambda change: ",".join(change),
)
def test_set_params_after_fit_saves_what_a_pickle_keeps(change, X, tmp_path):
    """The network is rebuilt as it was fitted, the parameters are the current ones."""
    ae = make_fast(skae.AutoencoderTransformer, early_stopping=False).fit(X)
    codes = ae.transform(X)
    ae.set_params(**change)
    skae.save(ae, tmp_path / "m.skae")
    loaded, pickled = skae.load(tmp_path / "m.skae"), _unpickled(ae)
    assert repr(loaded.get_params()) == repr(ae.get_params()) == repr(pickled.get_params())
    np.testing.assert_array_equal(loaded.transform(X), codes)
    _assert_same_outputs(loaded, pickled, X)
    assert loaded._architecture_ == ae._architecture_
    for estimator in (loaded, pickled):  # both refuse to train the old network on new settings
        with pytest.raises(ValueError, match="since its network was built"):
            estimator.partial_fit(X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_every_estimator_saves_its_fitted_network_after_set_params(cls, X, tmp_path):
    estimator = _quiet_fit(make_fast(cls), X)
    expected = outputs(estimator, X)
    params = estimator.get_params(deep=False)
    change = {"n_components": 3, "hidden_layer_sizes": (5, 3), "activation": "tanh"}
    estimator.set_params(**{name: value for name, value in change.items() if name in params})
    skae.save(estimator, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert repr(loaded.get_params()) == repr(estimator.get_params())
    found = outputs(loaded, X)
    for method in expected:
        np.testing.assert_array_equal(found[method], expected[method], err_msg=method)
    _assert_same_outputs(loaded, _unpickled(estimator), X)


def test_optimizer_changed_after_fit_resumes_as_a_pickle_would(X, tmp_path):
    """The saved optimizer's class and state come back; the next fit applies the new one."""
    ae = make_fast(skae.AutoencoderTransformer, early_stopping=False).fit(X)
    ae.set_params(optimizer="sgd", learning_rate_init=0.01)
    skae.save(ae, tmp_path / "m.skae")
    loaded, pickled = skae.load(tmp_path / "m.skae"), _unpickled(ae)
    assert type(loaded.net_.optimizer_) is torch.optim.Adam
    state_a = loaded.net_.optimizer_.state_dict()
    state_b = ae.net_.optimizer_.state_dict()
    assert state_a["param_groups"] == state_b["param_groups"]
    for key in state_b["state"]:
        for name in state_b["state"][key]:
            torch.testing.assert_close(
                state_a["state"][key][name], state_b["state"][key][name], rtol=0, atol=0
            )
    loaded.partial_fit(X)
    pickled.partial_fit(X)
    assert type(loaded.net_.optimizer_) is type(pickled.net_.optimizer_) is torch.optim.SGD
    _assert_same_outputs(loaded, pickled, X)


# Non-default values, valid for every estimator that has the parameter.
NON_DEFAULT = {
    "activation": "tanh",
    "alpha": 0.5,
    "autoencoder": skae.AutoencoderTransformer(n_components=3, max_iter=2),
    "batch_norm": True,
    "batch_size": 7,
    "blend": False,
    "beta": 0.5,
    "categorical_features": [0],
    "code_activation": "tanh",
    "contamination": 0.1,
    "contractive_weight": 0.5,
    "device": "cpu",
    "dropout": 0.25,
    "distributed": True,
    "early_stopping": False,
    "estimator": skae.AutoencoderTransformer(n_components=3, max_iter=2),
    "fine_tuning_learning_rate": 0.003,
    "freeze_epochs": 3,
    "head_activation": "tanh",
    "head_hidden_layer_sizes": (5,),
    "hidden_layer_sizes": (6, 3),
    "init": "random",
    "keep_empty_features": False,
    "kl_warmup": 4,
    "learning_rate_init": 0.02,
    "loss": "bce",
    "max_iter": 2,
    "missing": "learn",
    "missing_values": -1.0,
    "n_components": 3,
    "n_iter_no_change": 4,
    "n_jobs": 1,
    "n_neighbors": 4,
    "n_refinements": 2,
    "noise": "swap",
    "noise_level": 0.3,
    "noise_variance": "learned_per_feature",
    "optimizer": "sgd",
    "output_activation": "sigmoid",
    "pretraining": "layerwise",
    "pretraining_max_iter": 3,
    "random_state": 7,
    "refit_autoencoder": False,
    "sparsity": "l1",
    "sparsity_target": 0.1,
    "sparsity_weight": 0.2,
    "spreading_alpha": 0.5,
    "tol": 0.001,
    "unlabeled_label": -2,
    "validation_fraction": 0.2,
    "verbose": 1,
    "warm_start": True,
}
NOT_SAVED = {"callbacks"}  # documented: load gives callbacks=None


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_non_default_parameters_are_restored(cls, tmp_path):
    defaults = cls().get_params(deep=False)
    missing = set(defaults) - set(NON_DEFAULT) - NOT_SAVED
    assert not missing, f"add a non-default value for {sorted(missing)} to NON_DEFAULT"
    estimator = cls(**{name: NON_DEFAULT[name] for name in defaults if name not in NOT_SAVED})
    for name in set(defaults) - NOT_SAVED:  # every parameter differs from its default
        assert repr(getattr(estimator, name)) != repr(defaults[name]), name
    skae.save(estimator, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert type(loaded) is cls
    assert repr(loaded.get_params(deep=True)) == repr(estimator.get_params(deep=True))


def test_non_default_architecture_survives_a_fitted_round_trip(tmp_path):
    X01 = np.random.RandomState(0).uniform(size=(40, 4)).astype(np.float32)
    names = ("activation", "batch_norm", "dropout", "hidden_layer_sizes", "init", "loss",
             "n_components", "optimizer", "output_activation", "pretraining",
             "pretraining_max_iter", "alpha", "batch_size", "early_stopping",
             "learning_rate_init", "max_iter", "random_state", "tol", "n_iter_no_change",
             "validation_fraction")  # fmt: skip
    ae = skae.AutoencoderTransformer(**{name: NON_DEFAULT[name] for name in names}).fit(X01)
    skae.save(ae, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert repr(loaded.get_params()) == repr(ae.get_params())
    _assert_same_outputs(ae, loaded, X01)


# ---------------------------------------------------- classes of your own
class MyAE(skae.AutoencoderTransformer):
    """A user's subclass, defined at module level (a file can name it)."""


def test_a_subclass_loads_once_trusted(X, tmp_path):
    path = tmp_path / "m.skae"
    mine = make_fast(MyAE).fit(X)
    skae.save(mine, path)
    with pytest.raises(ValueError, match=r"trusted=\[MyAE\]") as error:
        skae.load(path)
    assert str(path) in str(error.value) and f"{MyAE.__module__}:MyAE" in str(error.value)
    for trusted in ([MyAE], [f"{MyAE.__module__}:MyAE"], MyAE):
        loaded = skae.load(path, trusted=trusted)
        assert type(loaded) is MyAE
        _assert_same_outputs(mine, loaded, X)
    # trusting one class trusts no other
    with pytest.raises(ValueError, match="only loads classes"):
        skae.load(path, trusted=[skae.DenoisingAE, "mymodule:MyAE"])
    with pytest.raises(TypeError, match="trusted must be a list of classes"):
        skae.load(path, trusted=[42])


def test_a_class_defined_in_a_function_is_refused_at_save(X, tmp_path):
    class LocalAE(skae.AutoencoderTransformer):
        pass

    with pytest.raises(TypeError, match="defined inside a function"):
        skae.save(make_fast(LocalAE).fit(X), tmp_path / "m.skae")
    assert not (tmp_path / "m.skae").exists()


# -------------------------------------------- damaged and malformed files
def _data_offset(path):
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    return 8 + n


def test_flipped_weight_bytes_fail_the_checksum(X, tmp_path):
    path = tmp_path / "m.skae"
    skae.save(make_fast(skae.AutoencoderTransformer, early_stopping=False).fit(X), path)
    data = bytearray(path.read_bytes())
    start = _data_offset(path)
    data[start : start + 4] = bytes(b ^ 0xFF for b in data[start : start + 4])
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"does not match its checksum \(arrays"):
        skae.load(path)


def test_an_edited_description_fails_the_checksum(X, tmp_path):
    path = tmp_path / "m.skae"
    skae.save(make_fast(skae.AutoencoderTransformer).fit(X), path)
    _rewrite_metadata(
        path, lambda c: c["estimator"]["attributes"].update(n_features_in_=5), fix_checksum=False
    )
    with pytest.raises(ValueError, match=r"does not match its checksum \(description"):
        skae.load(path)


def test_a_version_1_file_still_loads(X, tmp_path):
    """Format 1 had no checksums and no optimizer class: it loads as before."""
    path = tmp_path / "m.skae"
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    skae.save(ae, path)

    def as_version_1(content):
        content["format_version"] = 1
        del content["sha256"]
        del content["estimator"]["net"]["optimizer_class"]

    _rewrite_metadata(path, as_version_1, fix_checksum=False)
    _assert_same_outputs(ae, skae.load(path), X)


# Names a supervised model's file held before skae.supervised was split (new -> old).
OLD_SUPERVISED_NAMES = {
    "skae._head:EncoderHead": "skae.supervised:_EncoderHead",
    "skae.classifier:AutoencoderClassifier": "skae.supervised:AutoencoderClassifier",
    "skae.regressor:AutoencoderRegressor": "skae.supervised:AutoencoderRegressor",
    "reference_rows_": "_reference_rows",
    "reference_codes_": "_reference_codes",
    "induction_neighbors_": "_induction_neighbors",
    "unit_norm_rows_": "_unit_norm_rows",
    "y_mean_": "_y_mean",
    "y_scale_": "_y_scale",
}


@pytest.mark.parametrize("cls", [skae.AutoencoderClassifier, skae.AutoencoderRegressor])
def test_a_supervised_file_saved_before_the_split_loads_under_the_new_names(cls, X, tmp_path):
    y = np.where(np.arange(len(X)) % 3 == 0, np.arange(len(X)) % 2, -1)
    y = y if cls is skae.AutoencoderClassifier else np.where(y >= 0, X[:, 0], np.nan)
    model = make_fast(cls).fit(X, y)
    path = tmp_path / "m.skae"
    skae.save(model, path)

    def with_old_names(content):
        text = json.dumps(content["estimator"])
        for new, old in OLD_SUPERVISED_NAMES.items():
            text = text.replace(f'"{new}"', f'"{old}"')
        content["estimator"] = json.loads(text)
        content["estimator"]["attributes"]["_labeled_share"] = 0.5  # no longer kept
        assert "_EncoderHead" in text and ("_reference_rows" in text or "_y_mean" in text)

    _rewrite_metadata(path, with_old_names)
    loaded = skae.load(path)
    assert sorted(vars(loaded)) == sorted(vars(model))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def _deeply_nested(content):
    text = json.dumps(content)
    return text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _nested_lists(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _set_param(name, value):
    return lambda c: c["estimator"]["params"].update({name: value})


def _set_attribute(name, value):
    return lambda c: c["estimator"]["attributes"].update({name: value})


MALFORMED = {
    "deeply nested JSON": (_deeply_nested, "nested more than 200 levels deep"),
    "JSON nested 201 levels": (_set_attribute("x_", _nested_lists(201)), "nested more than 200"),
    "format_version as a string": (lambda c: c.update(format_version="2"), "format_version"),
    "format_version as a bool": (lambda c: c.update(format_version=True), "format_version"),
    "a newer format_version": (lambda c: c.update(format_version=99), "Upgrade skae"),
    "versions not a mapping": (lambda c: c.update(versions=[1]), "'versions'"),
    "no estimator": (lambda c: c.pop("estimator"), "describes no estimator"),
    "checksums missing": (lambda c: c.pop("sha256"), "checksums are missing"),
    "n_components=-5": (_set_param("n_components", -5), "'n_components' parameter"),
    "hidden_layer_sizes a string": (_set_param("hidden_layer_sizes", "abc"), "hidden_layer"),
    "an unknown parameter": (_set_param("colour", 1), "colour"),
    "params not a mapping": (lambda c: c["estimator"].update(params=[1]), "not a JSON object"),
    "class not a string": (lambda c: c["estimator"].update({"class": 3}), "not by a"),
    "fitted n_components=-5": (
        lambda c: c["estimator"]["attributes"]["_architecture_"].update(n_components=-5),
        "fitted with in the model file are invalid",
    ),
    "fitted architecture names a non-parameter": (
        lambda c: c["estimator"]["attributes"]["_architecture_"].update(colour=1),
        "does not have",
    ),
    "an array of an odd dtype": (
        _set_attribute("mean_", {"__ndarray__": [1], "dtype": "V8", "shape": [1]}),
        "dtype 'V8'",
    ),
    "a tensor that is not in the file": (
        _set_attribute("extra_", {"__tensor__": "t999"}),
        "KeyError",
    ),
    "a negative input width": (
        lambda c: c["estimator"]["net"].update(input_width=-3),
        "input width",
    ),
    "an optimizer that is not one": (
        lambda c: c["estimator"]["net"].update(optimizer_class={"__type__": "torch.nn:Linear"}),
        "not a torch optimizer",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_every_malformed_file_gives_the_documented_value_error(case, X, tmp_path):
    path = tmp_path / "m.skae"
    skae.save(make_fast(skae.AutoencoderTransformer).fit(X), path)
    edit, match = MALFORMED[case]
    _rewrite_metadata(path, edit)
    with pytest.raises(ValueError, match=match) as error:
        skae.load(path)
    assert str(path) in str(error.value)  # the message names the file


SHADOWING = {
    "transform": "would hide the class's method",
    "fit": "would hide the class's method",
    "get_feature_names_out": "would hide the class's method",
    "module_": "would hide the class's method or property",  # a property
    "history_": "would hide the class's method or property",
    "_selection_rule": "would hide the class's method or property",
    "net_": "does not load from a file",  # rebuilt from the network's entry
    "n_components": "does not load from a file",  # a parameter: validated as one
    "components": "not a fitted attribute's name",
    "__class__": "not an allowed name",
    "not an identifier_": "not an allowed name",
    "_cv_rule": "where the class has a str",  # class-level data keeps its type
    "_parameter_constraints": "where the class has a dict",  # and containers stay the class's
}


@pytest.mark.parametrize("name", SHADOWING)
def test_loaded_attributes_cannot_shadow_methods(name, X, tmp_path):
    path = tmp_path / "m.skae"
    skae.save(make_fast(skae.AutoencoderTransformer).fit(X), path)
    _rewrite_metadata(path, _set_attribute(name, 1))
    with pytest.raises(ValueError, match=f"sets the attribute '{name}'") as error:
        skae.load(path)
    assert SHADOWING[name] in str(error.value)
    assert str(path) in str(error.value)


def test_module_attributes_cannot_shadow_methods(X, tmp_path):
    path = tmp_path / "m.skae"
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    ae.extra_ = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU())
    skae.save(ae, path)
    for name in ("forward", "_parameters", "state_dict"):

        def shadow(content, name=name):
            tree = content["estimator"]["attributes"]["extra_"]["__module__"]
            tree["modules"]["0"]["attributes"][name] = 1

        skae.save(ae, path)
        _rewrite_metadata(path, shadow)
        with pytest.raises(ValueError, match=f"sets the attribute '{name}'"):
            skae.load(path)


# ------------------------------------------------------- pickle and joblib
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_pickle_and_joblib_round_trip(cls, X):
    estimator = _quiet_fit(make_fast(cls), X)
    _assert_same_outputs(estimator, pickle.loads(pickle.dumps(estimator)), X)
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    _assert_same_outputs(estimator, joblib.load(buffer), X)


# ------------------------------------------------------------------- ONNX
AUTOENCODERS = [cls for cls in ESTIMATORS if issubclass(cls, skae.BaseAutoencoder)]

# Each autoencoder with its fast settings, plus networks with other modules in them.
ONNX_CASES = {cls.__name__: (cls, {}) for cls in AUTOENCODERS}
ONNX_CASES.update(
    {
        "batch_norm": (skae.AutoencoderTransformer, {"batch_norm": True}),
        "dropout": (skae.AutoencoderTransformer, {"dropout": 0.3}),
        "tanh": (skae.AutoencoderTransformer, {"activation": "tanh", "hidden_layer_sizes": (6, 4)}),
        "bce": (skae.AutoencoderTransformer, {"loss": "bce"}),
        "random_init": (skae.AutoencoderTransformer, {"init": "random"}),
        "pretraining": (
            skae.AutoencoderTransformer,
            {"pretraining": "layerwise", "pretraining_max_iter": 1, "hidden_layer_sizes": (6, 4)},
        ),
        "vae_batch_norm": (skae.VariationalAE, {"batch_norm": True, "dropout": 0.3}),
        "sparse_kl": (skae.SparseAE, {"sparsity": "kl"}),
        "contractive_sigmoid": (skae.ContractiveAE, {"code_activation": "sigmoid"}),
    }
)


@pytest.mark.parametrize("part", ["encoder", "decoder", "autoencoder"])
@pytest.mark.parametrize("case", ONNX_CASES)
def test_onnx_export_matches_transform(case, part, X, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (skae[onnx])")
    pytest.importorskip("onnx", reason="onnx not installed (skae[onnx])")
    cls, params = ONNX_CASES[case]
    X = (X - X.min()) / np.ptp(X) if params.get("loss") == "bce" else X
    estimator = _quiet_fit(make_fast(cls, **params), X)
    path = tmp_path / f"{part}.onnx"
    if cls is skae.TabularAE:  # it encodes the table outside its network: refused, clearly
        with pytest.raises(TypeError, match="would not reproduce"):
            skae.export_onnx(estimator, path, part=part)
        assert not path.exists()
        return
    skae.export_onnx(estimator, path, part=part)
    codes = estimator.transform(X)
    inputs, expected = {
        "encoder": (X, codes),
        "decoder": (codes, estimator.inverse_transform(codes)),
        "autoencoder": (X, estimator.inverse_transform(codes)),
    }[part]
    session = ort.InferenceSession(str(path))
    (given,) = session.get_inputs()
    assert given.name == ("code" if part == "decoder" else "X")
    for rows in (slice(None), slice(0, 1)):  # any number of rows
        got = session.run(None, {given.name: np.ascontiguousarray(inputs[rows])})[0]
        np.testing.assert_allclose(got, expected[rows], rtol=0, atol=1e-5)


def test_onnx_export_checks_its_arguments(X, tmp_path):
    pytest.importorskip("onnx", reason="onnx not installed (skae[onnx])")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        skae.export_onnx(skae.AutoencoderTransformer(), tmp_path / "m.onnx")
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    with pytest.raises(ValueError, match="part must be one of"):
        skae.export_onnx(ae, tmp_path / "m.onnx", part="middle")
    assert not os.path.exists(tmp_path / "m.onnx")
