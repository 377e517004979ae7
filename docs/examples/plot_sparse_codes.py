"""
Sparse codes
============

A :class:`~skae.SparseAE` adds a sparsity penalty on the code to the
reconstruction loss. With ``sparsity="l1"`` the code is a ReLU and the
penalty :math:`\\lambda \\, \\mathrm{mean}\\, |h|` (``sparsity_weight`` is
:math:`\\lambda`) drives many code entries to exactly zero, so that each
digit is described by a subset of the units. Because the penalty, not a
bottleneck, is what stops the network from copying its input, the code may
be wider than the input; here it has 96 units for 64 pixels.

We train the same network without the penalty (``sparsity_weight=0``, a
plain autoencoder with a ReLU code) and with two penalty weights, and
compare their held-out codes and reconstruction errors, with PCA's error
as a reference. The other penalty, ``sparsity="kl"``, instead pushes the
mean activation of each sigmoid unit towards a small target (see the user
guide).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import SparseAE

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

params = dict(
    n_components=96, sparsity="l1", hidden_layer_sizes=(128,), max_iter=60, random_state=0
)
models = {
    f"sparsity_weight={weight}": SparseAE(sparsity_weight=weight, **params).fit(X_train)
    for weight in (0.0, 0.05, 0.2)
}
codes = {name: model.transform(X_test) for name, model in models.items()}
active = {name: (code > 1e-6).sum(axis=1) for name, code in codes.items()}

for name, model in models.items():
    never = int((codes[name].max(axis=0) <= 1e-6).sum())
    print(
        f"{name:20s} active units per digit {active[name].mean():5.1f} of 96 "
        f"(range {active[name].min()}-{active[name].max()}), never active {never:2d}, "
        f"reconstruction MSE {-model.score(X_test):.4f}, epochs {model.n_iter_}"
    )
pca = PCA(n_components=40).fit(X_train)
pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
print(f"{'PCA, 40 components':20s} reconstruction MSE {pca_error:.4f}")

# %%
# Codes of 40 held-out digits without and with the penalty (sorted by
# class; one row per digit, one column per code unit; white is exactly
# zero), and how many units each held-out digit activates.
order = np.argsort(y_test[:40], kind="stable")
fig, axes = plt.subplots(
    1, 3, figsize=(14, 4), gridspec_kw={"width_ratios": [3, 3, 2]}, layout="constrained"
)
for ax, name in zip(axes, ["sparsity_weight=0.0", "sparsity_weight=0.05"]):
    image = ax.imshow(
        np.ma.masked_less_equal(codes[name][:40][order], 1e-6), aspect="auto", cmap="viridis"
    )
    ax.set_title(name)
    ax.set_xlabel("code unit")
    ax.set_ylabel("digit (sorted by class)")
    fig.colorbar(image, ax=ax, label="activation")
bins = np.arange(0, 98, 4)
for name, counts in active.items():
    axes[2].hist(counts, bins=bins, alpha=0.6, label=name)
axes[2].set_xlabel("active code units per digit")
axes[2].set_ylabel("held-out digits")
axes[2].legend()
plt.show()

# %%
# Without the penalty nearly every unit is active on every digit, and the
# network, with more units than pixels, reconstructs almost perfectly: it
# has learned to copy. With ``sparsity_weight=0.05`` a digit activates less
# than half of the units on average, some units are never active on any
# held-out digit, and the reconstruction error is many times larger, above
# PCA's with 40 components: the sparsity is paid for in reconstruction.
# ``sparsity_weight=0.2`` gives sparser codes and a larger error still, so
# the weight trades one for the other; choose it by what the codes are for
# (for instance a downstream score), not by the reconstruction alone.
#
# Both penalized models ran the full ``max_iter=60`` epochs (``n_iter_``
# above), kept short for this example: they were still improving when they
# stopped, and longer training would move these numbers.
