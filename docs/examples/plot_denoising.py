"""
Denoising digits
================

A :class:`~skae.DenoisingAE` is trained to reconstruct each clean digit from
a corrupted copy (here: Gaussian noise added to every pixel, drawn afresh at
every training step). It learns how pixels depend on one another, so at
prediction time it can clean digits it never saw. PCA denoises too, by
projecting onto its leading components; we compare the two at the same code
size.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import DenoisingAE
from skae.noise import corrupt

X, _ = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

noise_level = 0.3
X_test_noisy = corrupt(X_test, noise="gaussian", noise_level=noise_level, generator=0)

# %%
# Fit both models on clean training digits: the denoising autoencoder
# corrupts them itself during training.
n_components = 16
pca = PCA(n_components=n_components).fit(X_train)
dae = DenoisingAE(
    n_components=n_components,
    noise="gaussian",
    noise_level=noise_level,
    hidden_layer_sizes=(128,),
    max_iter=80,
    random_state=0,
).fit(X_train)

denoised = {
    "PCA": pca.inverse_transform(pca.transform(X_test_noisy)),
    "DenoisingAE": dae.inverse_transform(dae.transform(X_test_noisy)),
}
for name, X_hat in denoised.items():
    print(f"{name:12s} MSE to the clean digits: {np.mean((X_hat - X_test) ** 2):.4f}")
print(f"{'noisy input':12s} MSE to the clean digits: {np.mean((X_test_noisy - X_test) ** 2):.4f}")

# %%
# Ten held-out digits: clean, corrupted, and the two reconstructions of the
# corrupted ones.
rows = {"clean": X_test, "corrupted": X_test_noisy, **denoised}
fig, axes = plt.subplots(len(rows), 10, figsize=(10, 4.6))
for ax_row, (name, images) in zip(axes, rows.items()):
    for ax, image in zip(ax_row, images[:10]):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    ax_row[0].set_ylabel(name, rotation=0, ha="right", va="center")
fig.suptitle(f"Gaussian noise (sd={noise_level}) removed by PCA and by a DenoisingAE")
plt.show()

# %%
# The denoising autoencoder's reconstructions are closer to the clean digits
# than PCA's at the same number of components: it was trained for exactly
# this task, while PCA only keeps the directions of largest variance, noise
# included.
