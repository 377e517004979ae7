"""ONNX export of a fitted skae autoencoder's network (``skae.export_onnx``)."""

import importlib.util
import os
import warnings

import torch
from sklearn.utils.validation import check_is_fitted

__all__ = ["export_onnx"]


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
