"""Rows that stay where they are: memmaps, sparse matrices and other sliceable arrays.

``fit`` and the batched inference of skae normally turn the validated input into
one float32 array (one tensor for training). For data that should not be copied
whole (a ``numpy.memmap`` larger than memory, a ``scipy.sparse`` matrix such as a
TF-IDF table, an ``h5py``/``zarr`` dataset), validation returns a ``LazyRows``
instead: it holds the source untouched and hands out float32 batches, dense,
converted (and checked for NaN and infinity) one batch at a time.

Training over a ``LazyRows`` gives the same result as training on the same data
in memory with the same seed: the validation split and the per-epoch
permutations are drawn from the same generator, in the same order, and each
batch holds the same rows in the same order. A batch is gathered by reading its
rows in sorted order (``X[sorted_rows]``; sequential reads on a memmap, cheap
row selection on CSR) and putting them back in the permutation's order. The
cost is random access: each batch touches ``batch_size`` scattered rows. On a
disk that is slow at random reads, shuffling whole blocks of rows instead
(fewer, longer reads) would be faster but would change the batches, and with
them the result; skae keeps the exact shuffle. Inference reads contiguous
slices.

Pages of a shared ``numpy.memmap`` (modes ``"r"``, ``"r+"``, ``"w+"``) are
released from the process after each batch (``madvise(MADV_DONTNEED)``; they
stay in the operating system's page cache), so resident memory stays bounded by
a batch rather than growing to the size of the file.
"""

import contextlib
import contextvars
import copy
import hashlib
import mmap

import numpy as np
import scipy.sparse as sp
import torch

from ._engine import TensorBatches
from ._random import torch_generator

__all__ = [
    "CorruptedOnce",
    "EncodedRows",
    "FloatRows",
    "LazyRows",
    "TensorBlocks",
    "abs_max",
    "column_variances",
    "is_dask_collection",
    "lazy_rows",
    "leading_columns",
    "map_dask_blocks",
    "reused_pca",
    "row_blocks",
    "scan_rows",
    "streamed_pca",
    "tensor_rows",
]

# Rows per block when scanning the whole source (checks, statistics, PCA), at most:
# fewer for wide data, so that a dense block holds at most SCAN_VALUES values.
SCAN_ROWS = 16384
SCAN_VALUES = 2**20
# Scattered rows (a batch, a block of a subset) read at once, at most, the pages of a
# shared memmap released after each read: each row may sit on its own pages, and the
# kernel maps a whole cached folio (up to about 1 MiB measured here) around a read, so
# this bounds the file pages mapped at a time (measured: 24 MB on a 152 MB file; 122 MB
# when 256 rows were read at once).
GATHER_ROWS = 32

# Widest data whose PCA start diagonalizes the covariance (a float64 matrix of
# 8 * n_features**2 bytes, 8 MiB here, diagonalized in about 0.4 s; scikit-learn's
# PCA also stops at 1000 features for this solver). Wider data take a randomized
# method that holds n_features x (n_components + PCA_OVERSAMPLES) values.
EXACT_PCA_MAX_FEATURES = 1024
PCA_OVERSAMPLES = 10
# Diagonalizations shared inside ``reused_pca()``: digest of the rows -> (components, mean).
_SHARED_PCA = contextvars.ContextVar("skae_shared_pca", default=None)


@contextlib.contextmanager
def reused_pca():
    """Within the block, PCA starts of the same in-memory rows share one diagonalization.

    For an estimator that fits several PCA-started autoencoders on the same
    rows (the outlier detector's ensemble): the covariance of those rows is
    diagonalized once and each start takes its leading components, exactly
    what its own diagonalization gives. Rows are recognized by a digest of
    their values, so a changed array is never mistaken for the one seen.
    """
    token = _SHARED_PCA.set({} if _SHARED_PCA.get() is None else _SHARED_PCA.get())
    try:
        yield
    finally:
        _SHARED_PCA.reset(token)

def _is_sliceable_array(X):
    """Whether ``X`` is a 2-D array-like read by slicing (not numpy, pandas, polars or dask)."""
    if isinstance(X, (np.ndarray, list, tuple)) or hasattr(X, "__dask_graph__"):
        return False
    if hasattr(X, "columns") or hasattr(X, "iloc"):
        return False
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2 or not hasattr(X, "__getitem__"):
        return False
    try:
        np.dtype(X.dtype)  # NumPy dtypes only (not a torch tensor, for instance)
    except (AttributeError, TypeError):
        return False
    return True


def lazy_rows(estimator, X, *, reset, min_samples, scan, wrap=None):
    """Validate ``X`` without copying it and wrap it in a ``LazyRows``.

    The caller asks only for an estimator that can train on lazy rows (one
    that declares so, ``BaseAutoencoder._supports_lazy_fit``); for any other,
    a memmap is validated in memory (numpy does not copy a float memmap) and
    a sparse matrix is refused by scikit-learn's validation. Returns ``None``
    when ``X`` is an ordinary array-like (numpy, pandas, polars, lists),
    which the caller validates as usual. With ``scan=True`` (in ``fit``) the
    whole source is read once, block by block, to check it and compute the
    statistics ``fit`` needs; otherwise each batch is checked when read.
    ``wrap(source, name=...)`` makes the lazy rows (``LazyRows`` when None;
    e.g. ``FloatRows`` for rows a column codec reads).
    """
    from sklearn.utils.validation import validate_data

    if not (isinstance(X, np.memmap) or sp.issparse(X) or _is_sliceable_array(X)):
        return None
    name = type(estimator).__name__
    if sp.issparse(X):
        X = X.tocsr()  # no copy for CSR; other formats are converted
    if len(X.shape) != 2:
        raise ValueError(f"{name} expects a 2-D array of shape (n_samples, n_features); got shape {X.shape}.")
    kind = np.dtype(X.dtype).kind
    if kind not in "biuf":
        raise ValueError(
            f"{name} needs numeric input, but X has dtype {X.dtype}. Convert it to "
            "float32 first."
        )
    n_samples, n_features = X.shape
    if n_samples < min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a minimum "
            f"of {min_samples} is required by {name}."
        )
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
            f"required by {name}."
        )
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    rows = (wrap or LazyRows)(X, name=name)
    if scan:
        rows.scan()
    return rows


def _release(X):
    """Drop the pages of a shared memmap from this process (they stay cached)."""
    handle = getattr(X, "_mmap", None)
    if handle is None or getattr(X, "mode", "c") == "c":
        return  # copy-on-write pages would lose the user's changes
    try:
        handle.madvise(mmap.MADV_DONTNEED)
    except (AttributeError, OSError, ValueError):
        pass


class LazyRows:
    """Rows of a memmap, sparse matrix or sliceable array, read one batch at a time.

    ``rows[start:stop]`` is a dense, C-contiguous float32 ndarray (checked for
    NaN and infinity); ``rows[index]`` with an integer array or tensor is the
    ``LazyRows`` of those rows, in that order, without reading them;
    ``rows.batches(...)`` iterates over training batches like
    ``TensorBatches``.

    Parameters
    ----------
    source : np.memmap, scipy.sparse CSR matrix or sliceable 2-D array
        The data, never modified nor copied whole.
    index : ndarray of int, default=None
        The rows of ``source`` this object stands for; all of them when None.
    device : str or torch.device, default="cpu"
        Where the batches of ``batches`` go.
    name : str, default="X"
        The estimator's name, for error messages.
    """

    ndim = 2
    dtype = np.dtype(np.float32)
    # Columns of the rows handed out: all of the source's when None (see ``leading_columns``).
    width = None

    def __init__(self, source, index=None, device="cpu", name="estimator"):
        self.source = source
        self.index = index
        self.device = device
        self.name = name
        self._stats = None

    # ---------------------------------------------------------------- shape
    def __len__(self):
        return self.source.shape[0] if self.index is None else len(self.index)

    @property
    def shape(self):
        return (len(self), self.source.shape[1] if self.width is None else self.width)

    @property
    def size(self):
        return self.shape[0] * self.shape[1]

    def to(self, device):
        """The same rows, with batches placed on ``device``."""
        rows = self._view(self.index)
        rows.device, rows._stats = device, self._stats
        return rows

    def leading_columns(self, n_columns):
        """The same rows cut to their first ``n_columns`` columns (as ``X[:, :n_columns]``), not read."""
        rows = self._view(self.index)
        rows.width = min(n_columns, self.shape[1])
        return rows

    def _view(self, index):
        """A ``LazyRows`` of the same class and settings over the rows ``index`` of ``source``."""
        rows = copy.copy(self)
        rows.index, rows._stats = index, None
        return rows

    # -------------------------------------------------------------- reading
    def _read(self, positions):
        """Dense float32 rows of ``source`` at ``positions`` (a slice or sorted ints).

        Scattered rows are read ``GATHER_ROWS`` at a time, and the pages of a
        shared memmap released after each read, once its rows are copied: the
        pages mapped into the process stay bounded by a block of rows, not by
        how far apart the rows lie in the file. The rows are then converted
        at once (``_convert``) and cut to the first ``width`` columns.
        """
        if not isinstance(positions, slice) and len(positions) > GATHER_ROWS:
            block = np.concatenate(
                [
                    self._fetch(positions[start : start + GATHER_ROWS], copy=True)
                    for start in range(0, len(positions), GATHER_ROWS)
                ]
            )
        else:
            block = self._fetch(positions, copy=False)
        try:
            batch = self._convert(block)
        finally:
            _release(self.source)
        if self.width is not None and self.width < batch.shape[1]:
            batch = np.ascontiguousarray(batch[:, : self.width])
        return batch

    def _fetch(self, positions, copy):
        """The dense rows of ``source`` at ``positions``, in its dtype (a copy when ``copy``)."""
        block = self.source[positions]
        if sp.issparse(block):
            block = block.toarray()
        block = np.asarray(block)
        if copy and (block.base is not None or not block.flags.writeable):
            block = block.copy()  # not a view on the source's pages
        if copy:
            _release(self.source)
        return block

    def _convert(self, block):
        """``block`` (rows read from ``source``) as checked float32 rows, not a view on it."""
        finite = bool(np.isfinite(block).all())
        batch = np.ascontiguousarray(block, dtype=np.float32)
        if batch is block and (block.base is not None or not batch.flags.writeable):
            batch = batch.copy()  # not a view on the source's pages
        if not finite:
            raise ValueError(
                f"Input X contains NaN or infinity. {self.name} does not accept missing "
                "values: impute them first (e.g. sklearn.impute.SimpleImputer)."
            )
        if not np.isfinite(batch).all():
            raise ValueError(
                f"X has values beyond float32's range (+/-{np.finfo(np.float32).max:.3g}), "
                f"which {self.name} computes in. Scale the data first."
            )
        return batch

    def _gather(self, rows):
        """Rows of ``source`` in the order of ``rows`` (ints), read in sorted order."""
        order = np.argsort(rows, kind="stable")
        batch = self._read(rows[order])
        out = np.empty_like(batch)
        out[order] = batch
        return out

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if self.index is None and step == 1:
                return self._read(slice(start, stop))
            return self._gather(self._positions(np.arange(start, stop, step)))
        if isinstance(key, torch.Tensor):
            key = key.cpu().numpy()
        return self._view(self._positions(np.asarray(key)))

    def _positions(self, key):
        return key if self.index is None else self.index[key]

    def blocks(self, block_rows=None):
        """Consecutive float32 blocks covering every row, in order (``scan_rows`` rows each)."""
        return row_blocks(self, block_rows)

    def batches(self, batch_size, shuffle=False, generator=None):
        """Training batches as tensors on ``self.device``, shuffled like ``TensorBatches``."""
        return LazyBatches(self, batch_size, shuffle=shuffle, generator=generator)

    # ----------------------------------------------------------- statistics
    def scan(self):
        """Read every row once: check it and record its minimum and maximum."""
        low, high = np.inf, -np.inf
        for block in self.blocks():
            low, high = min(low, float(block.min())), max(high, float(block.max()))
        self._stats = {"min": low, "max": high}
        return self

    def _stat(self, name):
        if self._stats is None:
            self.scan()
        return self._stats[name]

    def min(self):
        return self._stat("min")

    def max(self):
        return self._stat("max")


class LazyBatches(TensorBatches):
    """``TensorBatches`` over a ``LazyRows``: same permutations, same batch boundaries."""

    def __iter__(self):
        rows = self.X
        n = len(rows)
        order = (
            torch.randperm(n, generator=self.generator).numpy() if self.shuffle else np.arange(n)
        )
        starts = self._starts()
        for start, stop in zip(starts[:-1], starts[1:]):
            batch = rows._gather(rows._positions(order[start:stop]))  # (B, n_features)
            yield torch.from_numpy(batch).to(rows.device)


class FloatRows(LazyRows):
    """``LazyRows`` read as float64, with missing cells (NaN) allowed when asked.

    The raw rows a column codec learns its statistics from (``TabularAE``'s
    ``skae._columns.TableCodec``): float64 keeps values beyond float32's
    range, which the codec standardizes before they reach the network.
    Infinity is refused; NaN too unless ``allow_nan``.

    Parameters
    ----------
    source, index, device, name
        As for ``LazyRows``.
    allow_nan : bool, default=False
        Whether NaN (a missing cell) is allowed.
    hint : str, default=""
        Appended to the error for a NaN that is not allowed (how to allow it).
    """

    dtype = np.dtype(np.float64)

    def __init__(self, source, index=None, device="cpu", name="estimator", *, allow_nan=False,
                 hint=""):
        super().__init__(source, index, device, name)
        self.allow_nan = allow_nan
        self.hint = hint

    def _convert(self, block):
        self._check(block)
        return np.array(block, dtype=np.float64)  # a copy: never a view on the source

    def _check(self, block):
        """Refuse infinity in ``block``, and NaN unless ``allow_nan``."""
        if np.isinf(block).any():
            raise ValueError(f"Input X contains infinity; {self.name} needs finite values.")
        if not self.allow_nan and np.isnan(block).any():
            raise ValueError(f"Input X contains NaN.{self.hint}")

    def encoded(self, encode, n_columns):
        """These rows passed through ``encode`` batch by batch (an ``EncodedRows``), not read."""
        return EncodedRows(
            self.source, encode, n_columns, self.index, self.device, self.name,
            allow_nan=self.allow_nan, hint=self.hint,
        )


class EncodedRows(FloatRows):
    """``FloatRows`` whose every batch is encoded on the fly into float32 rows.

    What ``TabularAE`` trains on out of core: ``encode`` (the column
    codec's) turns rows of the source (read in its dtype; the codec takes
    their values in float64, a few rows at a time) into the network's
    float32 input, ``n_columns`` wide, one batch (or scan block) at a time. The
    encoding is row by row, so a row's encoding does not depend on the
    rows read with it: the batches are those of the same rows encoded in
    memory.

    Parameters
    ----------
    source : np.memmap, scipy.sparse CSR matrix or sliceable 2-D array
        The raw data.
    encode : callable
        ``encode(rows) -> float32 rows`` of ``n_columns`` columns, for rows
        of any numeric dtype (the codec reads them as float64, a few at a
        time).
    n_columns : int
        Width of an encoded row.
    index, device, name, allow_nan, hint
        As for ``FloatRows``.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, source, encode, n_columns, index=None, device="cpu", name="estimator", *,
                 allow_nan=False, hint=""):
        super().__init__(source, index, device, name, allow_nan=allow_nan, hint=hint)
        self.encode = encode
        self.n_columns = n_columns

    @property
    def shape(self):
        return (len(self), self.n_columns if self.width is None else self.width)

    def _convert(self, block):
        self._check(block)
        return self.encode(block)  # block by block in float64 (no float64 copy of it whole)


def leading_columns(X, n_columns):
    """The first ``n_columns`` columns of ``X``: a view of an ndarray, or of a ``LazyRows`` (not read)."""
    if isinstance(X, LazyRows):
        return X.leading_columns(n_columns)
    return X[:, :n_columns]


class TensorBlocks:
    """The rows of a ``LazyRows`` as consecutive float32 tensor blocks, at every iteration.

    What the start functions of ``skae.nn`` (``activate_idle_units``,
    ``scale_code_to_linear_range``) take instead of one tensor of every row:
    they accumulate their statistics over the blocks in float64.
    """

    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        for block in row_blocks(self.rows):
            yield torch.from_numpy(block)  # (B, n_features), float32


def tensor_rows(X):
    """``X`` for the start functions of ``skae.nn``: a float32 tensor, or ``TensorBlocks``.

    An ndarray becomes a tensor sharing its memory (as ``torch.as_tensor``);
    a ``LazyRows`` is read block by block, never whole.
    """
    return TensorBlocks(X) if isinstance(X, LazyRows) else torch.as_tensor(X)


class CorruptedOnce:
    """Validation rows left where they are, each batch corrupted the same way at every pass.

    The out-of-core counterpart of corrupting the validation rows once
    (``BaseAutoencoder._training_tensors``): batch ``i`` of the unshuffled
    pass is corrupted with a generator seeded by ``seed + i``, so that
    early stopping compares epochs on the same noise, and yielded as an
    ``(corrupted, clean)`` pair. The noise differs from the in-memory
    draw, which corrupts every validation row at once.

    Parameters
    ----------
    rows : LazyRows
        The validation rows.
    corrupt : callable
        ``corrupt(batch, generator) -> batch``, the estimator's corruption.
    seed : int
        Seed of the first batch's corruption.
    """

    def __init__(self, rows, corrupt, seed):
        self.rows = rows
        self.corrupt = corrupt
        self.seed = seed

    def __len__(self):
        return len(self.rows)

    def batches(self, batch_size, shuffle=False, generator=None):
        """``(corrupted, clean)`` batches in row order (validation is never shuffled)."""
        return _CorruptedBatches(self, batch_size)


class _CorruptedBatches:
    def __init__(self, corrupted, batch_size):
        self.corrupted, self.batch_size = corrupted, batch_size

    def __len__(self):
        return len(self.corrupted.rows.batches(self.batch_size))

    def __iter__(self):
        owner = self.corrupted
        for i, batch in enumerate(owner.rows.batches(self.batch_size)):
            generator = torch_generator(owner.seed + i)
            yield owner.corrupt(batch, generator), batch  # (input, target), (B, n_features) each


def abs_max(X):
    """Largest absolute value of ``X`` (0 for empty input)."""
    if isinstance(X, LazyRows):
        return max(abs(X.min()), abs(X.max())) if X.size else 0.0
    return float(np.max(np.abs(X))) if X.size else 0.0


def scan_rows(n_features):
    """Rows per block of a scan over data of ``n_features`` columns."""
    return max(1, min(SCAN_ROWS, SCAN_VALUES // max(n_features, 1)))


def row_blocks(X, block_rows=None):
    """Consecutive blocks of rows of ``X`` (an array or a ``LazyRows``), in order."""
    block_rows = block_rows or scan_rows(X.shape[1])
    for start in range(0, X.shape[0], block_rows):
        yield X[start : start + block_rows]


def streamed_pca(X, n_components, *, return_variances=False):
    """PCA's components and mean, from passes over the row blocks of ``X``.

    One solver for every kind of input (an in-memory array, a memmap, a
    sparse matrix), so that the same rows give the same start whatever holds
    them, and deterministic: every PCA start in skae (the probabilistic PCA
    of ``VariationalAE`` included) comes from here. Blocks are read in
    float32 and accumulated in float64. Up to ``EXACT_PCA_MAX_FEATURES``
    columns, one pass accumulates the mean and the Gram matrix and the
    covariance is diagonalized, as scikit-learn's
    ``PCA(svd_solver="covariance_eigh")`` does. Wider data (a TF-IDF table)
    would need a covariance of ``8 * n_features**2`` bytes: a randomized
    subspace iteration (Halko et al., 2011) on the covariance, centered on
    the fly, finds the leading components instead, holding
    ``n_features x (n_components + PCA_OVERSAMPLES)`` values, with one pass
    for the mean (and the total variance) and one per iteration. The sign
    convention is scikit-learn's (``svd_flip``).

    Parameters
    ----------
    X : ndarray or LazyRows of shape (n_samples, n_features)
        The data.
    n_components : int
        Number of components, at most ``min(n_samples, n_features)``.
    return_variances : bool, default=False
        Whether to return the variances along the components and in total
        too (what probabilistic PCA needs).

    Returns
    -------
    components : ndarray of shape (n_components, n_features), float64
    mean : ndarray of shape (n_features,), float64
    explained_variance : ndarray of shape (n_components,), float64
        Only with ``return_variances``: the covariance's leading eigenvalues
        (``PCA.explained_variance_``, with ``n_samples - 1`` degrees of
        freedom), at least 0.
    total_variance : float
        Only with ``return_variances``: the trace of the covariance, the sum
        of all its eigenvalues (``PCA.noise_variance_`` is the mean of those
        beyond ``n_components`` among ``min(n_samples, n_features)``).

    References
    ----------
    Halko, N., Martinsson, P. G., & Tropp, J. A. (2011). Finding structure
    with randomness: probabilistic algorithms for constructing approximate
    matrix decompositions. SIAM Review, 53(2), 217-288.
    """
    from sklearn.utils.extmath import svd_flip

    n_samples, n_features = X.shape
    shared, key = _SHARED_PCA.get(), None
    if shared is not None and isinstance(X, np.ndarray) and n_features <= EXACT_PCA_MAX_FEATURES:
        rows = np.ascontiguousarray(X)
        key = (rows.shape, rows.dtype.str, hashlib.blake2b(rows.data, digest_size=16).digest())
        if key in shared:
            return _leading(*shared[key], n_components, return_variances)
    degrees = max(n_samples - 1, 1)
    if n_features <= EXACT_PCA_MAX_FEATURES:
        total = np.zeros(n_features)
        gram = np.zeros((n_features, n_features))
        for block in row_blocks(X):
            block = np.asarray(block, dtype=np.float32).astype(np.float64)
            total += block.sum(axis=0)
            gram += block.T @ block
        mean = total / n_samples
        covariance = (gram - n_samples * np.outer(mean, mean)) / degrees
        values, vectors = np.linalg.eigh(covariance)
        components = np.ascontiguousarray(vectors[:, ::-1].T)
        variances = np.maximum(values[::-1], 0.0)
        total_variance = float(np.trace(covariance))
        if key is None:
            components, variances = components[:n_components], variances[:n_components]
    else:
        mean, squares = np.zeros(n_features), np.zeros(n_features)
        for block in row_blocks(X):
            block = np.asarray(block, dtype=np.float32).astype(np.float64)
            mean += block.sum(axis=0)
            squares += np.square(block).sum(axis=0)
        mean /= n_samples
        total_variance = float((squares - n_samples * mean**2).sum() / degrees)
        components, variances = _randomized_components(X, n_components, mean)
    _, components = svd_flip(None, components, u_based_decision=False)
    solution = (components, mean, variances, max(total_variance, 0.0))
    if key is not None:
        shared[key] = solution
    return _leading(*solution, n_components, return_variances)


def _leading(components, mean, variances, total_variance, n_components, return_variances):
    """``streamed_pca``'s result for the ``n_components`` leading components (copies)."""
    found = (components[:n_components].copy(), mean.copy())
    if return_variances:
        found += (variances[:n_components].copy(), total_variance)
    return found


def column_variances(X):
    """The variance of each column of ``X`` (``ddof=0``), from passes over its row blocks.

    ``X`` is an ndarray or a ``LazyRows``; blocks are read in float32 and
    the variance computed in float64: ``np.var(X, axis=0, dtype=np.float64)``
    of one block, the blocks' variances combined (Chan et al., 1979).

    Returns
    -------
    variances : ndarray of shape (n_features,), float64
    """
    count, mean, squares = 0, np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for block in row_blocks(X):
        block = np.asarray(block, dtype=np.float32)
        n = len(block)
        block_mean = block.mean(axis=0, dtype=np.float64)
        block_squares = np.var(block, axis=0, dtype=np.float64) * n
        delta = block_mean - mean
        squares += block_squares + delta**2 * count * n / (count + n)
        mean += delta * n / (count + n)
        count += n
    return squares / max(count, 1)


def _covariance_times(X, Q, mean):
    """``covariance(X) @ Q`` (float64), the rows centered block by block."""
    product = np.zeros_like(Q)
    for block in row_blocks(X):
        centered = np.asarray(block, dtype=np.float32).astype(np.float64) - mean  # (B, d)
        product += centered.T @ (centered @ Q)
    return product / max(X.shape[0] - 1, 1)


def _randomized_components(X, n_components, mean):
    """The leading eigenvectors and eigenvalues of the covariance of ``X``, by subspace iteration."""
    n_samples, n_features = X.shape
    width = min(n_components + PCA_OVERSAMPLES, n_features)
    # scikit-learn's randomized_svd: 7 power iterations for few components, else 4.
    n_iter = 7 if n_components < 0.1 * min(n_samples, n_features) else 4
    Q, _ = np.linalg.qr(np.random.RandomState(0).standard_normal((n_features, width)))
    for _ in range(n_iter):
        Q, _ = np.linalg.qr(_covariance_times(X, Q, mean))  # (n_features, width), orthonormal
    small = Q.T @ _covariance_times(X, Q, mean)  # (width, width): the Rayleigh quotient
    values, vectors = np.linalg.eigh((small + small.T) / 2)
    components = np.ascontiguousarray((Q @ vectors[:, ::-1]).T[:n_components])
    return components, np.maximum(values[::-1][:n_components], 0.0)


def is_dask_collection(X):
    """Whether ``X`` is a dask collection (array or DataFrame), without importing dask."""
    return hasattr(X, "__dask_graph__")


def map_dask_blocks(X, function, n_columns):
    """Apply ``function`` (ndarray rows -> float32 rows) lazily to each row block of ``X``.

    ``X`` is a dask array or DataFrame (converted to an array with known
    block lengths); the result is a dask array of shape
    ``(n_samples, n_columns)`` with ``X``'s row blocks. Each block runs where
    dask schedules it (a worker process receives a pickled copy of the
    estimator once per block).
    """
    if hasattr(X, "to_dask_array"):
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D dask array of shape (n_samples, n_features); got {X.ndim}-D.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # whole rows in each block
    return X.map_blocks(function, dtype=np.float32, chunks=(X.chunks[0], (n_columns,)))
