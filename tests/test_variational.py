"""VariationalAE: the calibrated likelihood, the PCA start, the bounds, sampling and warm-up."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

import skae
from skae import VariationalAE
from skae.nn import VariationalAutoencoder, make_mlp
from skae.penalties import kl_standard_normal
from skae.variational import gaussian_log_likelihood, posterior_expectation

SMALL = dict(hidden_layer_sizes=(32,), batch_size=64, random_state=0)
# Stops after the first epoch.
START = dict(n_iter_no_change=1, tol=1e9)


class RecordStart(Callback):
    """Records the starting weights and the rows a fit trains on (the start is fitted on them)."""

    def on_train_begin(self, net, X=None, **kwargs):
        self.rows_ = X.detach().double().cpu().numpy()
        self.weights_ = {name: value.clone() for name, value in net.module_.state_dict().items()}


def fit_and_pca(X, n_components=2, **params):
    """A VariationalAE fitted on X and set back to its start, and PCA fitted on its training rows.

    Whether early stopping keeps the start depends on the validation rows (the first
    epoch's noise variance may suit them better); the start itself is what is tested.
    With a validation split (``early_stopping=True``, what ``"auto"`` takes from about
    1,000 rows), whatever the size of X.
    """
    params.setdefault("early_stopping", True)
    vae = VariationalAE(n_components=n_components, callbacks=[("start", RecordStart())], **params).fit(X)
    start = dict(vae.net_.callbacks_)["start"]
    vae.net_.module_.load_state_dict(start.weights_)
    return vae, PCA(n_components=n_components).fit(start.rows_)


def manifold(n_samples, seed):
    """Rows near a curved 2-D manifold in 10 dimensions."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(-2, 2, size=(n_samples, 2))
    mixing = np.random.RandomState(1).normal(size=(4, 10))
    return np.hstack([t, np.sin(t)]) @ mixing + 0.1 * rng.normal(size=(n_samples, 10))


def gaussian_rows(n_samples=300, seed=0):
    """Correlated Gaussian rows in 6 dimensions, off-center, variances far from 1."""
    rng = np.random.RandomState(seed)
    return 3.0 + rng.normal(size=(n_samples, 6)) @ rng.normal(scale=2.0, size=(6, 6))


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


# ------------------------------------------------------------ the PCA start
@pytest.mark.parametrize("hidden", [(), (16,)])
@pytest.mark.parametrize("noise_variance", ["learned", "learned_per_feature"])
def test_pca_start_is_probabilistic_pca_noise_variance_included(hidden, noise_variance):
    X = gaussian_rows()
    vae, pca = fit_and_pca(X, hidden_layer_sizes=hidden, noise_variance=noise_variance, random_state=0, **START)
    np.testing.assert_allclose(vae.noise_variance_, pca.noise_variance_, rtol=1e-6)
    # The ELBO of the start is PPCA's exact log-likelihood (the posterior is exact
    # and the cubature exact for a linear decoder), and so is every importance
    # weight, whatever the draws.
    expected = pca.score_samples(X)
    np.testing.assert_allclose(vae.score_samples(X), expected, rtol=1e-4, atol=1e-4)
    for n in (1, 7):
        np.testing.assert_allclose(
            vae.score_samples(X, n_importance_samples=n, random_state=n), expected, rtol=1e-4, atol=1e-4
        )
    assert vae.score(X) == pytest.approx(pca.score(X), abs=1e-4)


def test_pca_start_weights_are_tipping_and_bishops_solution():
    X = gaussian_rows()
    vae, pca = fit_and_pca(X, hidden_layer_sizes=(), random_state=0, **START)
    eigenvalues, noise = pca.explained_variance_, pca.noise_variance_
    weight = vae.module_.decoder[0].weight.detach().double().numpy()  # (n_features, 2)
    np.testing.assert_allclose(
        np.abs(weight.T @ pca.components_.T), np.diag(np.sqrt(eigenvalues - noise)), rtol=1e-5, atol=1e-5
    )
    _, log_var = posterior(vae, X)  # the posterior variance sigma^2 / lambda_j, the same for every row
    np.testing.assert_allclose(np.exp(log_var), np.broadcast_to(noise / eigenvalues, log_var.shape), rtol=1e-5)


def test_early_stopping_returns_the_pca_start_when_training_only_hurts():
    """A learning rate far too high makes every epoch worse on the validation rows than
    the start: the estimator returns probabilistic PCA, noise variance included."""
    X = gaussian_rows(400)
    vae, pca = fit_and_pca(
        X, hidden_layer_sizes=(32,), batch_size=64, learning_rate_init=0.2, max_iter=40, random_state=0
    )
    assert min(vae.loss_curve_) > -pca.score(X)  # every epoch did worse than the start
    np.testing.assert_allclose(vae.score_samples(X), pca.score_samples(X), rtol=1e-4, atol=1e-4)
    assert vae.noise_variance_ == pytest.approx(pca.noise_variance_, rel=1e-6)


def test_by_default_a_small_table_whose_training_only_hurts_gets_all_rows_pca():
    """Below 100 validation rows the default cross-validates the training length: when every
    epoch is worse than the start on the folds, the model is probabilistic PCA of all rows
    (not of 90% of them, as with a split), noise variance included."""
    X = gaussian_rows(400)
    vae = VariationalAE(n_components=2, hidden_layer_sizes=(32,), batch_size=64,
                        learning_rate_init=0.2, max_iter=40, random_state=0).fit(X)
    pca = PCA(n_components=2).fit(X)
    np.testing.assert_allclose(vae.score_samples(X), pca.score_samples(X), rtol=1e-4, atol=1e-4)
    assert vae.noise_variance_ == pytest.approx(pca.noise_variance_, rel=1e-5)


def test_from_a_thousand_rows_the_default_is_the_validation_split(train_test):
    X_train, X_test = train_test
    settings = dict(n_components=2, max_iter=2, **SMALL)
    default = VariationalAE(**settings).fit(X_train)
    split = VariationalAE(early_stopping=True, **settings).fit(X_train)
    np.testing.assert_array_equal(default.score_samples(X_test), split.score_samples(X_test))


def test_training_improves_the_held_out_elbo_over_the_pca_start(train_test):
    X_train, X_test = train_test
    trained = VariationalAE(n_components=2, max_iter=40, **SMALL).fit(X_train)
    assert trained.score(X_test) > PCA(n_components=2).fit(X_train).score(X_test) + 0.05


def test_digits_in_the_unit_interval_do_not_collapse():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)

    def codes_and_accuracy(vae):
        vae.fit(X_train)
        codes = vae.transform(X_test)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        return codes, model.fit(vae.transform(X_train), y_train).score(codes, y_test)

    settings = dict(n_components=2, hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    codes, calibrated_accuracy = codes_and_accuracy(VariationalAE(**settings))
    # Both units carry information (the prior's variance is 1; a collapsed unit's
    # posterior mean is constant) and the codes classify far above chance (0.1).
    assert np.all(codes.var(0) > 0.3), codes.var(0)
    assert calibrated_accuracy > 0.5
    # The unit-variance Gaussian of loss="mse" before the calibrated decoder collapses:
    # posterior means within 1e-3 of a constant (what is left of the rows, rescaled by
    # the StandardScaler, still classifies worse than the calibrated code).
    codes, accuracy = codes_and_accuracy(VariationalAE(noise_variance=1.0, **settings))
    assert np.all(codes.var(0) < 1e-3) and accuracy < calibrated_accuracy - 0.1


def test_the_elbo_is_in_the_units_of_the_data():
    """Scaling the data by c shifts PCA's and the VAE's start log-density alike, by -d log c."""
    X = gaussian_rows()
    scores = [fit_and_pca(c * X, random_state=0, **START)[0].score(c * X) for c in (1.0, 1e-3)]
    assert scores[1] - scores[0] == pytest.approx(-X.shape[1] * math.log(1e-3), rel=1e-5)


# --------------------------------------------------------- the noise variance
def test_learned_noise_variance_is_the_mean_squared_residual(train_test):
    X_train, _ = train_test
    vae = VariationalAE(n_components=2, max_iter=15, early_stopping=False, **SMALL).fit(X_train)
    X = torch.as_tensor(X_train, dtype=torch.float32)
    with torch.no_grad():
        mean, log_var = vae.module_.posterior(X)
        residual = posterior_expectation(lambda z: (vae.module_.decode(z) - X).pow(2).mean(1), mean, log_var)
    # The last epoch's pooled estimate, from weights that moved during the epoch.
    assert vae.noise_variance_ == pytest.approx(float(residual.mean()), rel=0.1)
    assert vae.history_[-1, "noise_variance"] == pytest.approx(vae.noise_variance_)
    assert vae.noise_variance_ < PCA(n_components=2).fit(X_train).noise_variance_


def test_kept_epochs_noise_variance_is_raised_to_the_validation_residual():
    """A network that fits its 270 training rows closely underestimates new rows' residual;
    the variance kept is the validation rows' (larger) mean squared residual."""
    X = StandardScaler().fit_transform(manifold(300, seed=0))
    vae = VariationalAE(
        n_components=2, hidden_layer_sizes=(64, 64), batch_size=32, max_iter=40, random_state=0,
        early_stopping=True,
    ).fit(X)
    kept = dict(vae.net_.callbacks_)["early_stopping"].best_epoch_
    assert kept > 0
    training_estimate = vae.history_[kept - 1, "noise_variance"]
    assert vae.noise_variance_ > 1.05 * training_estimate
    torch.testing.assert_close(vae.module_.noise_variance, torch.tensor([vae.noise_variance_]))


def test_update_noise_variance_pools_an_epochs_batches_and_respects_the_floor():
    module = VariationalAutoencoder(
        make_mlp([3, 4]), make_mlp([2, 3]), torch.ones(3), noise_variance_floor=0.5
    )
    first, second = torch.tensor([[1.0, 0.0, 4.0]]), torch.tensor([[3.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    module.update_noise_variance(first, epoch=1)
    pooled = module.update_noise_variance(second, epoch=1)
    torch.testing.assert_close(pooled, torch.tensor([2.0, 0.5, 2.0]))  # column means, floor 0.5
    fresh = module.update_noise_variance(second, epoch=2)  # a new epoch starts afresh
    torch.testing.assert_close(fresh, torch.tensor([2.5, 0.5, 1.0]))
    shared = VariationalAutoencoder(make_mlp([3, 4]), make_mlp([2, 3]), torch.ones(1))
    torch.testing.assert_close(shared.update_noise_variance(second, epoch=1), torch.tensor([7.0 / 6.0]))


def test_constant_features_get_a_finite_density_at_the_floor():
    X = gaussian_rows()
    X[:, 2] = 5.0  # constant
    vae = VariationalAE(
        n_components=2, noise_variance="learned_per_feature", max_iter=5,
        callbacks=[("start", RecordStart())], **SMALL,
    ).fit(X)
    floor = 1e-6 * np.var(dict(vae.net_.callbacks_)["start"].rows_, axis=0).mean()  # of the training rows
    scores = vae.score_samples(X)
    assert np.all(np.isfinite(scores))
    assert vae.noise_variance_.shape == (6,) and np.all(vae.noise_variance_ >= floor * (1 - 1e-6))
    assert vae.noise_variance_[2] == pytest.approx(floor, rel=1e-3)
    # All constant: no variance to scale the floor by, an absolute 1e-6 then.
    flat = VariationalAE(n_components=1, max_iter=2, **SMALL).fit(np.ones((40, 3)))
    assert np.all(np.isfinite(flat.score_samples(np.ones((5, 3)))))
    assert flat.noise_variance_ == pytest.approx(1e-6, rel=1e-6)


def test_fixed_noise_variance_is_kept_and_reported(train_test):
    X_train, _ = train_test
    vae = VariationalAE(n_components=2, noise_variance=0.5, max_iter=3, **SMALL).fit(X_train)
    assert vae.noise_variance_ == 0.5
    assert "noise_variance" not in vae.history_[-1]


@pytest.mark.parametrize("noise_variance", ["learned", "learned_per_feature"])
def test_save_load_round_trips_the_learned_noise_variance(train_test, tmp_path, noise_variance):
    X_train, X_test = train_test
    vae = VariationalAE(n_components=2, noise_variance=noise_variance, max_iter=3, **SMALL).fit(X_train)
    skae.save(vae, tmp_path / "vae.skae")
    loaded = skae.load(tmp_path / "vae.skae")
    np.testing.assert_array_equal(loaded.noise_variance_, vae.noise_variance_)
    torch.testing.assert_close(loaded.module_.noise_variance, vae.module_.noise_variance)
    np.testing.assert_array_equal(loaded.score_samples(X_test), vae.score_samples(X_test))
    # Training continues from the saved variance, exactly as the original would.
    vae.partial_fit(X_train)
    loaded.partial_fit(X_train)
    np.testing.assert_array_equal(loaded.noise_variance_, vae.noise_variance_)


# ------------------------------------------------------ the hand-derived pieces
def test_kl_and_gaussian_log_likelihood_match_torch_distributions():
    rng = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(5, 3, generator=rng), torch.randn(5, 3, generator=rng)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    prior = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(q, prior).sum(1)
    torch.testing.assert_close(kl_standard_normal(mean, log_var, reduction="none"), expected)
    # Gradients too.
    mean.requires_grad_(True)
    log_var.requires_grad_(True)
    mine = torch.autograd.grad(kl_standard_normal(mean, log_var), (mean, log_var))
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    theirs = torch.autograd.grad(torch.distributions.kl_divergence(q, prior).sum(1).mean(), (mean, log_var))
    for a, b in zip(mine, theirs):
        torch.testing.assert_close(a, b)
    X, reconstruction = torch.randn(5, 4, generator=rng), torch.randn(5, 4, generator=rng)
    for variance in (torch.tensor([0.3]), torch.tensor([0.1, 1.0, 2.0, 5.0])):
        normal = torch.distributions.Normal(reconstruction, variance.sqrt())
        torch.testing.assert_close(
            gaussian_log_likelihood(reconstruction, X, variance), normal.log_prob(X).sum(1)
        )


def test_posterior_expectation_is_exact_to_degree_three_and_close_otherwise():
    rng = torch.Generator().manual_seed(0)
    mean = torch.randn(4, 3, generator=rng, dtype=torch.float64)
    log_var = torch.randn(4, 3, generator=rng, dtype=torch.float64) - 1.5  # posteriors narrower than the prior
    variance = log_var.exp()

    def cubic(z):
        return (z**3).sum(1) + 2.0 * z[:, 0] * z[:, 1] - z[:, 2] ** 2

    exact = (mean**3 + 3 * mean * variance).sum(1) + 2.0 * mean[:, 0] * mean[:, 1] - (mean[:, 2] ** 2 + variance[:, 2])
    torch.testing.assert_close(posterior_expectation(cubic, mean, log_var), exact)
    # A smooth non-polynomial function: close to a large Monte Carlo average.
    draws = mean + variance.sqrt() * torch.randn(200_000, 4, 3, generator=rng, dtype=torch.float64)
    monte_carlo = torch.tanh(draws).sum(2).mean(0)
    cubature = posterior_expectation(lambda z: torch.tanh(z).sum(1), mean, log_var)
    torch.testing.assert_close(cubature, monte_carlo, atol=0.05, rtol=0)


def test_importance_weighted_bound_tightens_with_more_samples(fitted, train_test):
    _, X_test = train_test
    bounds = [fitted.score(X_test, n_importance_samples=n) for n in (1, 8, 64)]
    assert bounds[0] < bounds[1] < bounds[2]
    assert abs(bounds[0] - fitted.score(X_test)) < 0.5  # one draw: a noisy ELBO
    # Deterministic with the default seed, and each row's bound ignores the others.
    scores = fitted.score_samples(X_test, n_importance_samples=8)
    np.testing.assert_array_equal(scores, fitted.score_samples(X_test, n_importance_samples=8))
    # Scored by a float64 copy of the network: another batch moves a bound by rounding
    # only (about 1e-15 relative), far inside 1e-9 on any CPU; float32 moved it by 1e-8.
    np.testing.assert_allclose(
        fitted.score_samples(X_test[:7], n_importance_samples=8), scores[:7], rtol=1e-9, atol=0
    )
    with pytest.raises(InvalidParameterError, match="n_importance_samples"):
        fitted.score_samples(X_test, n_importance_samples=0)


# ---------------------------------------------------------------- the scores
def test_score_samples_is_a_deterministic_float64_density_score(fitted, train_test):
    _, X_test = train_test
    scores = fitted.score_samples(X_test)
    assert scores.dtype == np.float64 and scores.shape == (len(X_test),)
    np.testing.assert_array_equal(scores, fitted.score_samples(X_test))
    # Rows off the manifold are less typical than rows on it.
    off = X_test + np.random.RandomState(0).normal(scale=2.0, size=X_test.shape)
    assert np.mean(fitted.score_samples(off) < np.median(scores)) > 0.9
    assert fitted.score(X_test) == pytest.approx(np.mean(scores))


def test_held_out_kl_positive_and_aggregate_posterior_near_the_prior(fitted, train_test):
    _, X_test = train_test
    assert held_out_kl(fitted, X_test) > 0.5
    mean, log_var = posterior(fitted, X_test)
    assert np.all(np.abs(mean.mean(0)) < 0.25)
    total_variance = mean.var(0) + np.exp(log_var).mean(0)
    assert np.all(np.abs(total_variance - 1) < 0.5), total_variance
    codes = fitted.transform(X_test)
    np.testing.assert_allclose(codes, mean, rtol=1e-6, atol=1e-6)


def test_larger_beta_gives_a_less_informative_code(fitted, train_test):
    X_train, X_test = train_test
    strong = VariationalAE(n_components=2, beta=4.0, max_iter=40, **SMALL).fit(X_train)
    assert held_out_kl(strong, X_test) < 0.6 * held_out_kl(fitted, X_test)


def test_bernoulli_likelihood_on_unit_interval_data():
    # MinMaxScaler may overshoot 1 by one ulp in float64.
    X = np.clip(MinMaxScaler().fit_transform(manifold(300, seed=0)), 0, 1)
    vae = VariationalAE(n_components=2, loss="bce", max_iter=5, **SMALL).fit(X)
    scores = vae.score_samples(X)
    # A Bernoulli log-likelihood of values in [0, 1] is at most 0: the ELBO too.
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert not hasattr(vae, "noise_variance_")
    samples = vae.sample(10, random_state=0)
    assert np.all((samples >= 0) & (samples <= 1))
    draws = vae.sample(200, random_state=0, add_noise=True)
    assert set(np.unique(draws)) == {0.0, 1.0}


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_infinity_get_the_usual_clear_errors(fitted, train_test, bad):
    X_train, X_test = train_test
    X_bad = X_test.copy()
    X_bad[3, 1] = bad
    match = "NaN" if np.isnan(bad) else "infinity"
    with pytest.raises(ValueError, match=match):
        VariationalAE(n_components=2, max_iter=1, **SMALL).fit(np.vstack([X_train, X_bad]))
    for call in (fitted.score_samples, lambda X: fitted.score_samples(X, n_importance_samples=4)):
        with pytest.raises(ValueError, match=match):
            call(X_bad)


# ------------------------------------------------------------------ sampling
def test_samples_with_noise_have_the_models_covariance():
    """At the PCA start, x = W z + mean + noise: the samples' covariance is PCA's."""
    X = gaussian_rows(2000)
    vae, pca = fit_and_pca(X, hidden_layer_sizes=(), random_state=0, **START)
    noisy = vae.sample(40_000, random_state=0, add_noise=True)
    np.testing.assert_allclose(np.cov(noisy.T), pca.get_covariance(), atol=0.1 * np.abs(pca.get_covariance()).max())
    means = vae.sample(1000, random_state=0)
    singular_values = np.linalg.svd(means - means.mean(0), compute_uv=False)
    assert singular_values[2] < 1e-3 * singular_values[0]  # noise-free: on the 2-D subspace


def test_sample_shape_and_reproducibility(fitted):
    first = fitted.sample(7, random_state=3)
    assert first.shape == (7, 10) and first.dtype == np.float32
    np.testing.assert_array_equal(first, fitted.sample(7, random_state=3))
    assert not np.allclose(first, fitted.sample(7, random_state=4))
    assert fitted.sample().shape == (1, 10)
    noisy = fitted.sample(7, random_state=3, add_noise=True)
    assert noisy.dtype == np.float32 and not np.allclose(noisy, first)


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
    vae = VariationalAE(n_components=1, max_iter=100, **SMALL).fit(X)
    distances = np.linalg.norm(vae.sample(500, random_state=0)[:, None, :] - centers, axis=2)
    # Most samples lie within 1.5 of a center (less than 0.3 of the gap), not
    # in between, and both clusters are sampled.
    assert np.mean(distances.min(1) < 1.5) > 0.6
    assert 1.5 < 0.3 * gap
    assert np.all(np.bincount(distances.argmin(1), minlength=2) > 0.3 * 500)


# ------------------------------------------------------- warm-up and stopping
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


def test_auto_patience_is_at_least_300_optimizer_steps(train_test):
    X_train, _ = train_test
    settings = dict(n_components=2, max_iter=500, tol=1e9, **SMALL)
    # 900 training rows in batches of 64: 15 steps per epoch, 20 epochs of patience.
    assert VariationalAE(**settings).fit(X_train).n_iter_ == 20
    assert VariationalAE(**{**settings, "batch_size": 900}).fit(X_train).n_iter_ == 300
    assert VariationalAE(**{**settings, "batch_size": 8}).fit(X_train).n_iter_ == 10


def test_noise_variance_is_part_of_the_architecture(train_test):
    X_train, _ = train_test
    vae = VariationalAE(n_components=2, max_iter=2, warm_start=True, **SMALL).fit(X_train)
    with pytest.raises(ValueError, match="noise_variance"):
        vae.set_params(noise_variance="learned_per_feature").fit(X_train)


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

    def recording(self, epoch):
        weight = kl_weight(self, epoch)
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
    for bad in ("spherical", 0.0, -1.0):
        with pytest.raises(InvalidParameterError, match="noise_variance"):
            VariationalAE(noise_variance=bad).fit(X)
    with pytest.raises(InvalidParameterError, match="n_iter_no_change"):
        VariationalAE(n_iter_no_change="never").fit(X)
    with pytest.raises(InvalidParameterError, match="n_samples"):
        fitted.sample(0)
    with pytest.raises(InvalidParameterError, match="add_noise"):
        fitted.sample(2, add_noise="yes")
    with pytest.raises(NotFittedError):
        VariationalAE().sample(2)
