"""Greedy layer-wise pretraining (pretraining="layerwise") on skae autoencoders."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from skae import AutoencoderTransformer, VariationalAE


@pytest.fixture(scope="module")
def X():
    return MinMaxScaler().fit_transform(load_digits().data[:600]).astype(np.float32)


def _deep(**kwargs):
    params = dict(
        n_components=6,
        hidden_layer_sizes=(32, 16),
        init="random",
        pretraining="layerwise",
        pretraining_max_iter=8,
        max_iter=4,
        batch_size=32,
        early_stopping=False,
        random_state=0,
    )
    return AutoencoderTransformer(**{**params, **kwargs})


class StartReconstruction(Callback):
    """Records the network's reconstruction of ``X`` when fine-tuning starts."""

    def __init__(self, X):
        self.X = X

    def on_train_begin(self, net, **kwargs):
        with torch.no_grad():
            net.module_.eval()
            self.reconstruction_ = net.module_(torch.as_tensor(self.X))[0].numpy()


def test_each_layer_shallow_loss_goes_down(X):
    ae = _deep().fit(X)
    curves = ae.pretraining_loss_curves_
    assert len(curves) == 3  # 64 -> 32 -> 16 -> 6, one shallow autoencoder each
    for curve in curves:
        assert len(curve) == 8
        assert curve[-1] < 0.9 * curve[0]


def test_history_records_both_phases(X):
    ae = _deep().fit(X)
    greedy = [v for curve in ae.pretraining_loss_curves_ for v in curve]
    assert ae.loss_curve_[: len(greedy)] == greedy
    assert len(ae.loss_curve_) == len(greedy) + 4 == ae.n_iter_
    rows = list(ae.history_)
    assert [r.get("phase") for r in rows[: len(greedy)]] == ["pretraining"] * len(greedy)
    assert [r["layer"] for r in rows[: len(greedy)]] == [0] * 8 + [1] * 8 + [2] * 8
    assert all("phase" not in r for r in rows[len(greedy) :])


def test_pretrained_model_works_like_any_autoencoder(X):
    ae = _deep(max_iter=20).fit(X)
    codes = ae.transform(X)
    assert codes.shape == (len(X), 6)
    assert ae.inverse_transform(codes).shape == X.shape
    # Better than reconstructing every row by the mean.
    assert ae.score(X) > -0.8 * X.var(axis=0).mean()
    np.testing.assert_array_equal(_deep(max_iter=20).fit(X).transform(X), codes)


def _start(ae):
    """The reconstruction recorded by the (copied) StartReconstruction callback."""
    return dict(ae.net_.callbacks_)["user_0"].reconstruction_


def test_pretraining_changes_the_start_of_training(X):
    start = _start(_deep(callbacks=[StartReconstruction(X)], max_iter=1).fit(X))
    plain = _start(_deep(callbacks=[StartReconstruction(X)], max_iter=1, pretraining=None).fit(X))
    error = lambda rec: np.mean((rec - X) ** 2)  # noqa: E731
    # Stacked shallow autoencoders already reconstruct; a random network does not.
    assert error(start) < 0.8 * error(plain)


def test_pca_init_pretrains_hidden_layers_and_starts_at_pca(X):
    ae = _deep(init="pca", callbacks=[StartReconstruction(X)]).fit(X)
    assert len(ae.pretraining_loss_curves_) == 2  # the hidden layers; the code is PCA's
    pca = PCA(6).fit(X)
    np.testing.assert_allclose(_start(ae), pca.inverse_transform(pca.transform(X)), atol=1e-4)
    hidden = ae.module_.encoder.mlp[0].weight.detach()
    fresh = _deep(init="pca", pretraining=None, max_iter=1).fit(X)
    assert not torch.allclose(hidden, fresh.module_.encoder.mlp[0].weight.detach())


def test_variational_pretrains_hidden_layers(X):
    vae = VariationalAE(
        n_components=4,
        hidden_layer_sizes=(16,),
        pretraining="layerwise",
        pretraining_max_iter=3,
        max_iter=2,
        random_state=0,
    ).fit(X)
    # The mean / log-variance layer does not mirror its decoder layer.
    assert len(vae.pretraining_loss_curves_) == 1
    assert vae.transform(X).shape == (len(X), 4)


def test_no_pretraining_and_refit_without(X):
    ae = _deep().fit(X)
    assert hasattr(ae, "pretraining_loss_curves_")
    ae.set_params(pretraining=None).fit(X)
    assert not hasattr(ae, "pretraining_loss_curves_")
    assert len(ae.loss_curve_) == ae.n_iter_ == 4
    with pytest.raises(InvalidParameterError, match="pretraining"):
        _deep(pretraining="greedy").fit(X)
    with pytest.raises(InvalidParameterError, match="pretraining_max_iter"):
        _deep(pretraining_max_iter=0).fit(X)
