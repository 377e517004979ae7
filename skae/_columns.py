"""The column codec: a table of mixed column types as a network's input and output, and back.

``TableCodec`` learns, from a pandas DataFrame, the type of each column
(numeric, binary or categorical) and its encoding: numeric columns are
standardized, boolean ones become 0/1 and categorical ones are one-hot
encoded; with ``missing="learn"``, a missing indicator per column follows the
encoded cells. The network's output has one value per numeric column, one
logit per boolean column and one logit per category; ``decode`` turns it back
into a table with the original columns and dtypes, and ``cell_losses`` gives
each cell's loss (squared error, binary cross-entropy, cross-entropy).

Inside the codec the columns are grouped by type ("grouped order": numeric,
then binary, then categorical); ``order_`` maps grouped positions to the
table's columns. A *cell* is one column of one row: one encoded value for a
numeric or boolean column, a one-hot block for a categorical one.

Used by ``TabularAE`` (``skae.tabular``), which holds one as ``codec_``.
"""

import warnings

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from pandas.api.types import (
    is_bool_dtype,
    is_complex_dtype,
    is_integer_dtype,
    is_numeric_dtype,
)
from sklearn.base import BaseEstimator

from ._data import SCAN_ROWS
from ._docstrings import SECTIONS, fill_docstring

__all__ = ["FEATURE_TYPES", "TableCodec"]

# Column types, in the order their encodings are laid out in the network's input.
FEATURE_TYPES = ("numeric", "binary", "categorical")

# Beyond this, a standardized value's square (its squared error) overflows float32.
FLOAT32_SQRT_MAX = float(np.sqrt(np.finfo(np.float32).max))

# Values (rows x columns) in a block of rows that the codec fits on or encodes at once:
# its float64 temporaries (a few copies of the block) stay near 1 MB.
BLOCK_VALUES = 2**15

# Smallest baseline loss a column is normalized by (caps its weight at 10).
MIN_BASELINE = 0.1


def count_entropy(counts):
    """Entropy (nats) of the empirical distribution given by ``counts``."""
    p = np.asarray(counts, dtype=np.float64)
    p = p[p > 0] / max(p.sum(), 1.0)
    return float(-(p * np.log(p)).sum())


def column_as_float(column, name):
    """The values of a pandas column as float64, missing values as NaN."""
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Column {name!r} was numeric during fit but holds non-numeric values "
            f"now ({error})."
        ) from None


class _Moments:
    """Count, mean and spread of columns of float64 row blocks (NaN skipped), block by block.

    Each block's count, mean and sum of squared deviations are combined with
    the running ones (Chan, Golub & LeVeque, 1979): the same blocks give the
    same result whatever holds them (a DataFrame, an array, a memmap). With
    ``unit``, the moments of the values divided by it (per column), for
    columns whose plain moments overflow (squares beyond 1.8e308).
    """

    def __init__(self, n_columns, unit=None):
        self.unit = unit
        self.count = np.zeros(n_columns)
        self.mean = np.zeros(n_columns)
        self.squares = np.zeros(n_columns)
        self.magnitude = np.zeros(n_columns)

    def update(self, values):
        """Add a block ``(B, n_columns)`` of float64 values, NaN for a missing one."""
        if self.unit is not None:
            values = values / self.unit
        observed = ~np.isnan(values)
        present = np.where(observed, values, 0.0)
        n = observed.sum(0).astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            block_mean = present.sum(0) / np.maximum(n, 1.0)
            deviations = np.where(observed, values - block_mean, 0.0)
            block_squares = (deviations * deviations).sum(0)
            total = self.count + n
            delta = block_mean - self.mean
            share = np.where(total > 0, n / np.maximum(total, 1.0), 0.0)
            self.squares = self.squares + block_squares + delta * delta * self.count * share
            self.mean = self.mean + delta * share
        self.count = total
        if len(present):
            self.magnitude = np.maximum(self.magnitude, np.abs(present).max(0))

    def mean_and_std(self):
        """Each column's mean and standard deviation (``ddof=0``; 0 and 0 for an empty column)."""
        with np.errstate(over="ignore", invalid="ignore"):
            std = np.sqrt(self.squares / np.maximum(self.count, 1.0))
        mean = self.mean.copy()
        if self.unit is not None:
            mean, std = mean * self.unit, std * self.unit
        return mean, std


class _FrameRows:
    """Consecutive rows of a DataFrame, read by column: what the codec fits on and encodes."""

    def __init__(self, table, names):
        self.table, self.names = table, names

    def __len__(self):
        return len(self.table)

    def floats(self, columns):
        """Columns ``columns`` as a float64 ``(B, len(columns))`` array, NaN where missing."""
        if not columns:
            return np.zeros((len(self), 0))
        return np.column_stack([column_as_float(self.table.iloc[:, j], self.names[j]) for j in columns])

    def column(self, j):
        """Column ``j`` as a pandas Series."""
        return self.table.iloc[:, j]


class _ArrayRows(_FrameRows):
    """Consecutive rows of a numeric array (float64, NaN where missing), read by column."""

    def __init__(self, values, names):
        self.values, self.names = np.asarray(values, dtype=np.float64), names

    def __len__(self):
        return len(self.values)

    def floats(self, columns):
        return self.values[:, columns]

    def column(self, j):
        return pd.Series(self.values[:, j])


def _row_blocks(table, names):
    """``(start, rows)`` over consecutive row blocks of ``table``, each a ``_FrameRows``.

    ``table`` is a DataFrame, an ndarray or a ``skae._data.FloatRows`` (read
    block by block, never whole). A block holds at most ``BLOCK_VALUES``
    values, so the same rows fall in the same blocks whatever holds them,
    and the float64 temporaries of fitting and encoding stay small.
    """
    n_rows = max(1, min(SCAN_ROWS, BLOCK_VALUES // max(table.shape[1], 1)))
    for start in range(0, table.shape[0], n_rows):
        if isinstance(table, pd.DataFrame):
            yield start, _FrameRows(table.iloc[start : start + n_rows], names)
        else:
            yield start, _ArrayRows(table[start : start + n_rows], names)


def category_codes(column, levels):
    """Position of each value of ``column`` in ``levels``; -1 if missing or unknown."""
    return pd.Index(levels, dtype=object).get_indexer(column.to_numpy(dtype=object))


@fill_docstring(codec_statistics=SECTIONS["codec_statistics"])
class TableCodec(BaseEstimator):
    """Encode a table's columns for a network, decode its outputs, score its cells.

    Parameters
    ----------
    categorical_features : "auto" or array-like of str, int or bool, default="auto"
        Columns to treat as categorical besides those of category, string or
        object dtype: names, positions or a boolean mask.
    missing : {"error", "learn"}, default="error"
        ``"error"``: a missing cell is an error. ``"learn"``: a missing cell
        is encoded as zeros, and a missing indicator per column follows the
        encoded cells.
    name : str, default="TabularAE"
        The estimator using the codec, for error messages.

    Attributes
    ----------
    feature_types_ : ndarray of shape (n_columns,), dtype object
        ``"numeric"``, ``"binary"`` or ``"categorical"`` for each column.
%(codec_statistics)s
    column_weights_ : ndarray of shape (n_columns,)
        Weight of each column's loss: one over the loss of the best constant
        prediction (1 for a numeric column, the entropy of a boolean or
        categorical one, floored at ``MIN_BASELINE``).
    columns_ : list
        The table's column labels.
    dtypes_ : list of dtype or None
        The table's dtypes, restored by ``decode``; None when the table came
        from a plain array (``decode`` then gives float columns ``x0, x1, ...``).
    groups_ : dict of str to list of int
        The columns of each type, in column order.
    order_ : list of int
        The columns in grouped order (numeric, binary, categorical).
    starts_ : ndarray of shape (n_columns + 1,), dtype int
        Where each cell (in grouped order) starts in the encoded row; the last
        entry is ``n_encoded_``.
    n_encoded_ : int
        Width of the encoded cells (and of the network's output).
    log_priors_ : ndarray of shape (n_encoded_ - n_numeric,)
        Log-odds of each boolean column and log-frequency of each category on
        the training table, in grouped order: a network's starting output
        biases.
    empty_ : list of int
        The numeric and boolean columns without any observed value in the
        training table (all missing, with ``missing="learn"``; a warning
        says so): ``decode`` gives them 0 (False), as
        ``SimpleImputer(keep_empty_features=True)`` fills them.

    Examples
    --------
    >>> import pandas as pd
    >>> from skae._columns import TableCodec
    >>> table = pd.DataFrame({"size": [1.0, 3.0], "color": pd.Categorical(["red", "blue"])})
    >>> codec = TableCodec().fit(table)
    >>> codec.feature_types_.tolist(), codec.categories_[0].tolist()
    (['numeric', 'categorical'], ['blue', 'red'])
    >>> codec.encode(table)
    array([[-1.,  0.,  1.],
           [ 1.,  1.,  0.]], dtype=float32)
    >>> codec.decode(codec.encode(table)).equals(table)
    True
    """

    def __init__(self, categorical_features="auto", *, missing="error", name="TabularAE"):
        self.categorical_features = categorical_features
        self.missing = missing
        self.name = name

    # -------------------------------------------------------------- fitting
    def fit(self, table, *, from_frame=True):
        """Learn each column's type and encoding (means, scales, categories).

        Parameters
        ----------
        table : pandas.DataFrame, or numeric ndarray or ``skae._data.FloatRows``
            The training table; missing values as NaN, None or ``pd.NA``. A
            numeric array (NaN for a missing cell) has numeric columns,
            except those ``categorical_features`` names by position; a
            ``FloatRows`` (a memmap, a sparse matrix) is read block by block,
            never whole. The statistics are accumulated over the same row
            blocks whatever holds the rows, so that the same rows give the
            same codec.
        from_frame : bool, default=True
            Whether a DataFrame is the user's (its dtypes are then restored
            by ``decode``) or wraps a plain array.

        Returns
        -------
        self : TableCodec
            The fitted codec.
        """
        is_frame = isinstance(table, pd.DataFrame)
        columns = list(table.columns) if is_frame else list(range(table.shape[1]))
        forced = self._categorical_positions(columns)
        types = []
        for j in range(len(columns)):
            dtype = table.dtypes.iloc[j] if is_frame else np.dtype(np.float64)
            if j in forced:
                types.append("categorical")
            elif is_bool_dtype(dtype):
                types.append("binary")
            elif is_numeric_dtype(dtype) and not is_complex_dtype(dtype):
                types.append("numeric")
            else:
                types.append("categorical")
        types = np.array(types, dtype=object)
        groups = {kind: np.flatnonzero(types == kind).tolist() for kind in FEATURE_TYPES}
        names = [str(c) for c in columns]
        fixed_levels = {  # a category dtype's categories, observed or not
            j: np.asarray(table.iloc[:, j].cat.categories, dtype=object)
            for j in groups["categorical"]
            if is_frame and isinstance(table.dtypes.iloc[j], pd.CategoricalDtype)
        }

        moments, positives, observed, counts = self._statistics(
            table, names, groups, fixed_levels
        )
        means, scales = moments.mean_and_std()
        overflowed = ~(np.isfinite(means) & np.isfinite(scales))
        if overflowed.any():  # squares beyond float64's range: again, in units of the largest
            unit = np.where(overflowed & np.isfinite(moments.magnitude), moments.magnitude, 1.0)
            rescaled = _Moments(len(groups["numeric"]), unit=np.maximum(unit, 1.0))
            for _, rows in _row_blocks(table, names):
                rescaled.update(rows.floats(groups["numeric"]))
            means, scales = rescaled.mean_and_std()
            infinite = ~np.isfinite(moments.magnitude)  # infinity: refused by ``encode``
            means[infinite], scales[infinite] = 0.0, 0.0
        empty = [j for j, n in zip(groups["numeric"], moments.count) if n == 0]
        scales = np.where((scales > 0) & np.isfinite(scales), scales, 1.0)

        baselines = np.ones(len(types))
        log_priors = []
        for j, positive, n in zip(groups["binary"], positives, observed):
            if n == 0:
                empty.append(j)
            baselines[j] = count_entropy([n - positive, positive])
            p = np.clip((positive + 0.5) / (n + 1.0), 1e-6, 1 - 1e-6)
            log_priors.append([np.log(p / (1 - p))])
        categories = []
        for j in groups["categorical"]:
            levels, level_counts = counts[j]
            if len(levels) == 0:
                raise ValueError(
                    f"Categorical column {names[j]!r} has no observed value; drop it, or "
                    "give it a category dtype with its categories."
                )
            baselines[j] = count_entropy(level_counts)
            log_priors.append(
                np.log((level_counts + 0.5) / (level_counts.sum() + 0.5 * len(levels)))
            )
            categories.append(levels)

        self.feature_types_ = types
        self.mean_ = np.asarray(means, dtype=np.float64)
        self.scale_ = np.asarray(scales, dtype=np.float64)
        self.categories_ = categories
        self.column_weights_ = 1.0 / np.maximum(baselines, MIN_BASELINE)
        self.column_weights_[groups["numeric"]] = 1.0
        widths = [1] * (len(groups["numeric"]) + len(groups["binary"]))
        widths += [len(levels) for levels in categories]
        self.columns_ = columns
        self.dtypes_ = list(table.dtypes) if is_frame and from_frame else None
        self.groups_ = groups
        self.order_ = groups["numeric"] + groups["binary"] + groups["categorical"]
        self.starts_ = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        self.n_encoded_ = int(sum(widths))
        self.log_priors_ = np.concatenate(log_priors) if log_priors else np.zeros(0)
        self.empty_ = sorted(empty)
        if empty and self.missing == "learn":
            warnings.warn(
                f"Column(s) {[names[j] for j in self.empty_]} have no observed value to "
                "learn from. They are kept, and their cells are filled with 0 (False for "
                "a boolean column), as "
                "SimpleImputer(keep_empty_features=True) does. Drop them to silence this "
                "warning.",
                UserWarning,
                stacklevel=4,
            )
        return self

    @staticmethod
    def _statistics(table, names, groups, fixed_levels):
        """One pass over the row blocks of ``table``: what ``fit`` learns from.

        Returns the numeric columns' ``_Moments``, the binary columns'
        positive and observed counts, and ``{j: (levels, counts)}`` for each
        categorical column (the category dtype's levels, or the observed
        values, sorted when they can be).
        """
        moments = _Moments(len(groups["numeric"]))
        positives = np.zeros(len(groups["binary"]))
        observed = np.zeros(len(groups["binary"]))
        seen = {j: {} for j in groups["categorical"] if j not in fixed_levels}
        fixed_counts = {j: np.zeros(len(levels), dtype=np.int64) for j, levels in fixed_levels.items()}
        for _, rows in _row_blocks(table, names):
            moments.update(rows.floats(groups["numeric"]))
            binary = rows.floats(groups["binary"])
            positives += np.nansum(binary, axis=0)
            observed += (~np.isnan(binary)).sum(0)
            for j, levels in fixed_levels.items():
                codes = category_codes(rows.column(j), levels)
                fixed_counts[j] += np.bincount(codes[codes >= 0], minlength=len(levels))
            for j, tally in seen.items():
                values = rows.column(j).dropna().to_numpy(dtype=object)
                for value, count in pd.Series(values, dtype=object).value_counts(sort=False).items():
                    tally[value] = tally.get(value, 0) + int(count)
        counts = {j: (levels, fixed_counts[j]) for j, levels in fixed_levels.items()}
        for j, tally in seen.items():
            levels = list(tally)
            try:
                levels = sorted(levels)
            except TypeError:
                pass
            counts[j] = (
                np.asarray(levels, dtype=object).reshape(-1),
                np.array([tally[level] for level in levels], dtype=np.int64),
            )
        return moments, positives, observed, counts

    def _categorical_positions(self, columns):
        """The positions of the columns ``categorical_features`` names, among ``columns``."""
        if isinstance(self.categorical_features, str):
            return set()
        chosen = np.asarray(self.categorical_features)
        if chosen.dtype == bool:
            if len(chosen) != len(columns):
                raise ValueError(
                    f"categorical_features is a boolean mask of length {len(chosen)}, but "
                    f"X has {len(columns)} columns."
                )
            return set(np.flatnonzero(chosen).tolist())
        positions = set()
        for item in chosen.tolist():
            if item in columns:
                positions.add(columns.index(item))
            elif isinstance(item, int) and 0 <= item < len(columns):
                positions.add(item)
            else:
                raise ValueError(
                    f"categorical_features names {item!r}, which is neither a column name "
                    f"nor a column position of X (columns: {columns})."
                )
        return positions

    # --------------------------------------------------------------- layout
    @property
    def n_columns(self):
        """Number of columns of the table (cells per row)."""
        return len(self.order_)

    @property
    def n_inputs(self):
        """Width of an encoded row: the encoded cells, then the missing indicators if any."""
        return self.n_encoded_ + (self.n_columns if self.missing == "learn" else 0)

    @property
    def all_numeric(self):
        """Whether every column is numeric (a plain float array encodes the table)."""
        return all(kind == "numeric" for kind in self.feature_types_)

    def output_names(self):
        """The decoded table's column labels: the table's, or ``x0, x1, ...`` for an array."""
        if self.dtypes_ is None:
            return [f"x{i}" for i in range(self.n_columns)]
        return self.columns_

    def cell_of_input(self):
        """For each column of an encoded row, the cell (in grouped order) it belongs to."""
        cells = np.repeat(np.arange(self.n_columns), np.diff(self.starts_))
        if self.n_inputs > self.n_encoded_:
            cells = np.concatenate([cells, np.arange(self.n_columns)])
        return cells

    def masked_input(self):
        """An encoded row whose every cell is missing: zeros, and indicators on."""
        row = np.zeros(self.n_inputs, dtype=np.float32)
        row[self.n_encoded_ :] = 1.0
        return row

    # ------------------------------------------------------------- encoding
    def encode(self, table):
        """The network input for ``table``: encoded cells, then missing indicators.

        Parameters
        ----------
        table : pandas.DataFrame or ndarray
            A table with the training table's columns, or a numeric array of
            its rows (NaN for a missing cell). Encoded row by row (block by
            block, bounding the temporaries), so that a row's encoding does
            not depend on the rows encoded with it.

        Returns
        -------
        encoded : ndarray of shape (n_samples, n_inputs), dtype float32
            Standardized numeric values, 0/1 booleans and one-hot categories
            in grouped order (zeros for a missing cell, all zeros for an
            unknown category, with a warning), then one missing indicator per
            column with ``missing="learn"``.
        """
        names = [str(c) for c in self.columns_]
        encoded = np.zeros((len(table), self.n_inputs), dtype=np.float32)
        missing = np.zeros((len(table), self.n_columns), dtype=bool)
        unknown = []
        for start, rows in _row_blocks(table, names):
            stop = start + len(rows)
            self._encode_rows(rows, encoded[start:stop], missing[start:stop], unknown, start)
        if missing.any() and self.missing != "learn":
            holes = [names[j] for j, m in zip(self.order_, missing.any(0)) if m]
            raise ValueError(
                f"Input X contains NaN or other missing values, in column(s) {holes}. "
                f"Pass missing='learn' to {self.name} to train on the observed "
                "cells only and impute the missing ones, or impute them first (e.g. "
                "sklearn.impute.SimpleImputer)."
            )
        if unknown:
            warnings.warn(
                f"Found unknown categories in column(s) {sorted(set(unknown), key=unknown.index)}; "
                "they are encoded as all zeros, as OneHotEncoder(handle_unknown='ignore') does.",
                UserWarning,
                stacklevel=3,
            )
        if self.missing == "learn":
            encoded[:, self.n_encoded_ :] = missing
        return encoded

    def _encode_rows(self, rows, encoded, missing, unknown, offset):
        """Fill ``encoded`` (float32) and ``missing`` (bool) for the block ``rows``, in place.

        ``unknown`` collects the names of columns with unknown categories;
        ``offset`` is the block's first row, for error messages.
        """
        groups, starts, names = self.groups_, self.starts_, rows.names
        n_numeric, n_binary = len(groups["numeric"]), len(groups["binary"])
        values = rows.floats(groups["numeric"])  # (B, n_numeric), float64
        infinite = np.isinf(values).any(0)
        if infinite.any():
            name = names[groups["numeric"][int(np.flatnonzero(infinite)[0])]]
            raise ValueError(
                f"Input X contains infinity in column {name!r}; {self.name} needs finite values."
            )
        holes = np.isnan(values)
        scaled = (values - self.mean_) / self.scale_
        self._check_standardized(scaled, values, names, offset)
        encoded[:, :n_numeric] = np.where(holes, 0.0, scaled)
        missing[:, :n_numeric] = holes
        flags = rows.floats(groups["binary"])  # (B, n_binary)
        holes = np.isnan(flags)
        encoded[:, n_numeric : n_numeric + n_binary] = np.where(holes, 0.0, flags != 0)
        missing[:, n_numeric : n_numeric + n_binary] = holes
        g = n_numeric + n_binary
        for levels, j in zip(self.categories_, groups["categorical"]):
            column = rows.column(j)
            codes = category_codes(column, levels)
            missing[:, g] = column.isna().to_numpy()
            if np.any((codes < 0) & ~missing[:, g]):
                unknown.append(names[j])
            found = np.flatnonzero(codes >= 0)
            encoded[found, starts[g] + codes[found]] = 1.0
            g += 1

    def _check_standardized(self, scaled, values, names, offset):
        """Refuse standardized values whose square overflows float32 (the network's precision).

        ``scaled``: the standardized values ``(B, n_numeric)`` of the numeric
        columns, whose raw ``values`` they are; ``offset``: the first row's
        number in the table.
        """
        with np.errstate(invalid="ignore"):
            beyond = np.abs(scaled) > FLOAT32_SQRT_MAX  # NaN (missing): False
        if not beyond.any():
            return
        g = int(np.flatnonzero(beyond.any(0))[0])
        row = int(np.flatnonzero(beyond[:, g])[0])
        name = names[self.groups_["numeric"][g]]
        raise ValueError(
            f"X has values too large for float32 once standardized: column {name!r} holds "
            f"{values[row, g]:.3g} (row {offset + row}), {abs(scaled[row, g]):.3g} training "
            f"standard deviations ({self.scale_[g]:.3g}) from its training mean "
            f"({self.mean_[g]:.3g}). {self.name} computes in float32, where the square of a "
            f"value beyond +/-{FLOAT32_SQRT_MAX:.3g} overflows. Check the column's units: "
            "scale it as during fit."
        )

    def decode(self, raw, index=None):
        """The table that raw network outputs stand for.

        Parameters
        ----------
        raw : ndarray of shape (n_samples, n_encoded_)
            Network outputs: standardized numeric values, then logits.
        index : pandas.Index, default=None
            The index of the table; a range when None.

        Returns
        -------
        table : pandas.DataFrame of shape (n_samples, n_columns)
            The columns of ``output_names()`` in the table's order, with the
            table's dtypes: numeric values on their scale (integers rounded),
            booleans from the sign of their logit, the most likely category.
        """
        groups, starts = self.groups_, self.starts_
        values = {}
        g = 0
        empty = getattr(self, "empty_", [])  # columns without observed value: 0 and False
        for j in groups["numeric"]:
            values[j] = raw[:, starts[g]].astype(np.float64) * self.scale_[g] + self.mean_[g]
            if j in empty:
                values[j] = np.zeros(len(raw))
            g += 1
        for j in groups["binary"]:
            values[j] = (raw[:, starts[g]] > 0) & (j not in empty)
            g += 1
        for levels, j in zip(self.categories_, groups["categorical"]):
            values[j] = levels[np.argmax(raw[:, starts[g] : starts[g + 1]], axis=1)]
            g += 1
        names = self.output_names()
        columns = []
        for j, name in enumerate(names):
            column = pd.Series(values[j], index=index, name=name)
            if self.dtypes_ is not None:
                dtype = self.dtypes_[j]
                if is_integer_dtype(dtype) and self.feature_types_[j] == "numeric":
                    info = np.iinfo(np.dtype(getattr(dtype, "numpy_dtype", dtype)))
                    column = column.round().clip(info.min, info.max)
                column = column.astype(dtype)
            columns.append(column)
        table = pd.concat(columns, axis=1)
        table.columns = names
        return table

    def fill(self, table, decoded, holes, *, as_frame):
        """``table`` with the cells that ``holes`` marks taken from ``decoded``.

        Parameters
        ----------
        table : pandas.DataFrame
            The table to fill, not modified.
        decoded : pandas.DataFrame
            A table of the same shape, as ``decode`` returns it.
        holes : pandas.DataFrame of bool
            The cells to fill (e.g. ``table.isna()``).
        as_frame : bool
            Whether to return a DataFrame (keeping ``table``'s index, columns
            and dtypes) or an ndarray.

        Returns
        -------
        filled : pandas.DataFrame or ndarray
            A copy of ``table`` with the marked cells filled.
        """
        if as_frame:
            filled = table.copy()
            for j in range(table.shape[1]):
                hole = holes.iloc[:, j]
                if hole.any():
                    column = decoded.iloc[:, j].astype(table.dtypes.iloc[j])
                    filled.iloc[:, j] = table.iloc[:, j].mask(hole, column)
            return filled
        filled = table.to_numpy(copy=True)
        for j in range(table.shape[1]):
            hole = holes.iloc[:, j].to_numpy()
            filled[hole, j] = decoded.iloc[:, j].to_numpy()[hole]
        return filled

    # --------------------------------------------------------------- losses
    def cell_losses(self, reconstruction, X):
        """Unweighted loss of each cell ``(B, n_columns)``, in grouped order.

        Parameters
        ----------
        reconstruction : torch.Tensor of shape (B, n_encoded_)
            Network outputs.
        X : torch.Tensor of shape (B, n_inputs)
            The encoded clean rows (missing indicators, if any, are ignored).

        Returns
        -------
        losses : torch.Tensor of shape (B, n_columns)
            Squared error for numeric cells, binary cross-entropy with logits
            for boolean ones, cross-entropy with logits for categorical ones.
        """
        groups, starts = self.groups_, self.starts_
        n_numeric = len(groups["numeric"])
        n_flat = n_numeric + len(groups["binary"])
        target = X[:, : self.n_encoded_]
        parts = [(reconstruction[:, :n_numeric] - target[:, :n_numeric]) ** 2]
        parts.append(
            F.binary_cross_entropy_with_logits(
                reconstruction[:, n_numeric:n_flat], target[:, n_numeric:n_flat], reduction="none"
            )
        )
        for start, stop in zip(starts[n_flat:-1], starts[n_flat + 1 :]):
            log_p = F.log_softmax(reconstruction[:, start:stop], dim=1)
            parts.append(-(target[:, start:stop] * log_p).sum(1, keepdim=True))
        return torch.cat(parts, 1)

    def observed(self, X):
        """Observed-cell mask ``(B, n_columns)`` (1.0 or 0.0) of encoded clean rows ``X``."""
        if X.shape[1] > self.n_encoded_:
            return 1.0 - X[:, self.n_encoded_ :]
        return torch.ones(len(X), self.n_columns, device=X.device)
