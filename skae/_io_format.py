"""The skae model file: a safetensors file whose metadata describes the estimator.

The arrays (weights, optimizer state, any tensor attribute) are the file's
tensors; the metadata's ``"skae"`` entry is JSON: the format's name and
version, the versions of skae and of the libraries it was saved with,
SHA-256 checksums of the arrays and of the description, and the
description of the estimator itself (``skae.io`` writes and reads it).
``write_model_file`` writes such a file; ``read_model_file`` reads one
back and checks it (a skae file, a format this skae reads, JSON nested at
most ``MAX_NESTING`` deep, checksums that match) before anything in it is
decoded. Nothing here knows estimators.
"""

import hashlib
import json
import os
import sys

import numpy as np
import sklearn
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ._version import __version__

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_NESTING",
    "FileError",
    "nesting",
    "read_model_file",
    "versions",
    "write_model_file",
]

FORMAT = "skae"
# 2: SHA-256 checksums of the arrays and of the description; the optimizer's
# class stored with its state. Version 1 files (no checksums) still load.
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)

# The deepest nesting of JSON containers a file may have: far beyond what a saved
# pipeline needs (about 20), well within what decoding it recursively can take.
MAX_NESTING = 200


class FileError(ValueError):
    """What is wrong with a model file; ``load`` adds the file's name."""


def versions():
    """The versions of skae, torch, scikit-learn, NumPy and Python running here."""
    return {
        "skae": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


def nesting(value):
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
def weights_digest(tensors):
    """SHA-256 of the file's arrays: their names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        tensor = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key!r} {tensor.dtype} {tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def description_digest(description):
    """SHA-256 of the JSON description of the estimator, in a canonical form."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------ the file itself
def write_model_file(path, description, tensors):
    """Write ``tensors`` and the JSON ``description`` to ``path``, with the header and checksums.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write.
    description : dict
        The estimator's JSON description (its tensors named by key in ``tensors``).
    tensors : dict of str to torch.Tensor
        The arrays, contiguous and on the CPU.
    """
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": versions(),
        "sha256": {
            "weights": weights_digest(tensors),
            "estimator": description_digest(description),
        },
    }
    metadata = {"skae": json.dumps({**header, "estimator": description})}
    save_file(tensors, os.fspath(path), metadata=metadata)


def read_model_file(path):
    """The checked header and description of the file at ``path``, and its arrays.

    Parameters
    ----------
    path : str
        A file written by ``write_model_file``.

    Returns
    -------
    content : dict
        The parsed ``"skae"`` metadata: ``format_version``, ``versions``,
        ``estimator`` (the description), ...
    tensors : dict of str to torch.Tensor
        The file's arrays, on the CPU.

    Raises
    ------
    ValueError
        If the file is not a safetensors file, not a skae model file, was
        written by a newer format, has malformed metadata or does not match
        its checksums; the message names the file.
    FileNotFoundError
        If there is no file at ``path``.
    """
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
    return content, tensors


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
    if nesting(content) > MAX_NESTING:
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
    saved_versions = content.get("versions", {})
    if not isinstance(saved_versions, dict) or not all(
        isinstance(v, str) for v in saved_versions.values()
    ):
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
    description = description_digest(content["estimator"])  # nesting checked: no recursion error
    found = {"weights": weights_digest(tensors), "estimator": description}
    names = {"weights": "arrays (weights)", "estimator": "description"}
    damaged = [names[key] for key in found if found[key] != digests[key]]
    if damaged:
        raise ValueError(
            f"{path!r} does not match its checksum ({' and '.join(damaged)}: SHA-256 "
            "differs from the one skae.save wrote): the file is damaged or was modified "
            "after it was saved. Save the model again, or use an intact copy."
        )
