"""Save and load skae estimators without pickle, and export them to ONNX.

A saved model is one `safetensors <https://huggingface.co/docs/safetensors>`_
file: every tensor (the network's weights, the optimizer's state, the state of
the training random generator and any tensor attribute) is stored as a plain
array, and everything else (the class name, the hyperparameters, the fitted
attributes such as ``n_features_in_`` or ``feature_names_in_``, the training
history and the skae / torch / scikit-learn versions) as JSON in the file's
metadata. Loading parses JSON and arrays only: nothing is unpickled, and only
classes from skae, scikit-learn, torch, skorch and NumPy can be named.

An autoencoder's network is rebuilt by its own ``_build_network`` (from the
parameters alone, no data) and the saved weights loaded into it; any other torch module
attribute (e.g. a supervised model's encoder and head) is rebuilt from its
class, plain attributes, parameters, buffers and children, without calling its
constructor.
"""

import importlib
import importlib.util
import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
import sklearn
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._version import __version__

__all__ = ["export_onnx", "load", "save"]

FORMAT = "skae"
FORMAT_VERSION = 1

# Packages whose classes a model file may name (estimators, optimizers).
TRUSTED_PACKAGES = ("skae", "sklearn", "torch", "skorch", "numpy")


def _versions():
    return {
        "skae": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


def _class_path(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path, base=None):
    """The class named ``"module:qualname"``, from a trusted package only."""
    module_name, _, qualname = str(path).partition(":")
    if module_name.split(".")[0] not in TRUSTED_PACKAGES or not qualname:
        raise ValueError(
            f"The model file names the class {path!r}; skae only loads classes from "
            f"{', '.join(TRUSTED_PACKAGES)}. The file may have been tampered with."
        )
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        raise ValueError(f"The model file names {path!r}, which is not an allowed class.")
    return obj


# ------------------------------------------------------------------ encoding
class _Encoder:
    """Turn a value into JSON, moving tensors aside into ``self.tensors``."""

    def __init__(self):
        self.tensors = {}
        self.module = None  # the network, to name its submodules

    def tensor(self, value):
        key = f"t{len(self.tensors)}"
        self.tensors[key] = value.detach().cpu().contiguous().clone()
        return {"__tensor__": key}

    def __call__(self, value, where):
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biufU":
            return {"__numpy__": value.dtype.str, "value": value.item()}
        if isinstance(value, np.ndarray):
            return self.ndarray(value, where)
        if isinstance(value, torch.Tensor):
            return self.tensor(value)
        if isinstance(value, History):
            return {"__history__": [self(row, where) for row in value]}
        if isinstance(value, tuple):
            return {"__tuple__": [self(v, where) for v in value]}
        if isinstance(value, list):
            return [self(v, where) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"__dict__": [[self(k, where), self(v, where)] for k, v in value.items()]}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, np.dtype) and value.kind in "biufcUO":
            return {"__dtype__": value.str}
        if isinstance(value, pd.CategoricalDtype):
            categories = self(np.asarray(value.categories), where)
            return {"__categorical_dtype__": categories, "ordered": value.ordered}
        if isinstance(value, pd.api.extensions.ExtensionDtype):
            return {"__pandas_dtype__": str(value)}
        if isinstance(value, np.random.RandomState):
            return {"__random_state__": self(value.get_state(), where)}
        if isinstance(value, BaseEstimator):
            return {"__estimator__": _dump(value, self)}
        if isinstance(value, torch.nn.Module):
            for name, submodule in self.module.named_modules() if self.module else ():
                if submodule is value:
                    return {"__submodule__": name}
            return {"__module__": self.module_tree(value, where)}
        if isinstance(value, type) and value.__module__.split(".")[0] in TRUSTED_PACKAGES:
            return {"__type__": _class_path(value)}
        if isinstance(value, (int, float, str)):  # subclasses, e.g. IntEnum
            return self(type(value).__mro__[1](value), where)
        raise TypeError(
            f"skae.save cannot store {where} of type {type(value).__name__}: only "
            "numbers, strings, arrays, tensors and containers of them can be saved "
            "without pickle. Use pickle or joblib for such an estimator (from "
            "trusted sources only)."
        )

    def module_tree(self, module, where):
        """A torch module as its class, plain attributes, tensors and children."""
        if type(module).__module__.split(".")[0] not in TRUSTED_PACKAGES:
            raise TypeError(
                f"skae.save cannot store {where}: a {type(module).__name__} module from "
                "outside skae and torch."
            )
        return {
            "class": _class_path(type(module)),
            "training": module.training,
            "attributes": {
                k: self(v, f"{where}.{k}")
                for k, v in vars(module).items()
                if k not in _MODULE_INTERNALS
            },
            "parameters": {
                k: None if p is None else [self.tensor(p), p.requires_grad]
                for k, p in module._parameters.items()
            },
            "buffers": {k: None if b is None else self.tensor(b) for k, b in module._buffers.items()},
            "modules": {
                k: None if m is None else self.module_tree(m, f"{where}.{k}")
                for k, m in module._modules.items()
            },
        }

    def ndarray(self, value, where):
        if value.dtype.kind == "O":
            if not all(isinstance(v, str) for v in value.flat):
                raise TypeError(f"skae.save cannot store {where}: an object array of non-strings.")
            dtype = "object"
        elif value.dtype.kind in "biufU":
            dtype = value.dtype.str
        else:
            raise TypeError(f"skae.save cannot store {where}: an array of dtype {value.dtype}.")
        return {"__ndarray__": value.tolist(), "dtype": dtype, "shape": list(value.shape)}


class _Decoder:
    """Undo ``_Encoder``: JSON back to values, tensors taken from ``tensors``."""

    def __init__(self, tensors, device=None):
        self.tensors = tensors
        self.module = None
        self.device = device  # overrides every estimator's saved device when set

    def __call__(self, value):
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        tags = [k for k in value if k.startswith("__")]
        if not tags:
            return {k: self(v) for k, v in value.items()}
        tag = tags[0]
        content = value[tag]
        if tag == "__tensor__":
            return self.tensors[content]
        if tag == "__numpy__":
            return np.dtype(value["__numpy__"]).type(value["value"])
        if tag == "__ndarray__":
            dtype = object if value["dtype"] == "object" else np.dtype(value["dtype"])
            return np.asarray(content, dtype=dtype).reshape(value["shape"])
        if tag == "__history__":
            return History([self(row) for row in content])
        if tag == "__tuple__":
            return tuple(self(v) for v in content)
        if tag == "__dict__":
            return {self(k): self(v) for k, v in content}
        if tag == "__device__":
            return torch.device(content)
        if tag == "__dtype__":
            return np.dtype(content)
        if tag == "__categorical_dtype__":
            return pd.CategoricalDtype(self(content), ordered=value["ordered"])
        if tag == "__pandas_dtype__":
            return pd.api.types.pandas_dtype(content)
        if tag == "__random_state__":
            random_state = np.random.RandomState()
            random_state.set_state(self(content))
            return random_state
        if tag == "__estimator__":
            return _restore(content, self)
        if tag == "__submodule__":
            return self.module.get_submodule(content)
        if tag == "__module__":
            return self.module_tree(content)
        if tag == "__type__":
            return _import_class(content)
        raise ValueError(f"Unknown entry {tag!r} in the model file.")


    def module_tree(self, saved):
        """Rebuild a module saved by ``_Encoder.module_tree`` without calling its ``__init__``."""
        cls = _import_class(saved["class"], base=torch.nn.Module)
        module = cls.__new__(cls)
        torch.nn.Module.__init__(module)
        for name, value in saved["attributes"].items():
            module.__dict__[name] = self(value)
        module.training = bool(saved["training"])
        for name, value in saved["parameters"].items():
            module._parameters[name] = None
            if value is not None:
                tensor, requires_grad = value
                module._parameters[name] = torch.nn.Parameter(
                    self(tensor).clone(), requires_grad=bool(requires_grad)
                )
        for name, value in saved["buffers"].items():
            module._buffers[name] = None if value is None else self(value).clone()
        for name, value in saved["modules"].items():
            module._modules[name] = None if value is None else self.module_tree(value)
        return module


# What torch.nn.Module.__init__ sets up: not saved, recreated on load.
_MODULE_INTERNALS = set(vars(torch.nn.Module()))


def _dump(estimator, encode):
    """JSON description of ``estimator``; its tensors go to ``encode.tensors``."""
    params = estimator.get_params(deep=False)
    saved = {"class": _class_path(type(estimator)), "params": {}, "attributes": {}}
    for name, value in params.items():
        if name == "callbacks" and value:
            warnings.warn(
                "skae.save does not store callbacks; the loaded estimator has "
                "callbacks=None. Set them again with set_params(callbacks=...).",
                UserWarning,
                stacklevel=3,
            )
            value = None
        saved["params"][name] = encode(value, f"the parameter {name!r}")
    state = {k: v for k, v in vars(estimator).items() if k not in params}
    net = state.pop("net_", None)
    if net is not None:
        state.pop("module_", None)
        state.pop("history_", None)
        saved["net"] = {
            "module": encode(net.module_.state_dict(), "the network's weights"),
            "optimizer": encode(net.optimizer_.state_dict(), "the optimizer's state"),
            "generator": encode(net.generator.get_state(), "the random generator"),
            "history": encode(net.history, "the training history"),
            "input_width": _input_width(net.module_, estimator),
        }
        encode.module = net.module_
    for name, value in state.items():
        saved["attributes"][name] = encode(value, f"the fitted attribute {name!r}")
    return saved


def _input_width(module, estimator):
    """Columns of the array the network was built from (its first linear layer's input)."""
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            return layer.in_features
    return estimator.n_features_in_


def _restore(saved, decode):
    """Rebuild the estimator described by ``_dump``'s output."""
    cls = _import_class(saved["class"], base=BaseEstimator)
    params = {name: decode(value) for name, value in saved["params"].items()}
    if "device" in params:
        device = decode.device or _available_device(params["device"])
        params["device"] = params["device"] if device is None else device
    estimator = cls(**params)
    attributes = saved["attributes"]
    deferred = {}
    for name, value in attributes.items():
        if isinstance(value, dict) and "__submodule__" in value:
            deferred[name] = value
        else:
            estimator.__dict__[name] = decode(value)
    if "net" in saved:
        if not all(callable(getattr(estimator, name, None)) for name in _ENGINE_HOOKS):
            raise ValueError(f"{cls.__name__} is not a skae autoencoder; cannot load its network.")
        _rebuild_engine(estimator, saved["net"], decode)
        decode.module = estimator.net_.module_
        for name, value in deferred.items():
            estimator.__dict__[name] = decode(value)
        for name, value in attributes.items():  # saved values win over recomputed ones
            if name not in deferred:
                estimator.__dict__[name] = decode(value)
    return estimator


# What rebuilding a saved network asks of the estimator (a skae autoencoder).
_ENGINE_HOOKS = ("_build_network", "_make_engine", "_set_fitted_attributes")


def _rebuild_engine(estimator, saved, decode):
    """Build the network and training engine, then load the saved state into them."""
    n_features = saved.get("input_width", estimator.n_features_in_)
    n_rows = min(n_features, getattr(estimator, "n_components", 1)) + 2
    with torch.random.fork_rng(devices=[]):
        # The architecture alone (no data, no PCA): the saved weights overwrite it.
        module = estimator._build_network(n_features)
        # Any budget will do: a later fit (warm_start, partial_fit) applies its own.
        budget = estimator._training_budget(n_rows, reset=False, early_stopping=False)
        net = estimator._make_engine(module, torch.Generator().manual_seed(0), budget, None)
        net.initialize()
    net.module_.load_state_dict(decode(saved["module"]))
    net.optimizer_.load_state_dict(decode(saved["optimizer"]))
    net.generator.set_state(decode(saved["generator"]))
    net.history = decode(saved["history"])
    # The learning-rate warm-up continues where it was: the steps are in the history.
    net.steps_taken_ = sum(row.get("train_batches", 0) for row in net.history)
    estimator.net_ = net
    estimator._set_fitted_attributes()


# -------------------------------------------------------------- public API
def save(estimator, path):
    """Save a skae estimator to one file, without pickle.

    The file is a `safetensors` file: the network's weights, the optimizer's
    state and the training random generator's state are stored as arrays;
    the class, hyperparameters, fitted attributes, training history and the
    skae, torch and scikit-learn versions as JSON metadata. Loading it with
    :func:`skae.load` runs no code from the file, so a model file from an
    untrusted source is safe to load (unlike a pickle). A fitted estimator
    loaded back gives the same outputs, and ``partial_fit`` or
    ``warm_start`` continue training exactly as they would have on the
    original.

    Parameters
    ----------
    estimator : skae estimator
        A fitted or unfitted estimator. ``callbacks`` are not saved (a warning
        says so).
    path : str or os.PathLike
        Where to write the file (conventionally ending in ``.skae``).

    Raises
    ------
    TypeError
        If a hyperparameter or fitted attribute cannot be stored without
        pickle (e.g. an arbitrary Python object).

    See Also
    --------
    load : Read the file back.
    export_onnx : Export the network for inference outside Python.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skae
    >>> X = np.random.RandomState(0).normal(size=(50, 4))
    >>> ae = skae.AutoencoderTransformer(
    ...     n_components=2, hidden_layer_sizes=(8,), max_iter=3, random_state=0
    ... ).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skae")
    >>> skae.save(ae, path)
    >>> loaded = skae.load(path)
    >>> bool(np.array_equal(loaded.transform(X), ae.transform(X)))
    True
    """
    encode = _Encoder()
    saved = _dump(estimator, encode)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "versions": _versions()}
    metadata = {"skae": json.dumps({**header, "estimator": saved})}
    save_file(encode.tensors, os.fspath(path), metadata=metadata)


def load(path, *, device=None):
    """Load an estimator saved by :func:`skae.save`, without unpickling.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`skae.save`.
    device : str or torch.device, default=None
        Device to put the network on, overriding the saved ``device``
        parameter. By default the saved one is kept, except that a model
        saved on a GPU loads on the CPU (with a warning) when no GPU is
        available.

    Returns
    -------
    estimator : skae estimator
        The estimator, fitted if it was fitted when saved.

    Raises
    ------
    ValueError
        If the file is not a skae model file (for instance a pickle, or a
        file tampered with to carry one), or names a class outside skae,
        scikit-learn, torch, skorch and NumPy. Nothing in the file is
        executed.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import skae
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skae")
    >>> skae.save(skae.AutoencoderTransformer(n_components=3), path)
    >>> skae.load(path)
    AutoencoderTransformer(n_components=3)
    """
    path = os.fspath(path)
    try:
        with safe_open(path, framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {key: file.get_tensor(key) for key in file.keys()}
    except SafetensorError as error:
        raise ValueError(
            f"{path!r} is not a skae model file ({error}). skae.load reads only files "
            "written by skae.save and never unpickles; a pickle or joblib file must be "
            "opened with pickle/joblib, and only if it comes from a trusted source."
        ) from None
    try:
        content = json.loads(metadata["skae"])
        if content.get("format") != FORMAT:
            raise KeyError("format")
    except (KeyError, ValueError, AttributeError):
        raise ValueError(
            f"{path!r} is a safetensors file but not a skae model file (no skae metadata)."
        ) from None
    if content.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path!r} was written in skae's file format version "
            f"{content['format_version']}, newer than this skae reads "
            f"({FORMAT_VERSION}). Upgrade skae."
        )
    saved_skae = content.get("versions", {}).get("skae")
    if saved_skae != _versions()["skae"]:
        warnings.warn(
            f"{path!r} was saved with skae {saved_skae}; this is skae "
            f"{_versions()['skae']}. Check the model's outputs.",
            UserWarning,
            stacklevel=2,
        )
    estimator_data = content["estimator"]
    decode = _Decoder(tensors, device)
    try:
        return _restore(estimator_data, decode)
    except (KeyError, TypeError, AttributeError, RuntimeError) as error:
        raise ValueError(
            f"{path!r} could not be loaded: {type(error).__name__}: {error}. The file "
            "is damaged, was tampered with, or comes from an incompatible skae version."
        ) from error


def _available_device(saved):
    """``None`` (keep the saved device) or ``"cpu"`` when the saved one is missing here."""
    saved = str(saved) if isinstance(saved, torch.device) else saved
    if not isinstance(saved, str) or not saved.startswith("cuda"):
        return None
    if torch.cuda.is_available():
        return None
    warnings.warn(
        f"The model was saved with device={saved!r}, which is not available; "
        "it is loaded on the CPU.",
        UserWarning,
        stacklevel=3,
    )
    return "cpu"


class _Part(torch.nn.Module):
    """The encoder, decoder or whole autoencoder of a skae network, as one module."""

    def __init__(self, module, part):
        super().__init__()
        self.module = module
        self.part = part

    def forward(self, x):
        if self.part == "encoder":
            return self.module.encode(x)  # (B, n_components)
        if self.part == "decoder":
            return self.module.decode(x)  # (B, n_features)
        return self.module.decode(self.module.encode(x))  # (B, n_features)


PARTS = {
    # part: (input name, output name, input width attribute)
    "encoder": ("X", "code", "n_features_in_"),
    "decoder": ("code", "reconstruction", "_n_features_out"),
    "autoencoder": ("X", "reconstruction", "n_features_in_"),
}


def export_onnx(estimator, path, *, part="encoder", opset_version=None):
    """Export a fitted skae autoencoder's network to an ONNX file.

    The exported graph takes a float32 array of any number of rows and
    computes what the estimator computes: ``part="encoder"`` gives
    ``transform``, ``"decoder"`` gives ``inverse_transform``, and
    ``"autoencoder"`` gives ``inverse_transform(transform(X))``. Input
    validation and pandas output are not part of the graph. Needs the
    ``onnx`` package (``pip install skae[onnx]``, which also installs
    onnxruntime to run the file).

    Parameters
    ----------
    estimator : fitted skae autoencoder
        The estimator to export.
    path : str or os.PathLike
        Where to write the ``.onnx`` file.
    part : {"encoder", "decoder", "autoencoder"}, default="encoder"
        Which function to export. The graph's input is named ``"X"`` (or
        ``"code"`` for the decoder) and its output ``"code"`` (or
        ``"reconstruction"``).
    opset_version : int, default=None
        ONNX opset; torch's default when ``None``.

    Raises
    ------
    TypeError
        If the estimator transforms the data outside its network (e.g.
        ``TabularAE``'s encoding of categorical columns), so that the graph
        would not reproduce ``transform``.
    ImportError
        If the ``onnx`` package is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skae
    >>> X = np.random.RandomState(0).normal(size=(50, 4)).astype(np.float32)
    >>> ae = skae.AutoencoderTransformer(
    ...     n_components=2, hidden_layer_sizes=(8,), max_iter=3, random_state=0
    ... ).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "encoder.onnx")
    >>> skae.export_onnx(ae, path, part="encoder")
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession(path)
    >>> codes = session.run(None, {"X": X})[0]
    >>> bool(np.allclose(codes, ae.transform(X), atol=1e-5))
    True
    """
    check_is_fitted(estimator)
    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}; got {part!r}.")
    if not hasattr(estimator, "module_") or not hasattr(estimator.module_, "encode"):
        raise TypeError(f"{type(estimator).__name__} has no autoencoder network to export.")
    if not getattr(estimator, "_network_is_transform", False):
        raise TypeError(
            f"export_onnx exports networks whose transform / inverse_transform are the "
            f"network alone; {type(estimator).__name__} also transforms the data around "
            "its network, which the ONNX file would not reproduce."
        )
    if importlib.util.find_spec("onnx") is None:
        raise ImportError(
            "export_onnx needs the onnx package: pip install 'skae[onnx]' (which also "
            "installs onnxruntime, to run the exported file)."
        )
    input_name, output_name, width = PARTS[part]
    module = estimator.module_
    device = next(module.parameters()).device
    example = torch.zeros(2, getattr(estimator, width), device=device)
    module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        # The TorchScript-based exporter needs only torch; the dynamo-based
        # one would need onnxscript in addition.
        torch.onnx.export(
            _Part(module, part),
            (example,),
            os.fspath(path),
            dynamo=False,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: {0: "n_samples"}, output_name: {0: "n_samples"}},
            opset_version=opset_version,
        )
