"""Save and load skae estimators without pickle, and export them to ONNX.

A saved model is one `safetensors <https://huggingface.co/docs/safetensors>`_
file: every tensor (the network's weights, the optimizer's state, the state of
the training random generator and any tensor attribute) is stored as a plain
array, and everything else (the class name, the hyperparameters, the fitted
attributes such as ``n_features_in_`` or ``feature_names_in_``, the training
history and the skae / torch / scikit-learn versions) as JSON in the file's
metadata, with a SHA-256 checksum of the arrays and one of the JSON
description. Loading parses JSON and arrays only: nothing is unpickled, and
only classes from skae, scikit-learn, torch, skorch and NumPy, or classes the
caller passes in ``trusted``, can be named.

A file stores what a pickle would keep: the current parameters (``set_params``
after ``fit`` included) and the fitted state. An autoencoder's network is
rebuilt from the architecture it was fitted with (its ``_architecture_``
attribute), not from the current parameters: a throwaway copy of the
estimator with those parameters builds it with its own ``_build_network``
(from the parameters alone, no data), and the saved weights are loaded into
that module. Any other torch module attribute (e.g. a supervised model's
encoder and head) is rebuilt from its class, plain attributes, parameters,
buffers and children, without calling its
constructor.
"""

import hashlib
import importlib
import importlib.util
import inspect
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
# 2: SHA-256 checksums of the arrays and of the description; the optimizer's
# class stored with its state. Version 1 files (no checksums) still load.
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)

# Packages whose classes a model file may name (estimators, optimizers).
TRUSTED_PACKAGES = ("skae", "sklearn", "torch", "skorch", "numpy")

# Attribute names a file may not set on an estimator: the engine is rebuilt from "net".
RESERVED_ATTRIBUTES = ("net_",)

_ABSENT = object()  # no class-level attribute of that name

# Names that moved since a file could be saved with them (old -> new): the
# classes a file names ("module:qualname") and the fitted attributes it sets
# (None: state no longer kept, dropped).
MOVED_CLASSES = {"skae.supervised:_EncoderHead": "skae._head:EncoderHead"}
RENAMED_ATTRIBUTES = {
    "_reference_rows": "reference_rows_",
    "_reference_codes": "reference_codes_",
    "_induction_neighbors": "induction_neighbors_",
    "_unit_norm_rows": "unit_norm_rows_",
    "_y_mean": "y_mean_",
    "_y_scale": "y_scale_",
    "_labeled_share": None,
}

# The deepest nesting of JSON containers a file may have: far beyond what a saved
# pipeline needs (about 20), well within what decoding it recursively can take.
MAX_NESTING = 200


class _FileError(ValueError):
    """What is wrong with a model file; ``load`` adds the file's name."""


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


def _nameable_class_path(cls, where):
    """``"module:qualname"`` of ``cls``, or a ``TypeError`` if no file could name it."""
    if "<locals>" in cls.__qualname__:
        raise TypeError(
            f"skae.save cannot store {where}: the class {cls.__qualname__} is defined "
            "inside a function, so a file cannot name it. Define it at module level."
        )
    return _class_path(cls)


def _trusted_classes(trusted):
    """``{"module:qualname": class or None}`` from ``load``'s ``trusted`` argument."""
    if trusted is None:
        return {}
    if isinstance(trusted, (str, type)):
        trusted = [trusted]
    classes = {}
    for item in trusted:
        if isinstance(item, type):
            classes[_class_path(item)] = item
        elif isinstance(item, str) and ":" in item:
            classes[item] = None  # imported when the file names it
        else:
            raise TypeError(
                "trusted must be a list of classes (e.g. trusted=[MyAE]) or of "
                f"'module:qualname' strings (e.g. 'mypackage.models:MyAE'); got {item!r}."
            )
    return classes


def _untrusted_message(path):
    _, _, qualname = path.partition(":")
    name = qualname.rsplit(".", 1)[-1] or "TheClass"
    return (
        f"The model file names the class {path!r}; skae only loads classes from "
        f"{', '.join(TRUSTED_PACKAGES)} and those passed in trusted, and imports "
        "nothing else. If you trust this file and that class (e.g. your own subclass of "
        f"a skae estimator), pass it: skae.load(path, trusted=[{name}]) or "
        f"skae.load(path, trusted=[{path!r}]). Otherwise the file may have been "
        "tampered with."
    )


def _import_class(path, base=None, trusted=None):
    """The class named ``"module:qualname"``, from a trusted package or ``trusted`` only."""
    trusted = trusted or {}
    if not isinstance(path, str):
        raise _FileError(f"A class is named by {path!r}, not by a 'module:qualname' string.")
    path = MOVED_CLASSES.get(path, path)
    module_name, _, qualname = path.partition(":")
    parts = qualname.split(".")
    if path in trusted and trusted[path] is not None:
        obj = trusted[path]
    else:
        if not qualname or (
            path not in trusted and module_name.split(".")[0] not in TRUSTED_PACKAGES
        ):
            raise _FileError(_untrusted_message(path))
        if any(part.startswith("__") or not part.isidentifier() for part in parts):
            raise _FileError(f"The model file names {path!r}, which is not an allowed class.")
        try:
            obj = importlib.import_module(module_name)
            for part in parts:
                obj = getattr(obj, part)
        except (ImportError, AttributeError, ValueError):
            raise _FileError(
                f"The model file names the class {path!r}, which does not exist here. "
                "It may come from another version of its package, or have been tampered with."
            ) from None
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        raise _FileError(f"The model file names {path!r}, which is not an allowed class.")
    return obj


def _is_method_like(value):
    """Whether a class attribute is code (a method, property or other descriptor)."""
    return value is not _ABSENT and (callable(value) or hasattr(type(value), "__get__"))


def _check_attribute_name(cls, name, forbidden=(), fitted=True):
    """Refuse an attribute name a file may not set on an instance of ``cls``.

    Refused: names that are not identifiers, dunder names, ``forbidden`` ones
    (parameters, what the loader rebuilds itself), names of a method,
    property or other descriptor of the class (loading must not shadow code),
    and, for an estimator (``fitted``), names that do not follow scikit-learn's
    convention for fitted state (a trailing underscore, or a leading one for
    private state).
    """
    where = f"the attribute {name!r} of {cls.__name__}"
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        raise _FileError(f"The model file sets {where}, which is not an allowed name.")
    if name in forbidden:
        raise _FileError(f"The model file sets {where}, a name skae does not load from a file.")
    if _is_method_like(inspect.getattr_static(cls, name, _ABSENT)):
        raise _FileError(
            f"The model file sets {where}, which would hide the class's method or property "
            "of that name. The file may have been tampered with."
        )
    if fitted and not (name.endswith("_") or name.startswith("_")):
        raise _FileError(
            f"The model file sets {where}, which is not a fitted attribute's name "
            "(fitted attributes end with an underscore, private state starts with one)."
        )


# Class-level values a loaded attribute may override, with one of the same type
# (e.g. the ``_cv_rule`` that files of an earlier skae set on the imputer's network).
_OVERRIDABLE_TYPES = (str, int, float, bool)


def _set_attribute(instance, name, value):
    """``instance.name = value``, refused if it would override class-level data of another kind.

    Only a plain value (string, number, bool) of the class can be overridden,
    and only by a value of the same type: a file cannot replace, say,
    ``_parameter_constraints`` and so turn validation off.
    """
    cls = type(instance)
    default = inspect.getattr_static(cls, name, _ABSENT)
    if default is not _ABSENT and (
        type(default) not in _OVERRIDABLE_TYPES or type(value) is not type(default)
    ):
        raise _FileError(
            f"The model file sets the attribute {name!r} of {cls.__name__} to a "
            f"{type(value).__name__}, where the class has a {type(default).__name__} "
            "that a file may not replace."
        )
    instance.__dict__[name] = value


def _nesting(value):
    """How deeply JSON containers nest in ``value``, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                stack.extend((child, depth + 1) for child in children)
    return deepest


# ---------------------------------------------------------------- checksums
def _weights_digest(tensors):
    """SHA-256 of the file's arrays: their names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        tensor = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key!r} {tensor.dtype} {tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _description_digest(description):
    """SHA-256 of the JSON description of the estimator, in a canonical form."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


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
        if isinstance(value, type):  # e.g. an optimizer class; load asks to trust others
            return {"__type__": _nameable_class_path(value, where)}
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


def _dtype(name, kinds):
    """``np.dtype(name)``, refused unless its kind is one of ``kinds``."""
    dtype = np.dtype(name) if isinstance(name, str) else None
    if dtype is None or dtype.kind not in kinds:
        raise _FileError(f"The model file names the dtype {name!r}, which skae does not store.")
    return dtype


def _entries(value, what):
    """``value`` if it is a JSON object (a dict), else a ``_FileError`` naming ``what``."""
    if not isinstance(value, dict):
        raise _FileError(f"The model file's entry for {what} is not a JSON object.")
    return value


class _Decoder:
    """Undo ``_Encoder``: JSON back to values, tensors taken from ``tensors``."""

    def __init__(self, tensors, device=None, trusted=None):
        self.tensors = tensors
        self.module = None
        self.device = device  # overrides every estimator's saved device when set
        self.trusted = trusted or {}  # {"module:qualname": class or None}

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
            return _dtype(content, "biufU").type(value["value"])
        if tag == "__ndarray__":
            dtype = object if value["dtype"] == "object" else _dtype(value["dtype"], "biufU")
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
            return _dtype(content, "biufcUO")
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
            return _import_class(content, trusted=self.trusted)
        raise _FileError(f"Unknown entry {tag!r} in the model file.")

    def module_tree(self, saved):
        """Rebuild a module saved by ``_Encoder.module_tree`` without calling its ``__init__``."""
        saved = _entries(saved, "a torch module")
        cls = _import_class(saved["class"], base=torch.nn.Module)
        module = cls.__new__(cls)
        torch.nn.Module.__init__(module)
        for name, value in _entries(saved["attributes"], "a module's attributes").items():
            _check_attribute_name(cls, name, forbidden=_MODULE_INTERNALS, fitted=False)
            _set_attribute(module, name, self(value))
        module.training = bool(saved["training"])
        for name, value in _entries(saved["parameters"], "a module's parameters").items():
            module._parameters[name] = None
            if value is not None:
                tensor, requires_grad = value
                module._parameters[name] = torch.nn.Parameter(
                    self(tensor).clone(), requires_grad=bool(requires_grad)
                )
        for name, value in _entries(saved["buffers"], "a module's buffers").items():
            module._buffers[name] = None if value is None else self(value).clone()
        for name, value in _entries(saved["modules"], "a module's children").items():
            module._modules[name] = None if value is None else self.module_tree(value)
        return module


# What torch.nn.Module.__init__ sets up: not saved, recreated on load.
_MODULE_INTERNALS = set(vars(torch.nn.Module()))


def _dump(estimator, encode):
    """JSON description of ``estimator``; its tensors go to ``encode.tensors``."""
    params = estimator.get_params(deep=False)
    saved = {
        "class": _nameable_class_path(type(estimator), f"a {type(estimator).__name__}"),
        "params": {},
        "attributes": {},
    }
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
            "optimizer_class": encode(type(net.optimizer_), "the optimizer's class"),
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


def _validate_loaded_params(estimator, what):
    """Run the estimator's parameter validation; an invalid value is a damaged file."""
    validate = getattr(estimator, "_validate_params", None)
    if not callable(validate) or not isinstance(
        getattr(estimator, "_parameter_constraints", None), dict
    ):
        return  # an estimator that declares no constraints (e.g. TabularAE's codec)
    try:
        validate()
    except (ValueError, TypeError) as error:
        raise _FileError(f"{what} in the model file are invalid: {error}") from None


def _restore(saved, decode):
    """Rebuild the estimator described by ``_dump``'s output."""
    saved = _entries(saved, "an estimator")
    cls = _import_class(saved["class"], base=BaseEstimator, trusted=decode.trusted)
    saved_params = _entries(saved["params"], f"the parameters of {cls.__name__}")
    unknown = sorted(set(saved_params) - set(cls._get_param_names()))
    if unknown:
        raise _FileError(f"The model file gives {cls.__name__} unknown parameters {unknown}.")
    params = {name: decode(value) for name, value in saved_params.items()}
    if "device" in params:
        device = decode.device or _available_device(params["device"])
        params["device"] = params["device"] if device is None else device
    estimator = cls(**params)
    _validate_loaded_params(estimator, f"The parameters of {cls.__name__}")
    attributes = _entries(saved["attributes"], f"the fitted attributes of {cls.__name__}")
    attributes = {
        new: value
        for name, value in attributes.items()
        if (new := RENAMED_ATTRIBUTES.get(name, name)) is not None
    }
    for name in attributes:
        _check_attribute_name(cls, name, forbidden=(*params, *RESERVED_ATTRIBUTES))
    deferred = {}
    for name, value in attributes.items():
        if isinstance(value, dict) and "__submodule__" in value:
            deferred[name] = value
        else:
            _set_attribute(estimator, name, decode(value))
    if "net" in saved:
        if not all(callable(getattr(estimator, name, None)) for name in _ENGINE_HOOKS):
            raise _FileError(
                f"{cls.__name__} is not a skae autoencoder; cannot load its network."
            )
        _rebuild_engine(estimator, _entries(saved["net"], "the network"), decode)
        decode.module = estimator.net_.module_
        for name, value in deferred.items():
            _set_attribute(estimator, name, decode(value))
        for name, value in attributes.items():  # saved values win over recomputed ones
            if name not in deferred:
                _set_attribute(estimator, name, decode(value))
    return estimator


# What rebuilding a saved network asks of the estimator (a skae autoencoder).
_ENGINE_HOOKS = ("_build_network", "_make_engine", "_set_fitted_attributes")


def _network_builder(estimator):
    """A throwaway copy of ``estimator`` with the parameters its network was fitted with.

    Those are its ``_architecture_`` (``{parameter: value}``, set by ``fit``),
    which ``set_params`` after ``fit`` does not change; a file without it
    (another kind of estimator) builds from the current parameters. The
    copy shares the fitted attributes the network's shape may depend on
    (e.g. ``TabularAE``'s ``codec_``). It builds the network with
    ``_build_network``, from the parameters alone: no data, no PCA.
    """
    cls = type(estimator)
    architecture = vars(estimator).get("_architecture_") or {}
    params = estimator.get_params(deep=False)
    if not isinstance(architecture, dict) or not set(architecture) <= set(params):
        raise _FileError(
            f"The fitted architecture of {cls.__name__} in the model file names "
            f"parameters {cls.__name__} does not have."
        )
    builder = cls.__new__(cls)
    vars(builder).update(vars(estimator))
    vars(builder).update(architecture)
    _validate_loaded_params(builder, f"The parameters {cls.__name__} was fitted with")
    return builder


def _rebuild_engine(estimator, saved, decode):
    """Build the network and training engine, then load the saved state into them."""
    builder = _network_builder(estimator)
    n_features = saved["input_width"] if "input_width" in saved else estimator.n_features_in_
    if type(n_features) is not int or n_features < 1:
        raise _FileError(f"The network's input width {n_features!r} is not a positive integer.")
    n_rows = min(n_features, getattr(builder, "n_components", 1)) + 2
    optimizer_class = decode(saved.get("optimizer_class"))
    if optimizer_class is not None and not (
        isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)
    ):
        raise _FileError(f"The optimizer class {optimizer_class!r} is not a torch optimizer.")
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(0)  # the CPU only, without touching CUDA
        # The architecture alone (no data, no PCA): the saved weights overwrite it.
        module = builder._build_network(n_features)
        # Any budget will do: a later fit (warm_start, partial_fit) applies its own.
        budget = estimator._training_budget(n_rows, reset=False, early_stopping=False)
        generator = torch.Generator().manual_seed(0)
        net = estimator._make_engine(module, generator, budget, None, initialize=False)
        if optimizer_class is not None and net.optimizer is not optimizer_class:
            # The optimizer the network was trained with (set_params may have named
            # another since, which the next warm fit starts afresh, as after a pickle);
            # its settings come with its state.
            for key in [key for key in vars(net) if key.startswith("optimizer__")]:
                del net.__dict__[key]
            net.optimizer = optimizer_class
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
    the class, hyperparameters, fitted attributes, training history, the
    skae, torch and scikit-learn versions and SHA-256 checksums of the
    arrays and of the description as JSON metadata. Loading it with
    :func:`skae.load` runs no code from the file, so a model file from an
    untrusted source is safe to load (unlike a pickle).

    The file keeps what a pickle would: the current parameters, including
    any ``set_params`` since ``fit``, and the fitted state. The network is
    stored with the architecture it was fitted with, so the loaded estimator
    gives the same outputs as the saved one even after
    ``set_params(n_components=...)``, and ``partial_fit`` or ``warm_start``
    continue training exactly as they would have on the original (or
    refuse a changed architecture, as the original would).

    Parameters
    ----------
    estimator : skae estimator
        A fitted or unfitted estimator, or a pipeline of them and of
        scikit-learn estimators. ``callbacks`` are not saved (a warning says
        so). An estimator of a class outside skae and scikit-learn (e.g.
        your own subclass of a skae estimator) is saved under its
        ``module:qualname``; :func:`load` then asks you to trust that class
        (``trusted=[MyAE]``).
    path : str or os.PathLike
        Where to write the file (conventionally ending in ``.skae``).

    Raises
    ------
    TypeError
        If a hyperparameter or fitted attribute cannot be stored without
        pickle (e.g. an arbitrary Python object), a class is defined
        inside a function (no file could name it), or the description nests
        more than ``MAX_NESTING`` (200) levels deep. Nothing is written then.

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
    if _nesting({"estimator": saved}) > MAX_NESTING:  # load would refuse it
        raise TypeError(
            f"skae.save cannot store this {type(estimator).__name__}: its description "
            f"nests more than {MAX_NESTING} levels deep."
        )
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "sha256": {
            "weights": _weights_digest(encode.tensors),
            "estimator": _description_digest(saved),
        },
    }
    metadata = {"skae": json.dumps({**header, "estimator": saved})}
    save_file(encode.tensors, os.fspath(path), metadata=metadata)


def _read_header(path, metadata):
    """The file's parsed and checked ``skae`` metadata, or a ``ValueError``."""
    not_skae = f"{path!r} is a safetensors file but not a skae model file (no skae metadata)."
    text = metadata.get("skae") if isinstance(metadata, dict) else None
    if not isinstance(text, str):
        raise ValueError(not_skae)
    too_deep = (
        f"{path!r} is not a valid skae model file: its metadata is nested more than "
        f"{MAX_NESTING} levels deep. The file is damaged or was tampered with."
    )
    try:
        content = json.loads(text)
    except RecursionError:
        raise ValueError(too_deep) from None
    except ValueError:
        raise ValueError(not_skae) from None
    if _nesting(content) > MAX_NESTING:
        raise ValueError(too_deep)
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ValueError(not_skae)
    version = content.get("format_version")
    if type(version) is not int or version < 1:
        raise ValueError(
            f"{path!r} is not a valid skae model file: its format_version is {version!r}, "
            "not a positive integer. The file is damaged or was tampered with."
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path!r} was written in skae's file format version {version}, newer than "
            f"this skae reads ({FORMAT_VERSION}). Upgrade skae."
        )
    versions = content.get("versions", {})
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
        raise ValueError(
            f"{path!r} is not a valid skae model file: its 'versions' entry is malformed."
        )
    if not isinstance(content.get("estimator"), dict):
        raise ValueError(
            f"{path!r} is not a valid skae model file: it describes no estimator."
        )
    return content


def _check_digests(path, content, tensors):
    """Refuse a file whose arrays or description do not match their saved SHA-256."""
    if content["format_version"] < 2:  # version 1 files carry no checksums
        return
    digests = content.get("sha256")
    if not isinstance(digests, dict) or not all(
        isinstance(digests.get(key), str) for key in ("weights", "estimator")
    ):
        raise ValueError(
            f"{path!r} is not a valid skae model file: its checksums are missing."
        )
    description = _description_digest(content["estimator"])  # nesting checked: no recursion error
    found = {"weights": _weights_digest(tensors), "estimator": description}
    names = {"weights": "arrays (weights)", "estimator": "description"}
    damaged = [names[key] for key in found if found[key] != digests[key]]
    if damaged:
        raise ValueError(
            f"{path!r} does not match its checksum ({' and '.join(damaged)}: SHA-256 "
            "differs from the one skae.save wrote): the file is damaged or was modified "
            "after it was saved. Save the model again, or use an intact copy."
        )


def load(path, *, device=None, trusted=None):
    """Load an estimator saved by :func:`skae.save`, without unpickling.

    The loaded estimator is what a pickle of the saved one would give: the
    same class, the same parameters (``get_params``), the same fitted state
    and the same outputs; its network is rebuilt with the architecture it was
    fitted with, whatever ``set_params`` said since.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`skae.save`.
    device : str or torch.device, default=None
        Device to put the network on, overriding the saved ``device``
        parameter. By default the saved one is kept, except that a model
        saved on a GPU loads on the CPU (with a warning) when no GPU is
        available.
    trusted : list of classes or of str, default=None
        Classes from outside skae, scikit-learn, torch, skorch and NumPy
        that the file may name, such as your own subclass of a skae
        estimator: ``trusted=[MyAE]``, or ``trusted=["mypackage.models:MyAE"]``
        (the ``module:qualname`` the error message gives). Only the classes
        listed are imported; their code (e.g. an overridden
        ``_build_module``) runs while loading, so list only classes you trust.

    Returns
    -------
    estimator : skae estimator
        The estimator, fitted if it was fitted when saved.

    Raises
    ------
    ValueError
        If the file is not a skae model file (for instance a pickle, or a
        file tampered with to carry one); names a class outside skae,
        scikit-learn, torch, skorch and NumPy that is not in ``trusted``
        (the message says how to trust it); does not match the SHA-256
        checksums of its arrays and description (a damaged or modified
        file); has malformed metadata (wrong types, nesting deeper than 200
        levels, unknown parameters or values the estimator's own validation
        refuses, attribute names that would hide a method or property or
        that are not fitted attributes' names); or was written by a newer
        file format. The message names the file. Nothing in the file is
        executed.
    FileNotFoundError
        If there is no file at ``path``.

    See Also
    --------
    save : Write the file.

    Notes
    -----
    The checksums detect damage (a truncated download, flipped bits), not
    a deliberate forgery: anyone who can write the file can recompute them.
    Against a forged file, what protects you is that loading runs no code
    from it and instantiates only the classes above, with validated
    parameters. Files written by the previous format version (1, without
    checksums) load without the checksum check.

    Examples
    --------
    >>> import os, tempfile
    >>> import skae
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skae")
    >>> skae.save(skae.AutoencoderTransformer(n_components=3), path)
    >>> skae.load(path)
    AutoencoderTransformer(n_components=3)

    A subclass of your own loads once you trust it:

    >>> class MyAE(skae.AutoencoderTransformer):
    ...     pass
    >>> skae.save(MyAE(n_components=3), path)
    >>> skae.load(path, trusted=[MyAE])
    MyAE(n_components=3)
    """
    path = os.fspath(path)
    trusted = _trusted_classes(trusted)
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
    content = _read_header(path, metadata)
    _check_digests(path, content, tensors)
    saved_skae = content.get("versions", {}).get("skae")
    if saved_skae != _versions()["skae"]:
        warnings.warn(
            f"{path!r} was saved with skae {saved_skae}; this is skae "
            f"{_versions()['skae']}. Check the model's outputs.",
            UserWarning,
            stacklevel=2,
        )
    decode = _Decoder(tensors, device, trusted)
    try:
        return _restore(content["estimator"], decode)
    except _FileError as error:
        raise ValueError(f"{path!r} could not be loaded: {error}") from None
    except Warning:
        raise
    except Exception as error:  # anything else a malformed file can cause
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
