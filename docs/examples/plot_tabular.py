"""
Mixed-type tables and missing values
====================================

Real tables mix numbers, booleans and categories, and have holes. skae offers
two ways in:

* **the scikit-learn way**: a :class:`~sklearn.compose.ColumnTransformer`
  (scaling + one-hot encoding) in front of any skae autoencoder, in a
  :class:`~sklearn.pipeline.Pipeline`;
* **the table-aware way**: :class:`~skae.TabularAE` takes the DataFrame
  itself, reconstructs each column with its own loss (squared error, binary
  or categorical cross-entropy, each normalized so no column type dominates),
  decodes back to the original dtypes, and with ``missing="learn"`` trains on
  the observed cells only and imputes the others.

We use a generated table: one hidden factor drives two numeric columns on very
different scales, an integer count, a boolean and two categorical columns
with a rare level.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import AutoencoderTransformer, TabularAE

rng = np.random.default_rng(0)
n = 1500
z = rng.normal(size=n)
color = np.where(z > 0.4, "red", np.where(z < -0.4, "blue", "green")).astype(object)
color[rng.random(n) < 0.03] = "purple"
X = pd.DataFrame(
    {
        "income": 50_000 + 20_000 * z + rng.normal(scale=2_000, size=n),
        "ratio": 0.01 * z**2 + rng.normal(scale=0.001, size=n),
        "count": np.round(10 + 3 * z).astype("int64"),
        "member": z + rng.normal(scale=0.3, size=n) > 0,
        "color": pd.Categorical(color),
        "size": np.where(z > 1.0, "L", np.where(z > -1.0, "M", "S")).astype(object),
    },
    index=pd.Index(np.arange(n) + 1000, name="customer"),
)
X.head()

# %%
# The scikit-learn way
# --------------------
# Scale the numeric (and boolean) columns, one-hot encode the categorical
# ones, then encode with any skae autoencoder.
numeric, categorical = ["income", "ratio", "count", "member"], ["color", "size"]
pipe = make_pipeline(
    make_column_transformer(
        (StandardScaler(), numeric),
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
    ),
    AutoencoderTransformer(n_components=2, hidden_layer_sizes=(32,), random_state=0),
).set_output(transform="pandas")
codes_sklearn = pipe.fit_transform(X)
codes_sklearn.head()

# %%
# The table-aware way
# -------------------
# :class:`~skae.TabularAE` reads the DataFrame directly. With pandas output,
# the codes keep the table's index, and ``inverse_transform`` returns a table
# with the original columns, dtypes and index.
tab = TabularAE(n_components=2, hidden_layer_sizes=(32,), random_state=0)
tab.set_output(transform="pandas")
codes = tab.fit_transform(X)
restored = tab.inverse_transform(codes)
print(tab.feature_types_)
print(restored.dtypes)
for column in ["member", "color", "size"]:
    accuracy = (restored[column] == X[column]).mean()
    majority = X[column].value_counts(normalize=True).max()
    print(f"{column:>7}: reconstructed {accuracy:.1%} (majority class {majority:.1%})")

# %%
# Missing values
# --------------
# Remove 20% of the cells at random. ``TabularAE(missing="learn")`` trains on
# the observed cells, hiding a fraction of them at each step (masking noise)
# so that it learns to predict any cell from the others; ``impute`` fills the
# holes. We compare with what scikit-learn's SimpleImputer does: the mean for
# numeric columns, the most frequent value otherwise.
holes = pd.DataFrame(rng.random(X.shape) < 0.2, index=X.index, columns=X.columns)
damaged = X.astype({"count": "Int64", "member": "boolean"}).mask(holes)
imputer = TabularAE(n_components=8, hidden_layer_sizes=(64,), missing="learn", random_state=0)
filled = imputer.fit(damaged).impute(damaged)

baseline = damaged.copy()  # SimpleImputer's strategies, column by column
for column in X.columns:
    observed = damaged[column].dropna()
    if column in ("income", "ratio", "count"):
        fill = observed.mean() if column != "count" else round(observed.mean())
    else:
        fill = observed.mode()[0]
    baseline[column] = damaged[column].fillna(fill)

def imputation_error(table, column):
    """RMSE over the holes in units of the column's std, or the error rate."""
    hole = holes[column]
    truth, guess = X.loc[hole, column], table.loc[hole, column]
    if column in ("income", "ratio", "count"):
        return np.sqrt(np.mean((guess.astype(float) - truth) ** 2)) / X[column].std()
    return np.mean(guess.to_numpy() != truth.to_numpy())


errors = pd.DataFrame(
    {
        "mean / most frequent": [imputation_error(baseline, c) for c in X.columns],
        "TabularAE": [imputation_error(filled, c) for c in X.columns],
    },
    index=X.columns,
)
print(errors.round(3))

# %%
# Plot: the learned codes, colored by the categorical column ``color``, and
# the imputation errors (numeric: RMSE in standard deviations; boolean and
# categorical: error rate).
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for level in X["color"].cat.categories:
    rows = X["color"] == level
    left.scatter(codes.loc[rows].iloc[:, 0], codes.loc[rows].iloc[:, 1], s=6, label=level)
left.set(title="TabularAE codes", xlabel="code 0", ylabel="code 1")
left.legend(title="color", markerscale=3)
errors.plot.bar(ax=right, rot=0)
right.set(title="Imputation error on 20% missing cells (lower is better)", ylabel="error")
fig.tight_layout()
plt.show()
