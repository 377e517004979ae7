"""Greedy layer-wise pretraining of an autoencoder (``pretraining="layerwise"``).

Hinton & Salakhutdinov (2006) and Bengio et al. (2007) train a deep
autoencoder one layer at a time before training it end to end: encoder layer
``k`` and its mirror in the decoder form a shallow autoencoder, trained to
reconstruct the codes of the layers below it, which are frozen. This module
runs that greedy phase, through the same engine factory
(``skae._training.new_engine``) as every other fit; ``BaseAutoencoder._fit`` then fine-tunes the whole network as usual.

Choices:

* Each shallow autoencoder ``k`` is ``encoder block k`` followed by
  ``decoder block L-1-k`` (a block is a linear layer with what follows it up
  to the next linear layer: batch norm, activation, dropout), so its weights
  are the ones the full network uses. Layer 0 reconstructs the data with the
  estimator's loss (and sees the estimator's corruption, if any); the higher
  layers reconstruct the frozen codes below them with the squared error.
  Penalties (sparsity, contraction, KL) apply in fine-tuning only.
* The codes of the frozen layers are computed once per layer, in evaluation
  mode (no dropout), so each layer trains on a fixed tensor.
* A code layer that does not mirror its decoder layer (a variational
  encoder outputs means and log-variances) is left to fine-tuning.
* With ``init="pca"`` (a linear path at PCA's solution beside a nonlinear
  branch whose last layers start at zero), the greedy phase pretrains the
  hidden layers of the nonlinear branch only; its last layers are reset to
  zero afterwards, so fine-tuning still starts where the PCA start put the
  network (PCA's solution for a linear code), with pretrained hidden units.
  Without hidden layers there is nothing to pretrain.
* The epochs of both phases go to ``history_`` (rows of the greedy phase come
  first and carry ``phase="pretraining"`` and ``layer=k``) and so to
  ``loss_curve_`` and ``n_iter_``; ``pretraining_loss_curves_`` holds one
  curve per layer. ``pretrain`` returns the greedy rows; the estimator puts
  them first in its engine's history once fine-tuning has run
  (``TrainingEngine.prepend_history``), so that fine-tuning counts its own
  epochs (early stopping's warm-up, the loss's ``epoch``).

The estimator hands over what the phase needs (its engine, its loss per
element, its corruption and its settings); this module asks it nothing.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._random import draw_seed, torch_generator
from ._training import engine_settings, new_engine
from .nn import Autoencoder, LinearSkip, last_linear

__all__ = ["PRETRAINING_METHODS", "pretrain"]

PRETRAINING_METHODS = {"layerwise"}

# Rows per batch when computing the codes of the frozen layers.
_CODE_BATCH_ROWS = 4096


def _blocks(chain):
    """Split a sequential MLP into blocks, each starting at an ``nn.Linear``."""
    blocks = []
    for layer in chain:
        if isinstance(layer, nn.Linear):
            blocks.append([])
        elif not blocks:
            return None
        blocks[-1].append(layer)
    return [nn.Sequential(*block) for block in blocks]  # shares the layers


def _stack(module):
    """Encoder blocks, decoder blocks and the output activation to pretrain."""
    encoder, decoder = getattr(module, "encoder", None), getattr(module, "decoder", None)
    skip = isinstance(encoder, LinearSkip) and isinstance(decoder, LinearSkip)
    if skip:
        encoder, decoder = encoder.mlp, decoder.mlp
    encoder_blocks = _blocks(encoder) if isinstance(encoder, nn.Sequential) else None
    decoder_blocks = _blocks(decoder) if isinstance(decoder, nn.Sequential) else None
    mirrored = []
    if encoder_blocks and decoder_blocks and len(encoder_blocks) == len(decoder_blocks):
        mirrored = [
            (last_linear(e).in_features, last_linear(e).out_features)
            == (last_linear(d).out_features, last_linear(d).in_features)
            for e, d in zip(encoder_blocks, decoder_blocks[::-1])
        ]
    if not all(mirrored[:-1]) or not mirrored:
        raise ValueError(
            "pretraining='layerwise' needs an encoder and a mirrored decoder built as "
            f"multilayer perceptrons (torch.nn.Sequential); this {type(module).__name__} "
            "module does not have them. Use pretraining=None."
        )
    # The code layer is pretrained when it mirrors its decoder layer; a code
    # layer that does not (a variational encoder's means and log-variances)
    # and the PCA-initialized code of init="pca" are left to fine-tuning.
    n_layers = len(encoder_blocks) - (skip or not mirrored[-1])
    return encoder_blocks, decoder_blocks, skip, n_layers


@torch.no_grad()
def _codes(blocks, X):
    """The output of the frozen ``blocks`` on ``X``, batched, in evaluation mode."""
    if not blocks:
        return X
    stack = nn.Sequential(*blocks)
    was_training = stack.training
    stack.eval()
    starts = range(0, len(X), _CODE_BATCH_ROWS)
    codes = torch.cat([stack(X[i : i + _CODE_BATCH_ROWS]) for i in starts])
    stack.train(was_training)
    return codes


def _squared_error(output, batch, X_input, epoch=None):
    return F.mse_loss(output[0], batch)


def pretrain(
    net,
    X,
    *,
    n_epochs,
    reconstruction_errors,
    corrupt,
    keep_pca_start,
    lr,
    alpha,
    verbose=0,
):
    """Run the greedy layer-wise phase on ``net.module_``; return its loss curves and history rows.

    Parameters
    ----------
    net : TrainingEngine
        The estimator's engine, initialized and not yet trained: its module,
        generator, optimizer, batch size and device are the phase's.
    X : torch.Tensor of shape (n_samples, n_features)
        The training rows, on the training device.
    n_epochs : int
        Epochs of each layer's training.
    reconstruction_errors : callable
        ``reconstruction_errors(reconstruction, X)``, per element: the first
        layer's loss is its mean (the estimator's loss).
    corrupt : callable
        ``corrupt(X, generator)``, the input the first layer sees (the
        estimator's corruption).
    keep_pca_start : bool
        Whether the network starts at PCA's solution (``init="pca"``): a
        single linear layer is then not pretrained, and the nonlinear
        branch's last layers are reset to zero afterwards.
    lr, alpha : float
        The learning rate and weight decay.
    verbose : int, default=0

    Returns
    -------
    curves : list of list of float
        Each layer's training loss at each epoch.
    rows : list of dict
        The phase's history rows (``phase="pretraining"``, ``layer=k``), for
        ``TrainingEngine.prepend_history`` once fine-tuning has run.
    """
    encoder_blocks, decoder_blocks, skip, n_layers = _stack(net.module_)
    if keep_pca_start and not skip:
        n_layers = 0  # a single linear layer at PCA's solution: nothing to pretrain

    def data_loss(output, batch, X_input, epoch=None):
        return reconstruction_errors(output[0], batch).mean()

    curves, rows = [], []
    for k in range(n_layers):
        decoder_block = decoder_blocks[len(decoder_blocks) - 1 - k]
        if k == 0 and skip:
            decoder_block = nn.Sequential(decoder_block, net.module_.decoder.activation)
        seed = draw_seed(net.generator)
        settings = engine_settings(
            loss_fn=data_loss if k == 0 else _squared_error,
            corrupt=corrupt if k == 0 else None,
            optimizer=net.optimizer,
            alpha=alpha,
            fuse=False,
            lr=lr,
            max_epochs=n_epochs,
            batch_size=net.batch_size,
            parallel=net.parallel,  # distributed=True: gradients averaged over ranks
            device=net.device,
            verbose=verbose,
        )
        module = Autoencoder(encoder_blocks[k], decoder_block)
        engine = new_engine(module, torch_generator(seed), settings)
        engine.partial_fit(_codes(encoder_blocks[:k], X))
        curves.append([float(v) for v in engine.history[:, "train_loss"]])
        rows += [
            {"batches": [], "train_loss": row["train_loss"], "dur": row.get("dur", math.nan),
             "phase": "pretraining", "layer": k}
            for row in engine.history
        ]
    if skip:
        with torch.no_grad():
            for branch in (net.module_.encoder.mlp, net.module_.decoder.mlp):
                last_linear(branch).weight.zero_()
                last_linear(branch).bias.zero_()
    return curves, rows
