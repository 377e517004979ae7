"""skae: scikit-learn compatible autoencoders on PyTorch."""

import importlib
from typing import TYPE_CHECKING

from ._base import BaseAutoencoder
from ._engine import DivergenceError, StopTraining
from ._version import __version__
from .autoencoder import AutoencoderTransformer
from .io import export_onnx, load, save
from .outlier import AutoencoderOutlierDetector
from .variational import VariationalAE

__all__ = ["AutoencoderTransformer", "BaseAutoencoder", "DivergenceError", "StopTraining"]
__all__ += ["export_onnx", "load", "save"]
__all__ += ["AutoencoderOutlierDetector", "VariationalAE"]

from .impute import AutoencoderImputer  # noqa: E402
from .tabular import TabularAE  # noqa: E402

__all__ += ["AutoencoderImputer", "TabularAE"]

from .contractive import ContractiveAE  # noqa: E402
from .denoising import DenoisingAE  # noqa: E402
from .sparse import SparseAE  # noqa: E402

__all__ += ["ContractiveAE", "DenoisingAE", "SparseAE"]

# Public names imported on first use (PEP 562), with what only they need: the
# supervised estimators bring scikit-learn's neighbors, decomposition and linear
# models (0.1-0.3 s), which nothing else in skae imports.
_LAZY = {
    "AutoencoderClassifier": ".classifier",
    "AutoencoderRegressor": ".regressor",
}
__all__ += list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for readers and static tools: where the lazy names come from
    from .classifier import AutoencoderClassifier  # noqa: F401
    from .regressor import AutoencoderRegressor  # noqa: F401
