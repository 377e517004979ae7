"""The ``torch.distributed`` process group as skae sees it: data-parallel training.

With ``distributed=True`` and a process group initialized (by ``torchrun``,
``accelerate launch``, or ``torch.distributed.init_process_group`` on a
cluster), each rank calls ``fit`` with its own rows and all ranks train one
model. ``DataParallel`` holds what the estimator and the training engine
need for that, each a collective call that every rank makes at the same
point of the same code path:

* ``check_rows``: one ``all_gather`` of every rank's row count, feature count
  and validation outcome, so that a rank whose rows fail validation, or
  ranks that disagree on the number of features, make *every* rank raise the
  same error instead of leaving the others waiting;
* ``total`` / ``all_sum``: sums over ranks, in float64, for the number of rows
  the training budget is read from and the cross-validation weights;
* ``steps_per_epoch``: the optimizer steps of an epoch over the global rows,
  the same on every rank (each rank splits its rows into that many batches,
  in proportion to its rows), so that ranks never run different numbers of
  collective calls;
* ``average_gradients``: one flattened ``all_reduce`` per step, each rank's
  gradient weighted by its batch's rows, so that the result is the gradient
  of the mean loss over the global batch;
* ``mean_loss``: the epoch's loss over every rank's rows, so that early
  stopping and cross-validation decide on the same number everywhere;
* ``pca``: PCA's start from every rank's rows (an all-reduced sum and Gram
  matrix in float64, diagonalized, components broadcast from rank 0);
* ``agree``: a local step of ``fit`` (validating targets, say) whose failure
  on one rank makes every rank raise, before the next collective call;
* ``column_means`` / ``gather_values``: the statistics the wrappers learn
  from every rank's rows (an outlier detector's means, medians and
  percentiles, a regressor's target scale);
* ``merge_table_codec``: ``TabularAE``'s column encoding learned from every
  rank's table (pooled means and scales, summed frequencies, the union of
  the categories).

Every rank starts from the same weights (the seed is broadcast from rank 0)
and applies the same averaged gradients with the same optimizer, so the
weights stay identical on every rank without being broadcast again.

``DataParallel`` holds numbers only (rank and world size), not the process
group's handle, so a fitted estimator pickles as usual; the collective calls
go to the default process group.
"""

import contextlib
import contextvars
import math

import numpy as np
import torch

from ._budget import n_batches
from ._data import EXACT_PCA_MAX_FEATURES, PCA_OVERSAMPLES, row_blocks

__all__ = ["DataParallel", "active_parallel", "check_process_group", "data_parallel"]

# The DataParallel of the fit running in this context, or None.
_ACTIVE = contextvars.ContextVar("skae_data_parallel", default=None)

START_HINT = (
    "Start one before calling fit: launch the script with `torchrun --nproc_per_node N "
    "script.py` (or `accelerate launch`) and call "
    "torch.distributed.init_process_group(backend='gloo' or 'nccl') in it, or set "
    "distributed=False to train on this process's rows alone."
)


def _dist():
    import torch.distributed as dist

    return dist


def check_process_group(distributed):
    """The ``DataParallel`` of the default process group, or ``None``.

    Parameters
    ----------
    distributed : bool
        The estimator's ``distributed`` parameter.

    Returns
    -------
    parallel : DataParallel or None
        ``None`` when ``distributed`` is false.

    Raises
    ------
    ValueError
        When ``distributed`` is true and no process group is initialized.

    Examples
    --------
    >>> from skae._distributed import check_process_group
    >>> check_process_group(False) is None
    True
    >>> check_process_group(True)
    Traceback (most recent call last):
    ...
    ValueError: distributed=True needs an initialized torch.distributed process group, ...
    """
    if not distributed:
        return None
    dist = _dist()
    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError(
            "distributed=True needs an initialized torch.distributed process group, "
            f"and there is none in this process. {START_HINT}"
        )
    return DataParallel(rank=dist.get_rank(), world_size=dist.get_world_size())


def active_parallel():
    """The ``DataParallel`` of the ``fit`` running in this context, or ``None``."""
    return _ACTIVE.get()


@contextlib.contextmanager
def data_parallel(parallel):
    """Within the block, ``active_parallel()`` is ``parallel`` (``None``: not distributed)."""
    token = _ACTIVE.set(parallel)
    try:
        yield parallel
    finally:
        _ACTIVE.reset(token)


def _apportion(total, weights):
    """``total`` split in integers proportional to ``weights`` (largest remainders)."""
    weights = np.asarray(weights, dtype=np.float64)
    exact = total * weights / weights.sum()
    shares = np.floor(exact).astype(np.int64)
    remainders = exact - shares
    order = np.argsort(-remainders, kind="stable")
    shares[order[: total - int(shares.sum())]] += 1
    return shares


def _failed_on(name, ranks):
    return (
        f"{name}.fit failed on rank(s) {', '.join(map(str, ranks))} of the process "
        "group (distributed=True): see the error raised there. Every rank stops so "
        "that none waits for the others."
    )


class DataParallel:
    """Collective operations of data-parallel training over the default process group.

    Parameters
    ----------
    rank : int
        This process's rank.
    world_size : int
        Number of ranks.

    Attributes
    ----------
    row_counts : ndarray of int or None
        Every rank's number of rows, from the last ``check_rows``.
    """

    def __init__(self, rank, world_size):
        self.rank = rank
        self.world_size = world_size
        self.row_counts = None
        self._flat = None  # the gradients' buffer, reused from step to step
        self._global_batches = None  # the rows of each step of an epoch, over every rank
        self._steps = 0

    def __repr__(self):
        return f"DataParallel(rank={self.rank}, world_size={self.world_size})"

    def __getstate__(self):  # the counts describe one call's data, not the model
        return {"rank": self.rank, "world_size": self.world_size, "row_counts": None,
                "_flat": None, "_global_batches": None, "_steps": 0}

    # -------------------------------------------------------------- plumbing
    def _device(self):
        """Where collective tensors live: the current CUDA device under NCCL, else the CPU."""
        if _dist().get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def _all_gather(self, values):
        """Every rank's ``values`` (a 1-D float64 array), as rows of an array."""
        dist = _dist()
        local = torch.as_tensor(np.asarray(values, dtype=np.float64), device=self._device())
        gathered = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(gathered, local)
        return torch.stack(gathered).cpu().numpy()

    def all_sum(self, values):
        """The sum over ranks of ``values`` (array-like), in float64."""
        array = np.asarray(values, dtype=np.float64)
        tensor = torch.as_tensor(array.reshape(-1), device=self._device()).clone()
        _dist().all_reduce(tensor)
        return tensor.cpu().numpy().reshape(array.shape)

    def total(self, n):
        """The sum over ranks of the integer ``n``."""
        return int(round(float(self.all_sum([n])[0])))

    def broadcast_int(self, value):
        """Rank 0's ``value`` (an int), on every rank."""
        tensor = torch.tensor([int(value)], dtype=torch.int64, device=self._device())
        _dist().broadcast(tensor, src=0)
        return int(tensor.item())

    def all_gather_objects(self, value):
        """Every rank's picklable ``value``, in rank order (for small values only)."""
        gathered = [None] * self.world_size
        _dist().all_gather_object(gathered, value)
        return gathered

    def gather_values(self, values):
        """Every rank's 1-D ``values`` (lengths may differ), concatenated in rank order, float64.

        For one number per row (scores, residuals) whose quantiles need every
        rank's rows: the quantiles of the result are those of one process
        holding all the rows.
        """
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        lengths = self._all_gather([len(values)])[:, 0].astype(np.int64)
        if lengths.max() == 0:
            return np.zeros(0)
        padded = np.zeros(int(lengths.max()))
        padded[: len(values)] = values
        gathered = self._all_gather(padded)
        return np.concatenate([row[:n] for row, n in zip(gathered, lengths)])

    def column_means(self, values):
        """Mean of each column of ``values`` (2-D) over every rank's rows, and the row count."""
        values = np.asarray(values, dtype=np.float64)
        sums = self.all_sum(np.concatenate([[len(values)], values.sum(axis=0)]))
        return sums[1:] / max(sums[0], 1.0), int(round(sums[0]))

    # ---------------------------------------------------------------- checks
    def agree(self, function, name):
        """``function()`` on this rank; if it raised on any rank, an error on every rank.

        For the local steps of a ``fit`` (validation, targets) that come
        before a collective call: one ``all_gather`` of each rank's outcome,
        then the failing rank re-raises its own error and the others a
        ``ValueError`` naming it, so that none is left waiting.
        """
        result, error = None, None
        try:
            result = function()
        except Exception as caught:  # shared below, then re-raised
            error = caught
        failed = np.flatnonzero(self._all_gather([float(error is not None)])[:, 0])
        if error is not None:
            raise error
        if len(failed):
            raise ValueError(_failed_on(name, failed))
        return result

    def check_rows(self, validate, name):
        """Validate this rank's rows with ``validate()``, agreeing with every rank.

        ``validate()`` returns the validated rows, or raises. One
        ``all_gather`` shares each rank's outcome, row count and feature
        count, then every rank raises when any rank failed, when the ranks
        have different numbers of features, or when a rank has no rows:
        the same error everywhere (the failing rank re-raises its own), so
        that no rank is left waiting for the others.

        Returns
        -------
        X : the validated rows of this rank.
        """
        X, error, shape = None, None, (0, -1)
        try:
            X = validate()
            shape = X.shape
        except Exception as caught:  # shared below, then re-raised
            error = caught
        outcomes = self._all_gather([float(error is not None), shape[0], shape[1]])
        failed = np.flatnonzero(outcomes[:, 0])
        if error is not None:
            raise error
        if len(failed):
            raise ValueError(_failed_on(name, failed))
        n_rows, n_features = outcomes[:, 1].astype(np.int64), outcomes[:, 2].astype(np.int64)
        if len(set(n_features.tolist())) > 1:
            per_rank = ", ".join(f"rank {r}: {n}" for r, n in enumerate(n_features))
            raise ValueError(
                f"{name}.fit with distributed=True needs the same number of features on "
                f"every rank; got {per_rank}. Give every rank rows of the same columns."
            )
        empty = np.flatnonzero(n_rows < 1)
        if len(empty):
            raise ValueError(
                f"{name}.fit with distributed=True needs at least one row on every rank; "
                f"rank(s) {', '.join(map(str, empty))} have none. Split the rows so that "
                "every rank gets some."
            )
        self.row_counts = n_rows
        return X

    # -------------------------------------------------------------- training
    def local_share(self, n_global):
        """This rank's part of ``n_global`` rows, in proportion to its rows (``check_rows``).

        At most its rows minus one, so that a held-out share leaves a row to train on.
        """
        shares = _apportion(int(n_global), self.row_counts)
        return int(min(shares[self.rank], max(self.row_counts[self.rank] - 1, 0)))

    def steps_per_epoch(self, n_local, batch_size, name="the estimator"):
        """Optimizer steps of an epoch: those of ``batch_size`` over the global rows.

        The same on every rank; each rank splits its ``n_local`` rows into
        that many batches. At most the fewest rows of a rank, so that no
        batch is empty.
        """
        counts = self._all_gather([n_local])[:, 0].astype(np.int64)
        if counts.min() < 1:
            empty = ", ".join(map(str, np.flatnonzero(counts < 1)))
            raise ValueError(
                f"{name}: rank(s) {empty} have no training rows in this data-parallel "
                "step (distributed=True). Give every rank more rows."
            )
        steps = max(1, min(n_batches(int(counts.sum()), batch_size), int(counts.min())))
        # Each rank's batches are TensorBatches(n_batches=steps) boundaries: the global
        # batch of every step is known on every rank without asking.
        bounds = np.arange(steps + 1)[None, :] * counts[:, None] // steps  # (ranks, steps + 1)
        self._global_batches = np.diff(bounds, axis=1).sum(axis=0)
        self._steps = 0
        return steps

    def average_gradients(self, parameters, n_rows):
        """Replace each gradient by the mean-loss gradient of the global batch.

        Each rank's gradient is that of its batch's mean loss, weighted by
        the batch's share ``n_rows / global rows`` of the step (known from
        ``steps_per_epoch``); one ``all_reduce`` of all gradients, flattened
        into a buffer reused from step to step, sums them. The gradients
        become views of that buffer until the next step. A parameter without
        a gradient contributes zeros (and receives the average).
        """
        parameters = [p for p in parameters if p.requires_grad]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
        if self._global_batches is None:  # not from an iterator of steps_per_epoch
            global_rows = self.total(n_rows)
        else:
            global_rows = int(self._global_batches[self._steps % len(self._global_batches)])
            self._steps += 1
        size = sum(g.numel() for g in grads)
        flat = self._flat
        if (
            flat is None
            or flat.numel() != size
            or flat.dtype != grads[0].dtype
            or flat.device != grads[0].device
            or any(g._base is flat for g in grads)  # last step's views, accumulated into
        ):
            flat = self._flat = torch.empty(size, dtype=grads[0].dtype, device=grads[0].device)
        torch.cat([g.reshape(-1) for g in grads], out=flat)
        flat.mul_(n_rows / global_rows)
        _dist().all_reduce(flat)
        offset = 0
        for p in parameters:
            size = p.numel()
            p.grad = flat[offset : offset + size].view_as(p)
            offset += size

    def sum_with_count(self, values, count):
        """``values`` (a tensor) and ``count`` (a number) summed over ranks, in float64."""
        count = torch.tensor([float(count)], dtype=torch.float64, device=values.device)
        flat = torch.cat([values.detach().double().reshape(-1), count])
        _dist().all_reduce(flat)
        return flat[:-1].reshape(values.shape), float(flat[-1])

    def mean_loss(self, values, sizes):
        """Mean over every rank's rows of per-batch mean losses ``values`` (float64, CPU).

        Each weighted by its batch's rows in ``sizes``; a rank without
        batches adds nothing.
        """
        local = float(values @ torch.tensor(sizes, dtype=torch.float64)) if sizes else 0.0
        loss_sum, rows = self.all_sum([local, float(sum(sizes))])
        return loss_sum / rows if rows else math.nan

    @torch.no_grad()
    def average_buffers(self, module):
        """Average batch normalization's running statistics over ranks (each saw its batches)."""
        batch_norm = torch.nn.modules.batchnorm._BatchNorm
        norms = [m for m in module.modules() if isinstance(m, batch_norm)]
        buffers = [
            b for m in norms for b in (m.running_mean, m.running_var) if b is not None
        ]
        if not buffers:
            return
        flat = torch.cat([b.reshape(-1) for b in buffers]) / self.world_size
        _dist().all_reduce(flat)
        offset = 0
        for b in buffers:
            b.copy_(flat[offset : offset + b.numel()].view_as(b))
            offset += b.numel()

    @torch.no_grad()
    def broadcast_module(self, module):
        """Give every rank rank 0's weights and buffers (one broadcast per dtype).

        ``fit`` calls it on a new network: a start built from this rank's rows
        alone (``VariationalAE``'s probabilistic PCA) is then rank 0's
        everywhere, and training keeps the ranks identical from there.
        """
        tensors = list(module.parameters()) + list(module.buffers())
        for dtype in sorted({t.dtype for t in tensors}, key=str):
            group = [t for t in tensors if t.dtype == dtype]
            flat = torch.cat([t.detach().reshape(-1) for t in group]).to(self._device())
            _dist().broadcast(flat, src=0)
            offset = 0
            for t in group:
                t.copy_(flat[offset : offset + t.numel()].view_as(t))
                offset += t.numel()

    # ------------------------------------------------------------------- PCA
    def _broadcast(self, array):
        """Rank 0's float64 ``array``, on every rank (the same bits everywhere)."""
        array = np.ascontiguousarray(array, dtype=np.float64)
        tensor = torch.as_tensor(array, device=self._device())
        _dist().broadcast(tensor, src=0)
        return tensor.cpu().numpy()

    def pca(self, X, n_components, *, return_variances=False):
        """``skae._data.streamed_pca`` over every rank's rows.

        Up to ``EXACT_PCA_MAX_FEATURES`` columns, one ``all_reduce`` of the
        row count, sum and Gram matrix in float64, then the covariance's
        eigenvectors; wider data take the randomized subspace iteration,
        one ``all_reduce`` per pass. The components are broadcast from
        rank 0, so that every rank starts from the same bits.

        Returns
        -------
        components : ndarray of shape (min(n_components, n_rows), n_features), float64
        mean : ndarray of shape (n_features,), float64
        explained_variance : ndarray, float64
            Only with ``return_variances``: the covariance's leading eigenvalues.
        total_variance : float
            Only with ``return_variances``: the trace of the covariance.
        """
        from sklearn.utils.extmath import svd_flip

        n_features = X.shape[1]
        if n_features <= EXACT_PCA_MAX_FEATURES:
            n_samples, total, gram = self._sums(X)
            mean = total / n_samples
            covariance = (gram - n_samples * np.outer(mean, mean)) / max(n_samples - 1, 1)
            values, vectors = np.linalg.eigh(covariance)
            values, components = values[::-1], np.ascontiguousarray(vectors[:, ::-1].T)
            total_variance = float(np.trace(covariance))
        else:
            n_samples, column_sums, squares = self._column_moments(X)
            mean = column_sums / n_samples
            total_variance = float((squares - n_samples * mean**2).sum() / max(n_samples - 1, 1))
            values, components = self._randomized_components(
                X, min(n_components, n_samples), mean, n_samples
            )
        n_kept = min(n_components, n_samples)
        components = components[:n_kept]
        _, components = svd_flip(None, components, u_based_decision=False)
        components = self._broadcast(components)
        if return_variances:
            return components, mean, np.maximum(values[:n_kept], 0.0), max(total_variance, 0.0)
        return components, mean

    def _sums(self, X):
        """Row count, column sums and Gram matrix of every rank's rows (float64)."""
        n_features = X.shape[1]
        sums = np.zeros(1 + n_features + n_features * n_features)
        total, gram = sums[1 : 1 + n_features], sums[1 + n_features :].reshape(n_features, -1)
        sums[0] = X.shape[0]
        for block in row_blocks(X):
            block = np.asarray(block, dtype=np.float32).astype(np.float64)
            total += block.sum(axis=0)
            gram += block.T @ block
        sums = self.all_sum(sums)
        return (
            int(round(sums[0])),
            sums[1 : 1 + n_features],
            sums[1 + n_features :].reshape(n_features, n_features),
        )

    def _column_moments(self, X):
        """Row count, column sums and column sums of squares of every rank's rows (float64)."""
        n_features = X.shape[1]
        sums = np.zeros(1 + 2 * n_features)
        sums[0] = X.shape[0]
        for block in row_blocks(X):
            block = np.asarray(block, dtype=np.float32).astype(np.float64)
            sums[1 : 1 + n_features] += block.sum(axis=0)
            sums[1 + n_features :] += (block * block).sum(axis=0)
        sums = self.all_sum(sums)
        return int(round(sums[0])), sums[1 : 1 + n_features], sums[1 + n_features :]

    def feature_variances(self, X):
        """Each column's variance (``ddof=0``) over every rank's rows, and the row count."""
        n_samples, column_sums, squares = self._column_moments(X)
        mean = column_sums / max(n_samples, 1)
        return np.maximum(squares / max(n_samples, 1) - mean * mean, 0.0), n_samples

    def _covariance_times(self, X, Q, mean, n_samples):
        product = np.zeros_like(Q)
        for block in row_blocks(X):
            centered = np.asarray(block, dtype=np.float32).astype(np.float64) - mean  # (B, d)
            product += centered.T @ (centered @ Q)
        return self.all_sum(product) / max(n_samples - 1, 1)

    def _randomized_components(self, X, n_components, mean, n_samples):
        """Eigenvalues and components of ``skae._data``'s randomized iteration, over ranks."""
        n_features = X.shape[1]
        width = min(n_components + PCA_OVERSAMPLES, n_features)
        n_iter = 7 if n_components < 0.1 * min(n_samples, n_features) else 4
        Q, _ = np.linalg.qr(np.random.RandomState(0).standard_normal((n_features, width)))
        for _ in range(n_iter):
            Q, _ = np.linalg.qr(self._covariance_times(X, Q, mean, n_samples))
            Q = self._broadcast(Q)  # the same basis on every rank
        small = Q.T @ self._covariance_times(X, Q, mean, n_samples)  # (width, width)
        values, vectors = np.linalg.eigh((small + small.T) / 2)
        return values[::-1], np.ascontiguousarray((Q @ vectors[:, ::-1]).T[:n_components])


# ----------------------------------------------------------------- tables
def _table_statistics(codec, table):
    """What ``TableCodec.fit`` learned from ``table``, as parts that add up over ranks.

    Numeric columns: observed count, mean and sum of squared deviations;
    boolean columns: observed count and positives; categorical columns:
    the levels seen and their counts.
    """
    from ._columns import category_codes, column_as_float

    names = [str(c) for c in table.columns]
    numeric, binary, categorical = [], [], []
    for j in codec.groups_["numeric"]:
        values = column_as_float(table.iloc[:, j], names[j])
        observed = values[~np.isnan(values)]
        mean = float(observed.mean()) if observed.size else 0.0
        numeric.append((observed.size, mean, float(((observed - mean) ** 2).sum())))
    for j in codec.groups_["binary"]:
        values = column_as_float(table.iloc[:, j], names[j])
        binary.append((int(np.sum(~np.isnan(values))), float(np.nansum(values))))
    for levels, j in zip(codec.categories_, codec.groups_["categorical"]):
        codes = category_codes(table.iloc[:, j], levels)
        categorical.append((list(levels), np.bincount(codes[codes >= 0], minlength=len(levels))))
    return {
        "columns": [str(c) for c in codec.columns_],
        "types": list(codec.feature_types_),
        "dtypes": codec.dtypes_,
        "numeric": numeric,
        "binary": binary,
        "categorical": categorical,
    }


def _merged_levels(per_rank):
    """The categories of one column over ranks: as they are if every rank saw the same."""
    if all(levels == per_rank[0] for levels in per_rank):
        return per_rank[0]
    seen = list(dict.fromkeys(level for levels in per_rank for level in levels))
    try:
        return sorted(seen)
    except TypeError:
        return seen


def merge_table_codec(codec, table, parallel, name):
    """``codec`` (fitted on this rank's ``table``) made the codec of every rank's rows.

    Means and scales of numeric columns, frequencies of boolean and
    categorical columns, the union of the categories and the columns'
    loss weights are those ``TableCodec.fit`` learns from all the rows
    together (up to rounding), the same on every rank. Every rank must give
    the same columns, of the same types.
    """
    from pandas import CategoricalDtype

    from ._columns import MIN_BASELINE, count_entropy

    ranks = parallel.all_gather_objects(_table_statistics(codec, table))
    first = ranks[0]
    for rank, stats in enumerate(ranks):
        if stats["columns"] != first["columns"] or stats["types"] != first["types"]:
            raise ValueError(
                f"{name}.fit with distributed=True needs the same columns, of the same types, "
                f"on every rank; rank 0 has {list(zip(first['columns'], first['types']))} and "
                f"rank {rank} {list(zip(stats['columns'], stats['types']))}. Give every rank "
                "the same columns with the same dtypes (e.g. the same category dtype)."
            )
    groups = codec.groups_
    baselines = np.ones(len(first["types"]))
    means, scales, empty = [], [], []
    for g, j in enumerate(groups["numeric"]):
        counts = np.array([r["numeric"][g][0] for r in ranks], dtype=np.float64)
        rank_means = np.array([r["numeric"][g][1] for r in ranks])
        squares = np.array([r["numeric"][g][2] for r in ranks])
        n = counts.sum()
        if n == 0:
            empty.append(j)
        mean = float(counts @ rank_means / n) if n else 0.0
        std = float(np.sqrt((squares.sum() + counts @ (rank_means - mean) ** 2) / n)) if n else 0.0
        means.append(mean)
        scales.append(std if std > 0 and np.isfinite(std) else 1.0)
    log_priors = []
    for g, j in enumerate(groups["binary"]):
        n_observed = sum(r["binary"][g][0] for r in ranks)
        positive = sum(r["binary"][g][1] for r in ranks)
        if n_observed == 0:
            empty.append(j)
        counts = [n_observed - positive, positive]
        baselines[j] = count_entropy(counts)
        p = np.clip((positive + 0.5) / (n_observed + 1.0), 1e-6, 1 - 1e-6)
        log_priors.append([np.log(p / (1 - p))])
    categories, dtypes = [], None if first["dtypes"] is None else list(first["dtypes"])
    for g, j in enumerate(groups["categorical"]):
        levels = _merged_levels([r["categorical"][g][0] for r in ranks])
        position = {level: i for i, level in enumerate(levels)}
        counts = np.zeros(len(levels), dtype=np.int64)
        for r in ranks:
            rank_levels, rank_counts = r["categorical"][g]
            counts[[position[level] for level in rank_levels]] += rank_counts
        baselines[j] = count_entropy(counts)
        log_priors.append(np.log((counts + 0.5) / (counts.sum() + 0.5 * len(levels))))
        categories.append(np.array(levels, dtype=object))
        if dtypes is not None and isinstance(dtypes[j], CategoricalDtype):
            if list(dtypes[j].categories) != levels:
                dtypes[j] = CategoricalDtype(levels, ordered=dtypes[j].ordered)
    widths = [1] * (len(groups["numeric"]) + len(groups["binary"]))
    widths += [len(levels) for levels in categories]
    codec.mean_ = np.array(means, dtype=np.float64)
    codec.scale_ = np.array(scales, dtype=np.float64)
    codec.categories_ = categories
    codec.column_weights_ = 1.0 / np.maximum(baselines, MIN_BASELINE)
    codec.column_weights_[groups["numeric"]] = 1.0
    codec.dtypes_ = dtypes
    codec.starts_ = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    codec.n_encoded_ = int(sum(widths))
    codec.log_priors_ = np.concatenate(log_priors) if log_priors else np.zeros(0)
    codec.empty_ = sorted(empty)
    return codec
