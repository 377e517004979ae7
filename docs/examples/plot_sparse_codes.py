"""
Sparse codes
============

A :class:`~skae.SparseAE` adds a sparsity penalty on the code to the
reconstruction loss. With ``sparsity="l1"`` the code is a ReLU and the
penalty :math:`\\lambda \\, \\mathrm{mean}\\, |h|` (``sparsity_weight`` is
:math:`\\lambda`) drives most code entries to exactly zero: each digit is
described by a few active units. Because the penalty, not a bottleneck,
stops the network from copying its input, the code may even be wider than
the input; here it has 96 units for 64 pixels.

We compare the codes of the same network trained with and without the
penalty (``sparsity_weight=0`` gives a plain autoencoder with a ReLU code).
The other penalty, ``sparsity="kl"``, instead pushes the mean activation of
each sigmoid unit towards a small target (see the user guide).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import SparseAE

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

params = dict(
    n_components=96, sparsity="l1", hidden_layer_sizes=(128,), max_iter=60, random_state=0
)
models = {
    "plain (sparsity_weight=0)": SparseAE(sparsity_weight=0.0, **params).fit(X_train),
    "sparse (sparsity_weight=0.05)": SparseAE(sparsity_weight=0.05, **params).fit(X_train),
}
codes = {name: model.transform(X_test) for name, model in models.items()}
active = {name: (code > 1e-6).sum(axis=1) for name, code in codes.items()}

for name, model in models.items():
    print(
        f"{name:30s} active units per digit {active[name].mean():5.1f} of 96, "
        f"reconstruction MSE {-model.score(X_test):.4f}"
    )

# %%
# Codes of 40 held-out digits (sorted by class; one row per digit, one
# column per code unit; white is exactly zero), and how many units each
# held-out digit activates.
order = np.argsort(y_test[:40], kind="stable")
fig, axes = plt.subplots(
    1, 3, figsize=(14, 4), gridspec_kw={"width_ratios": [3, 3, 2]}, layout="constrained"
)
for ax, (name, code) in zip(axes, codes.items()):
    image = ax.imshow(
        np.ma.masked_less_equal(code[:40][order], 1e-6), aspect="auto", cmap="viridis"
    )
    ax.set_title(name)
    ax.set_xlabel("code unit")
    ax.set_ylabel("digit (sorted by class)")
    fig.colorbar(image, ax=ax, label="activation")
bins = np.arange(0, 98, 4)
for name, counts in active.items():
    axes[2].hist(counts, bins=bins, alpha=0.6, label=name.split(" (")[0])
axes[2].set_xlabel("active code units per digit")
axes[2].set_ylabel("held-out digits")
axes[2].legend()
plt.show()

# %%
# Without the penalty nearly every unit is active on every digit; with it
# each digit lights up fewer than half of the units and the rest are exactly
# zero, at a small cost in reconstruction error. A larger
# ``sparsity_weight`` gives sparser codes and worse reconstructions.
