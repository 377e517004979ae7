"""VariationalAE's heavy-tailed likelihood and its bad inputs (issue 28).

A learned Gaussian likelihood is contaminated by a Cauchy of the same centre
and scale, of weight ``ROW_CONTAMINATION / n_features`` per entry, once
training leaves the probabilistic PCA start (the network is still fitted under
the Gaussian): a held-out entry far outside a nearly constant training feature
costs tens of nats itself, not ``r**2 / (2 s2)``.
"""

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback
from torch.distributions import Cauchy, Normal

import skae
from skae import VariationalAE
from skae.variational import ROW_CONTAMINATION, entry_log_likelihoods, gaussian_log_likelihood

SMALL = dict(hidden_layer_sizes=(32,), batch_size=64, random_state=0)


class RecordStart(Callback):
    """Records the rows a fit trains on and the starting weights."""

    def on_train_begin(self, net, X=None, **kwargs):
        self.rows_ = X.detach().double().cpu().numpy()
        self.weights_ = {name: value.clone() for name, value in net.module_.state_dict().items()}


def nearly_constant_table(n_samples=400, seed=0):
    """Six correlated Gaussian features and a seventh that is 0 except in one row."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 6)) @ rng.normal(size=(6, 6))
    rare = np.zeros((n_samples, 1))
    rare[0] = 1.0  # standardized: about sqrt(n_samples) in that row, -0.05 in the others
    return np.hstack([X, rare])


# ------------------------------------------------------------- the likelihood
def test_entry_log_likelihoods_are_the_contaminated_gaussian():
    residual = torch.tensor([[0.0, 0.5, 3.0, 40.0, 1e5]], dtype=torch.float64)
    variance = torch.tensor([2.0], dtype=torch.float64)
    contamination = torch.tensor([0.01], dtype=torch.float64)
    total = entry_log_likelihoods(torch.zeros_like(residual), residual, variance, contamination)
    gaussian = math.log(0.99) + Normal(0.0, variance.sqrt()).log_prob(residual)
    cauchy = math.log(0.01) + Cauchy(0.0, variance.sqrt()).log_prob(residual)
    torch.testing.assert_close(total, torch.logaddexp(gaussian, cauchy), rtol=1e-10, atol=1e-10)
    # A far entry costs its Cauchy's 2 log r, not the Gaussian's r^2 / (2 s2) = 2.5e9 nats.
    assert torch.all(total >= cauchy - 1e-12) and total[0, -1] > -30.0
    # Without contamination: the Gaussian.
    plain = entry_log_likelihoods(torch.zeros_like(residual), residual, variance)
    torch.testing.assert_close(plain, Normal(0.0, variance.sqrt()).log_prob(residual))
    torch.testing.assert_close(gaussian_log_likelihood(torch.zeros_like(residual), residual, variance), plain.sum(1))


# ------------------------------------------------------ far held-out entries
@pytest.fixture(scope="module")
def far_rows_fit():
    X = nearly_constant_table()
    scaler = StandardScaler().fit(X)
    X_train = scaler.transform(X)
    vae = VariationalAE(n_components=2, max_iter=30, early_stopping=True, **SMALL).fit(X_train)
    clean = scaler.transform(nearly_constant_table(20, seed=3))
    far = clean.copy()
    far[:, 6] = scaler.transform(np.hstack([np.zeros((20, 6)), np.full((20, 1), 50.0)]))[:, 6]
    return vae, PCA(n_components=2).fit(X_train), clean, far


def test_a_far_entry_of_a_nearly_constant_feature_costs_no_more_than_its_code(far_rows_fit):
    vae, pca, clean, far = far_rows_fit
    assert dict(vae.net_.callbacks_)["early_stopping"].best_epoch_ > 0  # a trained epoch is kept
    assert float(vae.module_.noise_contamination) == pytest.approx(ROW_CONTAMINATION / 7)
    assert np.abs(far[:, 6]).min() > 900  # about 1,000 training standard deviations out
    cost = vae.score_samples(clean) - vae.score_samples(far)
    pca_cost = pca.score_samples(clean) - pca.score_samples(far)
    # The Gaussian (PCA) charges r^2 / (2 s2), above 10^5 nats per row; the tail about
    # log(7 / 1e-3) + 2 log(r / s) ~ 23 nats for the far entry itself, and the rest
    # (about 5,000 nats here) is what the far value does to the code: the encoder,
    # fitted under the Gaussian, moves the posterior, which costs KL and the other
    # features' fit.
    assert np.all(pca_cost > 1e5), pca_cost
    assert np.all(cost < 1e4), cost
    assert vae.score(far) > pca.score(far) + 1e5
    # Both bounds of the same model: the importance-weighted bound is finite and not
    # below the ELBO by more than its sampling noise.
    iwae = vae.score_samples(far, n_importance_samples=64)
    assert np.all(np.isfinite(iwae)) and iwae.mean() > vae.score(far) - 1.0


def test_the_tail_costs_typical_rows_at_most_a_thousandth_of_a_nat(far_rows_fit):
    """The same network scored with the plain Gaussian: the tail's price on clean rows."""
    vae, _, clean, _ = far_rows_fit
    with_tail = vae.score_samples(clean)
    contamination = vae.module_.noise_contamination.clone()
    try:
        vae.module_.noise_contamination.zero_()
        gaussian = vae.score_samples(clean)
    finally:
        vae.module_.noise_contamination.copy_(contamination)
    assert np.all(with_tail - gaussian > -n_features_bound(clean.shape[1]))


def n_features_bound(n_features):
    """-n_features * log(1 - c) with c = ROW_CONTAMINATION / n_features, the most it costs."""
    return -n_features * math.log1p(-ROW_CONTAMINATION / n_features) * (1 + 1e-9)


def test_the_start_is_exactly_probabilistic_pca_without_the_tail():
    X = StandardScaler().fit_transform(nearly_constant_table())
    vae = VariationalAE(
        n_components=2, n_iter_no_change=1, tol=1e9, early_stopping=True,
        callbacks=[("start", RecordStart())], **SMALL,
    ).fit(X)
    start = dict(vae.net_.callbacks_)["start"]
    assert float(start.weights_["noise_contamination"]) == 0.0
    vae.module_.load_state_dict(start.weights_)
    pca = PCA(n_components=2).fit(start.rows_)
    np.testing.assert_allclose(vae.score_samples(X), pca.score_samples(X), rtol=1e-4, atol=1e-4)


def test_the_start_is_fitted_on_the_training_rows_without_the_validation_split():
    X = StandardScaler().fit_transform(nearly_constant_table(300))
    vae = VariationalAE(
        n_components=2, n_iter_no_change=1, tol=1e9, early_stopping=True,
        callbacks=[("start", RecordStart())], **SMALL,
    ).fit(X)
    start = dict(vae.net_.callbacks_)["start"]
    assert len(start.rows_) == 270  # 300 rows less the 10% validation split
    training = {tuple(row) for row in np.float32(X).astype(np.float64).round(6)}
    assert {tuple(row) for row in start.rows_.round(6)} < training
    vae.module_.load_state_dict(start.weights_)
    on_training_rows = PCA(n_components=2).fit(start.rows_).score(X)
    assert vae.score(X) == pytest.approx(on_training_rows, abs=1e-4)
    assert abs(vae.score(X) - PCA(n_components=2).fit(X).score(X)) > 1e-3  # not all rows' PCA


@pytest.mark.parametrize("noise_variance", ["learned", "learned_per_feature"])
def test_save_load_keeps_the_tail_and_reads_files_without_it(tmp_path, far_rows_fit, noise_variance):
    X = StandardScaler().fit_transform(nearly_constant_table(200))
    vae = VariationalAE(n_components=2, noise_variance=noise_variance, max_iter=3, **SMALL).fit(X)
    vae.module_.noise_contamination.fill_(0.01)
    skae.save(vae, tmp_path / "vae.skae")
    loaded = skae.load(tmp_path / "vae.skae")
    np.testing.assert_array_equal(loaded.score_samples(X), vae.score_samples(X))
    # A state dict written before the tail existed loads as a plain Gaussian.
    state = {k: v for k, v in vae.module_.state_dict().items() if k != "noise_contamination"}
    loaded.module_.load_state_dict(state)
    assert float(loaded.module_.noise_contamination) == 0.0


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize("noise_variance", ["learned", "learned_per_feature"])
def test_all_constant_features_give_a_valid_model(noise_variance):
    X = np.full((60, 3), 2.0)
    vae = VariationalAE(n_components=2, noise_variance=noise_variance, max_iter=3, **SMALL).fit(X)
    codes = vae.transform(X)
    assert codes.shape == (60, 2) and np.all(np.isfinite(codes))
    assert np.ptp(codes, axis=0).max() < 1e-6  # nothing to encode
    scores = vae.score_samples(np.array([[2.0, 2.0, 2.0], [2.0, 2.0, 3.0]]))
    assert np.all(np.isfinite(scores)) and scores[0] > scores[1]
    np.testing.assert_allclose(vae.inverse_transform(codes), X, atol=1e-5)
    assert np.all(np.isfinite(vae.sample(4, random_state=0, add_noise=True)))


def test_as_many_components_as_features_is_the_full_covariance_gaussian_at_the_start():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4)) + 1.0
    vae = VariationalAE(
        n_components=4, n_iter_no_change=1, tol=1e9, early_stopping=True,
        callbacks=[("start", RecordStart())], **SMALL,
    ).fit(X)
    start = dict(vae.net_.callbacks_)["start"]
    vae.module_.load_state_dict(start.weights_)
    rows = start.rows_
    gaussian = multivariate_normal(rows.mean(0), np.cov(rows, rowvar=False))  # ddof=1, as PCA
    # k = d: no discarded direction, the noise variance at its floor and the model's
    # covariance W W^T + s2 I that of the training rows.
    np.testing.assert_allclose(vae.score_samples(X), gaussian.logpdf(X), rtol=1e-3, atol=1e-3)
    trained = VariationalAE(n_components=4, max_iter=10, **SMALL).fit(X)
    assert trained.transform(X).shape == (300, 4) and np.isfinite(trained.score(X))
