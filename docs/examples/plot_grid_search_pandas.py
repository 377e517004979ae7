"""
Grid search over an autoencoder in a pipeline, with pandas
==========================================================

skae's estimators are ordinary scikit-learn estimators, so an autoencoder
can sit in a :class:`~sklearn.pipeline.Pipeline` and have its
hyperparameters tuned by :class:`~sklearn.model_selection.GridSearchCV`,
with a pandas DataFrame going in and, with ``set_output``, coming out.

Here the autoencoder compresses the 30 features of the breast cancer data
before a logistic regression, and the grid search picks the code size and
network by cross-validated accuracy.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

X, y = load_breast_cancer(return_X_y=True, as_frame=True)  # a DataFrame and a Series
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
X_train.head()

# %%
# ``set_output(transform="pandas")`` before fitting: every step then passes a
# DataFrame to the next, so the autoencoder is fitted on the original column
# names (``feature_names_in_``) and can give them back in ``inverse_transform``.
pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        ("ae", AutoencoderTransformer(max_iter=40, random_state=0)),
        ("clf", LogisticRegression(max_iter=1000)),
    ]
).set_output(transform="pandas")
grid = {
    "ae__n_components": [2, 4, 8],
    "ae__hidden_layer_sizes": [(16,), (64, 32)],
}
search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"held-out accuracy of the best pipeline: {search.score(X_test, y_test):.3f}")

# %%
# Cross-validated accuracy of every combination.
results = pd.DataFrame(search.cv_results_)
table = results.pivot_table(
    index="param_ae__n_components",
    columns=results["param_ae__hidden_layer_sizes"].astype(str),
    values="mean_test_score",
)
ax = table.plot(marker="o", figsize=(6, 4))
ax.set_xlabel("n_components")
ax.set_ylabel("mean CV accuracy")
ax.legend(title="hidden_layer_sizes")
ax.set_title("GridSearchCV over the autoencoder's hyperparameters")
plt.show()

# %%
# Ties are expected on small data: with early stopping, an autoencoder whose
# training does not improve the held-out reconstruction keeps its starting
# weights, PCA's solution (``init="pca"``), so configurations that differ only
# in their hidden layers can end at the same model. ``n_iter_`` tells: an
# autoencoder that stopped after ``n_iter_no_change`` epochs never beat its
# start, so it is PCA (plus a nonlinear branch still at zero).
best_ae = search.best_estimator_.named_steps["ae"]
print(f"epochs run by the best autoencoder: {best_ae.n_iter_} "
      f"(n_iter_no_change={best_ae.n_iter_no_change})")

# %%
# DataFrame out: the fitted scaler + autoencoder (the pipeline without its
# classifier) return a DataFrame with ``X_test``'s index and named code
# columns, ready for the rest of a pandas workflow.
encoder = search.best_estimator_[:-1]
codes = encoder.transform(X_test)
print(type(codes).__name__, codes.shape)
codes.head()

# %%
# ``inverse_transform`` maps codes back to the 30 scaled features, as a
# DataFrame with the original column names and the codes' index, so the
# reconstruction error of each feature can be read by name.
scaler, ae = encoder.named_steps["scale"], encoder.named_steps["ae"]
reconstruction = ae.inverse_transform(codes)
X_test_scaled = scaler.transform(X_test)
errors = ((reconstruction - X_test_scaled) ** 2).mean()
print(f"mean squared error per scaled feature, averaged: {errors.mean():.3f}")
errors.sort_values(ascending=False).head()
