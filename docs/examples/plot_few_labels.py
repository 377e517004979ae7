"""
Learning from few labels
========================

When labels are scarce but unlabeled rows are plentiful, an
:class:`~skae.AutoencoderClassifier` trains an autoencoder on every row,
labeled or not, spreads the labels over nearest-neighbour graphs of the rows
and of their codes, trains a linear head (and then the encoder with it) on
every row with the labels the spreading gave it, and classifies a new row
from the labels of its nearest training rows. Unlabeled rows are marked
``-1``, as in :mod:`sklearn.semi_supervised`.

We compare it with a :class:`~sklearn.linear_model.LogisticRegression`
trained on the labeled rows only, as the labeled fraction of the digits grows.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skae import AutoencoderClassifier, AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

# %%
# The autoencoder sees every training row, labels or not: fit it once and let
# each classifier start from a copy of it (``refit_autoencoder=False``).
autoencoder = AutoencoderTransformer(
    n_components=24, hidden_layer_sizes=(128,), max_iter=60, random_state=0
).fit(X_train)

fractions = [0.01, 0.02, 0.05, 0.1, 0.3]
rng = np.random.RandomState(0)
order = rng.permutation(len(y_train))
# One labeled row of each class comes first: a classifier knows only the
# classes it saw labeled (and ``score`` refuses the others).
firsts = [order[y_train[order] == label][0] for label in np.unique(y_train)]
order = np.concatenate([firsts, order[~np.isin(order, firsts)]])
accuracy = {"LogisticRegression (labeled rows)": [], "AutoencoderClassifier": []}
for fraction in fractions:
    n_labeled = max(10, int(fraction * len(y_train)))
    labeled = order[:n_labeled]
    y_partial = np.full_like(y_train, -1)
    y_partial[labeled] = y_train[labeled]

    logistic = LogisticRegression(max_iter=2000).fit(X_train[labeled], y_train[labeled])
    accuracy["LogisticRegression (labeled rows)"].append(logistic.score(X_test, y_test))

    classifier = AutoencoderClassifier(
        autoencoder, refit_autoencoder=False, freeze_epochs=60, max_iter=20, random_state=0
    ).fit(X_train, y_partial)
    accuracy["AutoencoderClassifier"].append(classifier.score(X_test, y_test))
    print(
        f"{n_labeled:4d} labeled rows: logistic {accuracy['LogisticRegression (labeled rows)'][-1]:.3f}"
        f", autoencoder classifier {accuracy['AutoencoderClassifier'][-1]:.3f}"
    )

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for (name, values), marker in zip(accuracy.items(), "os"):
    ax.plot(np.array(fractions) * 100, values, marker=marker, label=name)
ax.set_xscale("log")
ax.set_xticks(np.array(fractions) * 100, [f"{100 * f:g}%" for f in fractions])
ax.set_xlabel("labeled fraction of the training digits")
ax.set_ylabel("test accuracy")
ax.set_title("Few labels: the unlabeled rows carry the labels")
ax.legend()
plt.show()

# %%
# The gap is largest when labels are fewest: each label spreads to the
# unlabeled rows near it, in the pixels and in the codes the autoencoder
# learned from all the rows, where the logistic regression sees only the
# labeled rows. With more labels the gap narrows.
