"""skae: scikit-learn compatible autoencoders on PyTorch."""

from ._base import BaseAutoencoder
from ._engine import DivergenceError
from .autoencoder import AutoencoderTransformer
from .io import export_onnx, load, save
from .outlier import AutoencoderOutlierDetector
from ._version import __version__
from .variational import VariationalAE

__all__ = ["AutoencoderTransformer", "BaseAutoencoder", "DivergenceError", "export_onnx", "load", "save"]
__all__ += ["AutoencoderOutlierDetector", "VariationalAE"]

from .impute import AutoencoderImputer  # noqa: E402
from .tabular import TabularAE  # noqa: E402

__all__ += ["AutoencoderImputer", "TabularAE"]

from .supervised import AutoencoderClassifier, AutoencoderRegressor  # noqa: E402

__all__ += ["AutoencoderClassifier", "AutoencoderRegressor"]

from .contractive import ContractiveAE  # noqa: E402
from .denoising import DenoisingAE  # noqa: E402
from .sparse import SparseAE  # noqa: E402

__all__ += ["ContractiveAE", "DenoisingAE", "SparseAE"]
