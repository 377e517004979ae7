"""AutoencoderClassifier and AutoencoderRegressor, where they used to live.

They now live in ``skae.classifier`` and ``skae.regressor`` (the machinery
they share in ``skae._head``); this module keeps ``from skae.supervised
import AutoencoderClassifier`` working.
"""

from .classifier import AutoencoderClassifier
from .regressor import AutoencoderRegressor

__all__ = ["AutoencoderClassifier", "AutoencoderRegressor"]
