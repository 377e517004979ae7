"""The engine factory (skae._training) and what the engine hands the loss."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import skae
from skae._training import engine_settings, new_early_stopping, new_engine
from skae.nn import Autoencoder, make_mlp


def _module():
    torch.manual_seed(0)
    return Autoencoder(make_mlp([4, 2]), make_mlp([2, 4]))


def _rows(n=40):
    return torch.from_numpy(np.random.RandomState(0).normal(size=(n, 4)).astype(np.float32))


def test_settings_name_the_optimizer_and_fuse_adam_only_when_asked():
    def loss(output, batch, X_input, epoch=None):
        return F.mse_loss(output[0], batch)

    common = dict(loss_fn=loss, lr=1e-3, batch_size=8, max_epochs=3, device="cpu")
    settings = engine_settings(optimizer="adamw", alpha=0.5, **common)
    assert settings["optimizer"] is torch.optim.AdamW
    assert settings["optimizer__weight_decay"] == 0.5
    assert settings.get("optimizer__fused", False) is skae._training.FUSED_ON_CPU
    assert "optimizer__fused" not in engine_settings(optimizer="adam", fuse=False, **common)
    assert "optimizer__fused" not in engine_settings(optimizer="sgd", **common)
    engine = new_engine(_module(), torch.Generator().manual_seed(0), settings)
    assert engine.initialized_ and isinstance(engine.optimizer_, torch.optim.AdamW)
    assert not new_engine(_module(), None, settings, initialize=False).initialized_


def test_the_loss_is_handed_the_epoch_counted_over_the_engines_history():
    seen = []

    def loss(output, batch, X_input, epoch=None):
        seen.append((output[0].requires_grad, epoch))
        return F.mse_loss(output[0], batch)

    settings = engine_settings(loss_fn=loss, lr=1e-3, batch_size=20, max_epochs=2, device="cpu")
    engine = new_engine(_module(), torch.Generator().manual_seed(0), settings)
    X = _rows()
    engine.partial_fit(X, epochs=2, X_valid=X[:10])
    engine.partial_fit(X, epochs=1)
    training = [epoch for grad, epoch in seen if grad]
    validation = [epoch for grad, epoch in seen if not grad]
    assert training == [1, 1, 2, 2, 3, 3]  # two batches an epoch; the second call goes on
    # Scoring before a call sees the last epoch (0 before any); each epoch's validation its own.
    assert 1 in validation and 2 in validation and validation[0] == 0


def test_prepend_history_puts_rows_first_and_renumbers_the_epochs():
    def loss(output, batch, X_input, epoch=None):
        return F.mse_loss(output[0], batch)

    settings = engine_settings(loss_fn=loss, lr=1e-3, batch_size=20, max_epochs=2, device="cpu")
    engine = new_engine(_module(), torch.Generator().manual_seed(0), settings)
    engine.partial_fit(_rows(), epochs=2)
    engine.prepend_history([{"train_loss": 9.0, "phase": "pretraining"}])
    assert [row["epoch"] for row in engine.history] == [1, 2, 3]
    assert engine.history[0, "train_loss"] == 9.0 and "phase" not in engine.history[-1]


def test_early_stopping_counts_no_misses_during_its_warmup_epochs():
    # A loss that rises every epoch: without a warm-up, patience 1 stops after epoch 2;
    # with 4 warm-up epochs (which do not raise the bar on the training loss), epoch 5
    # sets the bar and epoch 6 misses it.
    def rising(output, batch, X_input, epoch=None):
        return F.mse_loss(output[0], batch) * 0 + float(epoch or 0)

    for warmup, epochs_run in ((0, 2), (4, 6)):
        stopping = new_early_stopping(patience=1, tol=0.0, warmup_epochs=warmup)
        settings = engine_settings(
            loss_fn=rising,
            lr=1e-3,
            batch_size=40,
            max_epochs=10,
            device="cpu",
            callbacks=[("early_stopping", stopping)],
        )
        engine = new_engine(_module(), torch.Generator().manual_seed(0), settings)
        engine.partial_fit(_rows(), epochs=10)
        assert len(engine.history) == epochs_run
        assert stopping.threshold_mode == "abs" and math.isfinite(stopping.patience)


def test_layerwise_pretraining_rows_come_first_and_fine_tuning_counts_from_one():
    X = np.random.RandomState(0).normal(size=(120, 6))
    ae = skae.VariationalAE(
        n_components=2,
        hidden_layer_sizes=(5,),
        init="random",
        pretraining="layerwise",
        pretraining_max_iter=2,
        kl_warmup=3,
        max_iter=4,
        early_stopping=False,
        random_state=0,
    ).fit(X)
    phases = [row.get("phase") for row in ae.history_]
    assert phases[:2] == ["pretraining"] * 2 and phases[2:] == [None] * 4
    assert [row["epoch"] for row in ae.history_] == list(range(1, 7))
    assert len(ae.loss_curve_) == ae.n_iter_ == 6


@pytest.mark.parametrize("cls", [skae.AutoencoderClassifier, skae.AutoencoderRegressor])
def test_heads_lower_the_learning_rate_of_fine_tuning_only(cls):
    X = np.random.RandomState(0).normal(size=(60, 4))
    y = np.arange(60) % 2 if cls is skae.AutoencoderClassifier else np.linspace(-1, 1, 60)
    curves = []
    for rate in (1e-4, 1e-1):
        autoencoder = skae.AutoencoderTransformer(n_components=2, max_iter=2, random_state=0)
        head = cls(
            autoencoder=autoencoder,
            freeze_epochs=2,
            max_iter=2,
            batch_size=60,  # one step an epoch: an epoch's loss is that of the weights before it
            fine_tuning_learning_rate=rate,
            n_iter_no_change=5,
            random_state=0,
        ).fit(X, y)
        assert [row["phase"] for row in head.history_] == ["frozen"] * 2 + ["fine-tuning"] * 2
        curves.append(head.loss_curve_)
    assert curves[0][:3] == curves[1][:3]  # the frozen phase, and the first fine-tuning step's start
    assert curves[0][3] != curves[1][3]
