"""
Anomaly detection: autoencoder vs Isolation Forest
==================================================

An autoencoder trained on (mostly) normal rows reconstructs them well and
unusual rows badly. :class:`~skae.AutoencoderOutlierDetector` turns any skae
autoencoder into an outlier detector with the contract of
:class:`~sklearn.ensemble.IsolationForest`: ``score_samples`` (higher is
more normal), ``decision_function`` and ``predict`` (+1 inlier, -1 outlier).

The anomalies here are "chimeras": the top half of one digit stitched onto
the bottom half of another. Every pixel value is ordinary; only the
structure is wrong, which is what a reconstruction model can notice.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderOutlierDetector, AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0
rng = np.random.RandomState(0)


def chimeras(X, y, n, rng):
    """Top half of one digit, bottom half of a digit of another class."""
    first = rng.choice(len(X), n)
    second = np.array([rng.choice(np.flatnonzero(y != y[i])) for i in first])
    return np.hstack([X[first, :32], X[second, 32:]])


X_normal_train, X_normal_test, y_normal_train, y_normal_test = train_test_split(
    X, y, test_size=0.3, random_state=0
)
# Training data: 5% contamination; test data: 10% anomalies.
X_train = np.vstack([X_normal_train, chimeras(X_normal_train, y_normal_train, 60, rng)])
X_anomalies = chimeras(X_normal_test, y_normal_test, 54, rng)
X_test = np.vstack([X_normal_test, X_anomalies])
is_anomaly = np.r_[np.zeros(len(X_normal_test)), np.ones(len(X_anomalies))]

# %%
detectors = {
    "AutoencoderOutlierDetector": AutoencoderOutlierDetector(
        AutoencoderTransformer(
            n_components=12, hidden_layer_sizes=(64,), max_iter=80, random_state=0
        ),
        contamination=0.05,
    ),
    "IsolationForest": IsolationForest(contamination=0.05, random_state=0),
}
scores = {}
for name, detector in detectors.items():
    detector.fit(X_train)
    scores[name] = -detector.score_samples(X_test)  # higher = more anomalous
    flagged = detector.predict(X_test) == -1
    print(
        f"{name:27s} ROC AUC {roc_auc_score(is_anomaly, scores[name]):.3f}, "
        f"flags {flagged.sum():3d} rows, of which {int(is_anomaly[flagged].sum())} are anomalies"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for name in detectors:
    RocCurveDisplay.from_predictions(is_anomaly, scores[name], name=name, ax=axes[0])
axes[0].set_title("ROC on the test set")
for ax, name in zip(axes[1:], detectors):
    ax.hist(scores[name][is_anomaly == 0], bins=40, alpha=0.6, label="normal digits", density=True)
    ax.hist(scores[name][is_anomaly == 1], bins=40, alpha=0.6, label="chimeras", density=True)
    ax.set_title(name)
    ax.set_xlabel("anomaly score (-score_samples)")
    ax.legend()
plt.show()

# %%
# The highest-scoring test rows according to the autoencoder.
top = np.argsort(scores["AutoencoderOutlierDetector"])[::-1][:10]
fig, axes = plt.subplots(1, 10, figsize=(10, 1.6))
for ax, index in zip(axes, top):
    ax.imshow(X_test[index].reshape(8, 8), cmap="gray_r")
    ax.set_title("chimera" if is_anomaly[index] else "digit", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Most anomalous test rows (autoencoder)")
plt.show()

# %%
# The autoencoder ranks the chimeras far above the normal digits, while the
# Isolation Forest, which isolates rows by extreme values of single pixels,
# barely tells them apart: each half of a chimera is an ordinary half digit.
