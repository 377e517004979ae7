"""
Generating digits with a variational autoencoder
================================================

A :class:`~skae.VariationalAE` learns a probabilistic code: the encoder
gives a Gaussian posterior :math:`q(z \\mid x)` for each digit and the
training maximizes the evidence lower bound (ELBO)

.. math::

   \\mathbb{E}_{q(z \\mid x)}[\\log p(x \\mid z)]
   - \\mathrm{KL}\\big(q(z \\mid x) \\,\\|\\, \\mathcal{N}(0, I)\\big).

With its defaults the likelihood :math:`p(x \\mid z)` is a Gaussian around
the decoded digit whose variance is learned with the network (a calibrated
decoder), and training starts at probabilistic PCA, noise variance
included. The ELBO is then a log-density in the same units as
``PCA.score``: here we compare them on held-out digits.

Because the code is pulled towards the standard normal prior, decoding
codes drawn from :math:`\\mathcal{N}(0, I)` gives new digits: that is
``sample``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import VariationalAE

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

vae = VariationalAE(n_components=2, random_state=0).fit(X_train)
pca = PCA(n_components=2).fit(X_train)
print(f"epochs: {vae.n_iter_}, learned noise variance: {vae.noise_variance_:.4f} "
      f"(probabilistic PCA's: {pca.noise_variance_:.4f})")
print(f"held-out ELBO per digit: {vae.score(X_test):.2f} nats "
      f"(importance-weighted bound, 100 draws: {vae.score(X_test, n_importance_samples=100):.2f}); "
      f"probabilistic PCA's log-likelihood: {pca.score(X_test):.2f}")

# %%
# New digits: codes drawn from the prior, decoded. The top rows are the
# decoded means (``sample``'s default); the bottom rows decode the same codes
# and add the likelihood's noise (``add_noise=True``), so that they are draws
# from the model's density: the noise the model attributes to the pixels. The
# noise variance is shared by every pixel (``noise_variance="learned"``, as in
# probabilistic PCA), blank borders included; ``"learned_per_feature"`` would
# give each pixel its own.
means = vae.sample(20, random_state=0)
noisy = vae.sample(20, random_state=0, add_noise=True)
fig, axes = plt.subplots(4, 10, figsize=(10, 4.3))
for ax, image in zip(axes.ravel(), np.vstack([means, noisy])):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
fig.suptitle("VariationalAE.sample(20): decoded means (top), with the likelihood's noise (bottom)")
plt.show()

# %%
# The whole two-dimensional code space: a grid of prior quantiles decoded
# with ``inverse_transform``, next to the posterior means (``transform``) of
# the held-out digits.
quantiles = norm.ppf(np.linspace(0.05, 0.95, 12))
grid = np.array([[a, b] for b in quantiles[::-1] for a in quantiles])
images = vae.inverse_transform(grid).reshape(12, 12, 8, 8)
images = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))  # a blank frame around each digit
canvas = images.transpose(0, 2, 1, 3).reshape(12 * 10, 12 * 10)

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
axes[0].imshow(canvas, cmap="gray_r", vmin=0, vmax=1)
axes[0].set_title("decoded grid of codes")
axes[0].axis("off")
codes = vae.transform(X_test)
points = axes[1].scatter(codes[:, 0], codes[:, 1], c=y_test, cmap="tab10", s=8)
axes[1].set_title("posterior means of the held-out digits")
fig.colorbar(points, ax=axes[1], ticks=range(10), label="digit")
plt.show()
