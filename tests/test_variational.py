"""VariationalAE: the ELBO's scale, the code's prior, sampling, warm-up and the PCA start."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skae import VariationalAE

SMALL = dict(hidden_layer_sizes=(32,), batch_size=64, random_state=0)


def manifold(n_samples, seed):
    """Rows near a curved 2-D manifold in 10 dimensions."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(-2, 2, size=(n_samples, 2))
    mixing = np.random.RandomState(1).normal(size=(4, 10))
    return np.hstack([t, np.sin(t)]) @ mixing + 0.1 * rng.normal(size=(n_samples, 10))


@pytest.fixture(scope="module")
def train_test():
    scaler = StandardScaler().fit(manifold(1000, seed=0))
    return scaler.transform(manifold(1000, seed=0)), scaler.transform(manifold(500, seed=2))


@pytest.fixture(scope="module")
def fitted(train_test):
    X_train, _ = train_test
    return VariationalAE(n_components=2, max_iter=40, **SMALL).fit(X_train)


def posterior(vae, X):
    with torch.no_grad():
        mean, log_var = vae.module_.posterior(torch.as_tensor(X, dtype=torch.float32))
    return mean.double().numpy(), log_var.double().numpy()


def held_out_kl(vae, X):
    mean, log_var = posterior(vae, X)
    return float(np.mean(0.5 * (mean**2 + np.exp(log_var) - 1 - log_var).sum(1)))


def test_held_out_kl_positive_and_aggregate_posterior_standard_normal(fitted, train_test):
    _, X_test = train_test
    # The code carries information about the row: well above 0 nats.
    assert held_out_kl(fitted, X_test) > 0.5
    # The aggregate posterior (mixture of the rows' posteriors) matches the
    # N(0, I) prior: per unit, mean of the posterior means within 0.15 of 0 and
    # total variance (variance of the means + mean posterior variance) within
    # 0.2 of 1.
    mean, log_var = posterior(fitted, X_test)
    assert np.all(np.abs(mean.mean(0)) < 0.15)
    total_variance = mean.var(0) + np.exp(log_var).mean(0)
    assert np.all(np.abs(total_variance - 1) < 0.2), total_variance
    # transform returns the posterior mean, deterministically.
    codes = fitted.transform(X_test)
    np.testing.assert_allclose(codes, mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(codes, fitted.transform(X_test))


def test_larger_beta_gives_a_less_informative_code(fitted, train_test):
    X_train, X_test = train_test
    strong = VariationalAE(n_components=2, beta=4.0, max_iter=40, **SMALL).fit(X_train)
    assert held_out_kl(strong, X_test) < 0.6 * held_out_kl(fitted, X_test)


def test_pca_start_is_probabilistic_pca_and_score_is_elbo_in_nats(train_test):
    """A linear VAE starts at the optimum of its ELBO, where the posterior is exact."""
    X, _ = train_test
    vae = VariationalAE(
        n_components=2, hidden_layer_sizes=(), max_iter=1, learning_rate_init=1e-12, random_state=0
    ).fit(X)
    pca = PCA(n_components=2).fit(X)
    eigenvalues = pca.explained_variance_
    assert np.all(eigenvalues > 1)
    # Decoder: PCA's directions scaled by sqrt(lambda - 1).
    weight = vae.module_.decoder[0].weight.detach().double().numpy()  # (n_features, 2)
    np.testing.assert_allclose(np.abs(weight.T @ pca.components_.T), np.diag(np.sqrt(eigenvalues - 1)), atol=1e-4)
    # Posterior variance 1 / lambda; aggregate posterior exactly N(0, I) on the data.
    mean, log_var = posterior(vae, X)
    np.testing.assert_allclose(np.exp(log_var), np.broadcast_to(1 / eigenvalues, log_var.shape), rtol=1e-4)
    np.testing.assert_allclose(mean.var(0, ddof=1) + np.exp(log_var).mean(0), 1.0, rtol=1e-3)
    # With the exact posterior the ELBO is log p(x) under PPCA with unit noise;
    # the plug-in reconstruction term (at the posterior mean) adds
    # 0.5 * sum_j (lambda_j - 1) / lambda_j.
    covariance = pca.components_.T @ np.diag(eigenvalues - 1) @ pca.components_ + np.eye(X.shape[1])
    log_density = multivariate_normal(pca.mean_, covariance).logpdf(X)
    plug_in_gap = 0.5 * np.sum((eigenvalues - 1) / eigenvalues)
    np.testing.assert_allclose(vae.score_samples(X), log_density + plug_in_gap, rtol=1e-4, atol=1e-3)


def test_training_improves_the_elbo_over_the_pca_start(train_test):
    X_train, X_test = train_test
    start = VariationalAE(n_components=2, max_iter=1, learning_rate_init=1e-12, **SMALL).fit(X_train)
    trained = VariationalAE(n_components=2, max_iter=40, **SMALL).fit(X_train)
    assert trained.score(X_test) > start.score(X_test) + 0.05


def test_score_samples_is_a_deterministic_float64_density_score(fitted, train_test):
    _, X_test = train_test
    scores = fitted.score_samples(X_test)
    assert scores.dtype == np.float64 and scores.shape == (len(X_test),)
    np.testing.assert_array_equal(scores, fitted.score_samples(X_test))
    # Rows off the manifold are less typical than rows on it.
    off = X_test + np.random.RandomState(0).normal(scale=2.0, size=X_test.shape)
    assert np.mean(fitted.score_samples(off) < np.median(scores)) > 0.9
    assert fitted.score(X_test) == pytest.approx(np.mean(scores))


def test_bernoulli_likelihood_on_unit_interval_data():
    # MinMaxScaler may overshoot 1 by one ulp in float64.
    X = np.clip(MinMaxScaler().fit_transform(manifold(300, seed=0)), 0, 1)
    vae = VariationalAE(n_components=2, loss="bce", max_iter=5, **SMALL).fit(X)
    scores = vae.score_samples(X)
    # A Bernoulli log-likelihood of values in [0, 1] is at most 0: the ELBO too.
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert np.all((vae.sample(10, random_state=0) >= 0) & (vae.sample(10, random_state=0) <= 1))


def test_sample_shape_and_reproducibility(fitted):
    first = fitted.sample(7, random_state=3)
    assert first.shape == (7, 10) and first.dtype == np.float32
    np.testing.assert_array_equal(first, fitted.sample(7, random_state=3))
    assert not np.allclose(first, fitted.sample(7, random_state=4))
    assert fitted.sample().shape == (1, 10)


def test_sample_returns_dataframe_with_original_columns(train_test):
    X_train, _ = train_test
    columns = [f"f{i}" for i in range(X_train.shape[1])]
    vae = VariationalAE(n_components=2, max_iter=3, **SMALL).set_output(transform="pandas")
    vae.fit(pd.DataFrame(X_train, columns=columns))
    samples = vae.sample(4, random_state=0)
    assert isinstance(samples, pd.DataFrame)
    assert list(samples.columns) == columns and samples.shape == (4, 10)


def test_samples_land_near_the_two_clusters():
    rng = np.random.RandomState(0)
    labels = rng.randint(2, size=600)
    X = StandardScaler().fit_transform(np.where(labels[:, None] == 1, 3.0, -3.0) + rng.normal(size=(600, 8)))
    centers = np.array([X[labels == k].mean(0) for k in (0, 1)])
    gap = np.linalg.norm(centers[0] - centers[1])  # about 5.4
    vae = VariationalAE(n_components=1, max_iter=60, **SMALL).fit(X)
    distances = np.linalg.norm(vae.sample(500, random_state=0)[:, None, :] - centers, axis=2)
    # Most samples lie within 1.5 of a center (less than 0.3 of the gap), not
    # in between, and both clusters are sampled.
    assert np.mean(distances.min(1) < 1.5) > 0.7
    assert 1.5 < 0.3 * gap
    assert np.all(np.bincount(distances.argmin(1), minlength=2) > 0.3 * 500)


@pytest.mark.parametrize("early_stopping, n_iter", [(False, 2), (True, 1)])
def test_kl_warmup_delays_early_stopping(train_test, early_stopping, n_iter):
    X_train, _ = train_test
    # With a huge tol the monitored loss never counts as improved (the
    # validation loss is compared from the starting weights on, the training
    # loss from the first epoch on), so training stops at the first miss.
    settings = dict(
        n_components=2, max_iter=20, n_iter_no_change=1, tol=1e9, early_stopping=early_stopping, **SMALL
    )
    assert VariationalAE(**settings).fit(X_train).n_iter_ == n_iter
    # Misses during the 5 warm-up epochs do not count.
    assert VariationalAE(kl_warmup=5, **settings).fit(X_train).n_iter_ == n_iter + 5


def test_kl_warmup_starts_without_kl(train_test):
    X_train, X_test = train_test
    # One epoch at KL weight 0 leaves the code freer (larger KL) than one epoch
    # of the full ELBO, from the same start.
    settings = dict(n_components=2, max_iter=1, learning_rate_init=1e-2, early_stopping=False, **SMALL)
    free = VariationalAE(kl_warmup=10, **settings).fit(X_train)
    full = VariationalAE(**settings).fit(X_train)
    assert held_out_kl(free, X_test) > held_out_kl(full, X_test)


def test_partial_fit_continues_the_warmup(train_test, monkeypatch):
    X_train, _ = train_test
    weights = []  # the KL weight of each training batch, by call
    kl_weight = VariationalAE._kl_weight

    def recording(self):
        weight = kl_weight(self)
        if self.net_.module_.training:
            weights[-1].add(weight)
        return weight

    monkeypatch.setattr(VariationalAE, "_kl_weight", recording)
    vae = VariationalAE(n_components=2, kl_warmup=3, **SMALL)
    for _ in range(4):
        weights.append(set())
        vae.partial_fit(X_train)
    assert vae.n_iter_ == 4 and len(vae.loss_curve_) == 4
    # Each call takes the warm-up's next step from where the previous call ended.
    assert weights == [{0.0}, {1 / 3}, {2 / 3}, {1.0}]
    assert np.all(np.isfinite(vae.score_samples(X_train)))


def test_bad_parameters_and_unfitted_sample(fitted):
    X = np.zeros((10, 3))
    with pytest.raises(InvalidParameterError, match="beta"):
        VariationalAE(beta=-1.0).fit(X)
    with pytest.raises(InvalidParameterError, match="kl_warmup"):
        VariationalAE(kl_warmup=1.5).fit(X)
    with pytest.raises(InvalidParameterError, match="n_samples"):
        fitted.sample(0)
    with pytest.raises(NotFittedError):
        VariationalAE().sample(2)
