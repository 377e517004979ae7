"""What a skae model file may name and set: trusted classes, and attribute names.

A file names classes as ``"module:qualname"``: ``import_class`` imports one
only from a trusted package (``TRUSTED_PACKAGES``) or from the classes the
caller of ``skae.load`` trusts, and refuses anything that is not a class
of the expected kind. ``check_attribute_name`` and ``set_attribute`` refuse
attributes a file may not set on an instance: a name that would hide a
method or property, one that is not a fitted attribute's name, or a value
that would replace class-level data such as ``_parameter_constraints``.
"""

import importlib
import inspect

from ._io_format import FileError

__all__ = [
    "TRUSTED_PACKAGES",
    "check_attribute_name",
    "class_path",
    "import_class",
    "nameable_class_path",
    "set_attribute",
    "trusted_classes",
]

# Packages whose classes a model file may name (estimators, optimizers).
TRUSTED_PACKAGES = ("skae", "sklearn", "torch", "skorch", "numpy")

_ABSENT = object()  # no class-level attribute of that name

# Classes that moved since a file could be saved naming them ("module:qualname",
# old -> new).
MOVED_CLASSES = {"skae.supervised:_EncoderHead": "skae._head:EncoderHead"}


def class_path(cls):
    """``"module:qualname"`` of ``cls``, as a file names it."""
    return f"{cls.__module__}:{cls.__qualname__}"


def nameable_class_path(cls, where):
    """``"module:qualname"`` of ``cls``, or a ``TypeError`` if no file could name it."""
    if "<locals>" in cls.__qualname__:
        raise TypeError(
            f"skae.save cannot store {where}: the class {cls.__qualname__} is defined "
            "inside a function, so a file cannot name it. Define it at module level."
        )
    return class_path(cls)


def trusted_classes(trusted):
    """``{"module:qualname": class or None}`` from ``load``'s ``trusted`` argument."""
    if trusted is None:
        return {}
    if isinstance(trusted, (str, type)):
        trusted = [trusted]
    classes = {}
    for item in trusted:
        if isinstance(item, type):
            classes[class_path(item)] = item
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


def import_class(path, base=None, trusted=None):
    """The class named ``"module:qualname"``, from a trusted package or ``trusted`` only."""
    trusted = trusted or {}
    if not isinstance(path, str):
        raise FileError(f"A class is named by {path!r}, not by a 'module:qualname' string.")
    path = MOVED_CLASSES.get(path, path)
    module_name, _, qualname = path.partition(":")
    parts = qualname.split(".")
    if path in trusted and trusted[path] is not None:
        obj = trusted[path]
    else:
        if not qualname or (
            path not in trusted and module_name.split(".")[0] not in TRUSTED_PACKAGES
        ):
            raise FileError(_untrusted_message(path))
        if any(part.startswith("__") or not part.isidentifier() for part in parts):
            raise FileError(f"The model file names {path!r}, which is not an allowed class.")
        try:
            obj = importlib.import_module(module_name)
            for part in parts:
                obj = getattr(obj, part)
        except (ImportError, AttributeError, ValueError):
            raise FileError(
                f"The model file names the class {path!r}, which does not exist here. "
                "It may come from another version of its package, or have been tampered with."
            ) from None
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        raise FileError(f"The model file names {path!r}, which is not an allowed class.")
    return obj


def _is_method_like(value):
    """Whether a class attribute is code (a method, property or other descriptor)."""
    return value is not _ABSENT and (callable(value) or hasattr(type(value), "__get__"))


def check_attribute_name(cls, name, forbidden=(), fitted=True):
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
        raise FileError(f"The model file sets {where}, which is not an allowed name.")
    if name in forbidden:
        raise FileError(f"The model file sets {where}, a name skae does not load from a file.")
    if _is_method_like(inspect.getattr_static(cls, name, _ABSENT)):
        raise FileError(
            f"The model file sets {where}, which would hide the class's method or property "
            "of that name. The file may have been tampered with."
        )
    if fitted and not (name.endswith("_") or name.startswith("_")):
        raise FileError(
            f"The model file sets {where}, which is not a fitted attribute's name "
            "(fitted attributes end with an underscore, private state starts with one)."
        )


# Class-level values a loaded attribute may override, with one of the same type
# (e.g. the ``_cv_rule`` that files of an earlier skae set on the imputer's network).
_OVERRIDABLE_TYPES = (str, int, float, bool)


def set_attribute(instance, name, value):
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
        raise FileError(
            f"The model file sets the attribute {name!r} of {cls.__name__} to a "
            f"{type(value).__name__}, where the class has a {type(default).__name__} "
            "that a file may not replace."
        )
    instance.__dict__[name] = value
