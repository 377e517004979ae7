"""
Generating digits with a variational autoencoder
================================================

A :class:`~skae.VariationalAE` learns a probabilistic code: the encoder
gives a Gaussian posterior :math:`q(z \\mid x)` for each digit and the
training maximizes the evidence lower bound (ELBO)

.. math::

   \\mathbb{E}_{q(z \\mid x)}[\\log p(x \\mid z)]
   - \\mathrm{KL}\\big(q(z \\mid x) \\,\\|\\, \\mathcal{N}(0, I)\\big).

Because the code is pulled towards the standard normal prior, decoding
codes drawn from :math:`\\mathcal{N}(0, I)` gives new digits: that is
``sample``. With pixel intensities in [0, 1] we use the Bernoulli likelihood
(``loss="bce"``), and a randomly initialized network (``init="random"``):
the probabilistic-PCA start of ``init="pca"`` is exact for ``loss="mse"``
but only a heuristic for the Bernoulli likelihood (linearized in logit
space), and on these digits it ends at a lower ELBO.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.datasets import load_digits

from skae import VariationalAE

X, y = load_digits(return_X_y=True)
X = X / 16.0  # bce needs data in [0, 1]

vae = VariationalAE(
    n_components=2,
    loss="bce",
    hidden_layer_sizes=(256, 128),
    init="random",
    max_iter=150,
    random_state=0,
).fit(X)
print(f"mean ELBO per digit: {vae.score_samples(X).mean():.2f} nats")

# %%
# New digits: codes drawn from the prior, decoded.
samples = vae.sample(40, random_state=0)
fig, axes = plt.subplots(4, 10, figsize=(10, 4.3))
for ax, image in zip(axes.ravel(), samples):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
fig.suptitle("VariationalAE.sample(40): codes from N(0, I), decoded")
plt.show()

# %%
# The whole two-dimensional code space: a grid of prior quantiles decoded
# with ``inverse_transform``, next to the posterior means (``transform``) of
# the training digits.
quantiles = norm.ppf(np.linspace(0.05, 0.95, 12))
grid = np.array([[a, b] for b in quantiles[::-1] for a in quantiles])
images = vae.inverse_transform(grid).reshape(12, 12, 8, 8)
images = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))  # a blank frame around each digit
canvas = images.transpose(0, 2, 1, 3).reshape(12 * 10, 12 * 10)

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
axes[0].imshow(canvas, cmap="gray_r", vmin=0, vmax=1)
axes[0].set_title("decoded grid of codes")
axes[0].axis("off")
codes = vae.transform(X)
points = axes[1].scatter(codes[:, 0], codes[:, 1], c=y, cmap="tab10", s=6)
axes[1].set_title("posterior means of the digits")
fig.colorbar(points, ax=axes[1], ticks=range(10), label="digit")
plt.show()
