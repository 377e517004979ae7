"""skae: scikit-learn compatible autoencoders on PyTorch."""

from ._base import BaseAutoencoder
from ._engine import DivergenceError
from .autoencoder import AutoencoderTransformer
from .outlier import AutoencoderOutlierDetector
from .variational import VariationalAE

__version__ = "0.1.0"

__all__ = ["AutoencoderTransformer", "BaseAutoencoder", "DivergenceError"]

from .impute import AutoencoderImputer  # noqa: E402
from .tabular import TabularAE  # noqa: E402

__all__ += ["AutoencoderImputer", "TabularAE"]
__all__ += ["AutoencoderOutlierDetector", "VariationalAE"]
