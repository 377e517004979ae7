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
    metadata text. The description's checksum is recomputed unless
    ``fix_checksum=False``: a forger can recompute it, so what ``load`` must
    refuse then is the content itself.
    """
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    content = json.loads(header["__metadata__"]["skae"])
    text = edit(content)
    if text is None:
        if fix_checksum:
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
