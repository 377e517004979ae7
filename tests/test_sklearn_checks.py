"""scikit-learn's own estimator checks, run on every public skae estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import AutoencoderTransformer
from skae import AutoencoderOutlierDetector, VariationalAE
from skae import AutoencoderClassifier, AutoencoderRegressor
from skae import ContractiveAE, DenoisingAE, SparseAE

# Small, fast settings: the checks fit dozens of times on tiny data.
FAST = dict(hidden_layer_sizes=(8,), max_iter=5, batch_size=32, n_components=1)

ESTIMATORS = [AutoencoderTransformer(**FAST)]
ESTIMATORS += [VariationalAE(**FAST), AutoencoderOutlierDetector(AutoencoderTransformer(**FAST))]
# The detector's default ensemble (its own small training schedule; about 0.1 s a fit here).
ESTIMATORS += [AutoencoderOutlierDetector(random_state=0)]

# Semi-supervised: labels -1 (classifier) mark unlabeled rows; layer-wise pretraining on one.
_SUPERVISED = dict(freeze_epochs=30, max_iter=10, fine_tuning_learning_rate=1e-2)
ESTIMATORS += [
    AutoencoderClassifier(AutoencoderTransformer(**FAST), **_SUPERVISED),
    AutoencoderRegressor(AutoencoderTransformer(**FAST), **_SUPERVISED),
    AutoencoderTransformer(**FAST, pretraining="layerwise", pretraining_max_iter=2),
]

# The regularized family; the second ContractiveAE takes the closed-form Jacobian path.
ESTIMATORS += [
    DenoisingAE(**FAST, noise="swap"),
    SparseAE(**FAST),
    SparseAE(**FAST, sparsity="l1"),
    ContractiveAE(**FAST),
    ContractiveAE(**{**FAST, "hidden_layer_sizes": ()}, code_activation="sigmoid"),
]

# Tables: on the checks' numeric arrays every column is numeric; the second accepts NaN.
from skae import AutoencoderImputer, TabularAE  # noqa: E402

ESTIMATORS += [
    TabularAE(**FAST),
    TabularAE(**FAST, missing="learn"),
    AutoencoderImputer(hidden_layer_sizes=(8,), max_iter=5, batch_size=32, n_components=2),
]

EXPECTED_FAILED_CHECKS = {}
# On the check's 30 rows (two tight blobs in 2-D, one code unit), cross-validation
# (early_stopping="auto") finds no epoch count whose held-out loss beats the PCA
# start by two standard errors, so the model is PCA's solution after 0 epochs, and
# n_iter_ says so.
N_ITER_ZERO = {
    "check_transformer_n_iter": (
        "n_iter_ is 0 when cross-validation keeps the PCA start (no epoch count lowers "
        "the validation loss clearly): the check wants at least 1."
    ),
}
EXPECTED_FAILED_CHECKS["TabularAE"] = N_ITER_ZERO
EXPECTED_FAILED_CHECKS["DenoisingAE"] = N_ITER_ZERO
EXPECTED_FAILED_CHECKS["AutoencoderClassifier"] = {
    "check_classifiers_classes": (
        "y == -1 marks unlabeled rows (scikit-learn's semi-supervised convention), so the "
        "check's labels [-1, 1] leave one class; scikit-learn exempts its own "
        "semi-supervised classifiers from these labels."
    ),
}


def expected_failed_checks(estimator):
    """The checks ``estimator`` is expected to fail, with the reasons."""
    if isinstance(estimator, TabularAE) and estimator.missing == "learn":
        # It trains with masking noise (noise="auto"), whose corrupted inputs the PCA
        # start does not reconstruct: cross-validation trains on (n_iter_ is 5), it passes.
        return {}
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
