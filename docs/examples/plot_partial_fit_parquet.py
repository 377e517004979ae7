"""
Training on a Parquet file chunk by chunk with partial_fit
==========================================================

When a table does not fit in memory, read it in chunks and call
``partial_fit`` on each: every call makes one pass over its chunk (whatever
``max_iter`` is) and continues from the current weights, so several passes
over the file train the network like ``fit`` would, with only one chunk in
memory at a time.

Here a Parquet file of 50,000 rows is written with pyarrow, read back 5,000
rows at a time, and the autoencoder's reconstruction error is compared with
PCA's, fitted the same way with :class:`~sklearn.decomposition.IncrementalPCA`.
The same loop works for ``pandas.read_csv(..., chunksize=...)``.

Run it as a script: ``python docs/examples/plot_partial_fit_parquet.py``.
"""

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.decomposition import IncrementalPCA

from skae import AutoencoderTransformer

# A nonlinear table: 20 columns driven by 3 hidden factors, written in row groups.
rng = np.random.default_rng(0)
n_rows, n_features, chunk_rows = 50_000, 20, 5_000
mixing = rng.normal(size=(3, n_features))
folder = tempfile.mkdtemp()
path = os.path.join(folder, "table.parquet")
with pq.ParquetWriter(path, pa.schema([(f"x{j}", pa.float32()) for j in range(n_features)])) as writer:
    for _ in range(n_rows // chunk_rows):
        factors = rng.normal(size=(chunk_rows, 3))
        values = np.tanh(factors @ mixing) + 0.05 * rng.normal(size=(chunk_rows, n_features))
        table = pa.Table.from_arrays(
            [pa.array(column, pa.float32()) for column in values.T.astype(np.float32)],
            names=[f"x{j}" for j in range(n_features)],
        )
        writer.write_table(table)


def chunks():
    """The file's rows, ``chunk_rows`` at a time, as float32 arrays."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        yield np.column_stack([column.to_numpy() for column in batch.columns]).astype(np.float32)


# %%
# One pass over the file per epoch; ``partial_fit`` sees one chunk per call.
ae = AutoencoderTransformer(n_components=3, hidden_layer_sizes=(64,), batch_size=256, random_state=0)
pca = IncrementalPCA(n_components=3)
for chunk in chunks():
    pca.partial_fit(chunk)

X_check = next(chunks())  # a chunk to measure the reconstruction error on
pca_error = np.mean((pca.inverse_transform(pca.transform(X_check)) - X_check) ** 2)
errors = []
for epoch in range(5):
    for chunk in chunks():
        ae.partial_fit(chunk)
    errors.append(-ae.score(X_check))
    print(f"pass {epoch + 1}: autoencoder MSE {errors[-1]:.4f}   PCA MSE {pca_error:.4f}")

# %%
plt.plot(range(1, len(errors) + 1), errors, marker="o", label="autoencoder (partial_fit)")
plt.axhline(pca_error, color="gray", linestyle="--", label="IncrementalPCA")
plt.xlabel("passes over the Parquet file")
plt.ylabel("reconstruction MSE")
plt.legend()
plt.show()

# %%
# Only one chunk was ever in memory. For a file that is one big array instead,
# ``fit`` on a :class:`numpy.memmap` trains batch by batch with the same result
# as in memory; see the scale guide.
os.remove(path)
os.rmdir(folder)
