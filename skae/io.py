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

This module turns an estimator into that description and back (``save``,
``load``); the file around it (header, versions, checksums) is
``skae._io_format``'s, what a file may name and set is ``skae._io_trust``'s,
and the ONNX export is ``skae._io_onnx``'s.
"""

import os
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from skorch.history import History

from ._io_format import (
    MAX_NESTING,
    FileError,
    nesting,
    read_model_file,
    versions,
    write_model_file,
)
from ._io_onnx import export_onnx
from ._io_trust import (
    TRUSTED_PACKAGES,
    check_attribute_name,
    class_path,
    import_class,
    nameable_class_path,
    set_attribute,
    trusted_classes,
)
from ._random import torch_generator

__all__ = ["export_onnx", "load", "save"]

# Attribute names a file may not set on an estimator: the engine is rebuilt from "net".
RESERVED_ATTRIBUTES = ("net_",)

# Fitted attributes renamed since a file could be saved with them (old -> new;
# None: state no longer kept, dropped).
RENAMED_ATTRIBUTES = {
    "_reference_rows": "reference_rows_",
    "_reference_codes": "reference_codes_",
    "_induction_neighbors": "induction_neighbors_",
    "_unit_norm_rows": "unit_norm_rows_",
    "_y_mean": "y_mean_",
    "_y_scale": "y_scale_",
    "_labeled_share": None,
}





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
            return {"__type__": nameable_class_path(value, where)}
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
            "class": class_path(type(module)),
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
        raise FileError(f"The model file names the dtype {name!r}, which skae does not store.")
    return dtype


def _entries(value, what):
    """``value`` if it is a JSON object (a dict), else a ``FileError`` naming ``what``."""
    if not isinstance(value, dict):
        raise FileError(f"The model file's entry for {what} is not a JSON object.")
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
            return import_class(content, trusted=self.trusted)
        raise FileError(f"Unknown entry {tag!r} in the model file.")

    def module_tree(self, saved):
        """Rebuild a module saved by ``_Encoder.module_tree`` without calling its ``__init__``."""
        saved = _entries(saved, "a torch module")
        cls = import_class(saved["class"], base=torch.nn.Module)
        module = cls.__new__(cls)
        torch.nn.Module.__init__(module)
        for name, value in _entries(saved["attributes"], "a module's attributes").items():
            check_attribute_name(cls, name, forbidden=_MODULE_INTERNALS, fitted=False)
            set_attribute(module, name, self(value))
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
        "class": nameable_class_path(type(estimator), f"a {type(estimator).__name__}"),
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
        raise FileError(f"{what} in the model file are invalid: {error}") from None


def _restore(saved, decode):
    """Rebuild the estimator described by ``_dump``'s output."""
    saved = _entries(saved, "an estimator")
    cls = import_class(saved["class"], base=BaseEstimator, trusted=decode.trusted)
    saved_params = _entries(saved["params"], f"the parameters of {cls.__name__}")
    unknown = sorted(set(saved_params) - set(cls._get_param_names()))
    if unknown:
        raise FileError(f"The model file gives {cls.__name__} unknown parameters {unknown}.")
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
        check_attribute_name(cls, name, forbidden=(*params, *RESERVED_ATTRIBUTES))
    deferred = {}
    for name, value in attributes.items():
        if isinstance(value, dict) and "__submodule__" in value:
            deferred[name] = value
        else:
            set_attribute(estimator, name, decode(value))
    if "net" in saved:
        if not all(callable(getattr(estimator, name, None)) for name in _ENGINE_HOOKS):
            raise FileError(
                f"{cls.__name__} is not a skae autoencoder; cannot load its network."
            )
        _rebuild_engine(estimator, _entries(saved["net"], "the network"), decode)
        decode.module = estimator.net_.module_
        for name, value in deferred.items():
            set_attribute(estimator, name, decode(value))
        for name, value in attributes.items():  # saved values win over recomputed ones
            if name not in deferred:
                set_attribute(estimator, name, decode(value))
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
        raise FileError(
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
        raise FileError(f"The network's input width {n_features!r} is not a positive integer.")
    n_rows = min(n_features, getattr(builder, "n_components", 1)) + 2
    optimizer_class = decode(saved.get("optimizer_class"))
    if optimizer_class is not None and not (
        isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)
    ):
        raise FileError(f"The optimizer class {optimizer_class!r} is not a torch optimizer.")
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(0)  # the CPU only, without touching CUDA
        # The architecture alone (no data, no PCA): the saved weights overwrite it.
        module = builder._build_network(n_features)
        # Any budget will do: a later fit (warm_start, partial_fit) applies its own.
        budget = estimator._training_budget(n_rows, reset=False, early_stopping=False)
        net = estimator._make_engine(module, torch_generator(0), budget, None, initialize=False)
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
    if nesting({"estimator": saved}) > MAX_NESTING:  # load would refuse it
        raise TypeError(
            f"skae.save cannot store this {type(estimator).__name__}: its description "
            f"nests more than {MAX_NESTING} levels deep."
        )
    write_model_file(path, saved, encode.tensors)




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
    trusted = trusted_classes(trusted)
    content, tensors = read_model_file(path)
    saved_skae = content.get("versions", {}).get("skae")
    if saved_skae != versions()["skae"]:
        warnings.warn(
            f"{path!r} was saved with skae {saved_skae}; this is skae "
            f"{versions()['skae']}. Check the model's outputs.",
            UserWarning,
            stacklevel=2,
        )
    decode = _Decoder(tensors, device, trusted)
    try:
        return _restore(content["estimator"], decode)
    except FileError as error:
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


