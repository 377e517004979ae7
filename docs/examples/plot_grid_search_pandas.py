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
pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        ("ae", AutoencoderTransformer(max_iter=40, random_state=0)),
        ("clf", LogisticRegression(max_iter=1000)),
    ]
)
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
# in their hidden layers can end at the same model.
#
# DataFrame out: ``set_output(transform="pandas")`` makes the fitted
# scaler + autoencoder return a DataFrame with the original index and named
# code columns, ready for the rest of a pandas workflow.
encoder = search.best_estimator_[:-1].set_output(transform="pandas")
codes = encoder.transform(X_test)
print(type(codes).__name__, codes.shape)
codes.head()

# %%
# ``inverse_transform`` maps codes back to the 30 scaled features, so the
# reconstruction error of each feature can be inspected too.
ae = search.best_estimator_.named_steps["ae"]
X_test_scaled = search.best_estimator_.named_steps["scale"].transform(X_test)
reconstruction = pd.DataFrame(
    ae.inverse_transform(codes.to_numpy()), columns=X.columns, index=X_test.index
)
((reconstruction - X_test_scaled) ** 2).mean().sort_values(ascending=False).head()
