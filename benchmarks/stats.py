"""Paired comparisons over seeds: mean difference, confidence interval, and a verdict.

A benchmark claim ("skae reconstructs better than PCA here") is a paired
comparison: the same split, seed by seed. The verdict is ``"better"`` or
``"worse"`` only when the 95% confidence interval of the mean paired difference
(Student's t over seeds) excludes zero; otherwise it is a ``"tie"``. With a
single seed nothing can be told apart from noise: the verdict is ``"1 seed"``.
"""

import math

import numpy as np
from scipy import stats as st

__all__ = ["geometric_mean", "paired", "verdict_mark"]

CONFIDENCE = 0.95


def paired(ours, theirs, *, lower_is_better=True, log=False):
    """Compare paired measurements ``ours`` and ``theirs`` (one per seed).

    Parameters
    ----------
    ours, theirs : array-like of shape (n_seeds,)
        The same metric for two methods, seed by seed.
    lower_is_better : bool, default=True
        Whether a lower value is better (an error) or a higher one (an accuracy).
    log : bool, default=False
        Compare ``log(ours / theirs)`` instead of ``ours - theirs`` (for
        ratios of errors); ``mean`` is then the geometric mean ratio.

    Returns
    -------
    result : dict
        ``mean`` (mean difference, or geometric mean ratio with ``log``),
        ``low`` and ``high`` (its 95% confidence interval, in the same units),
        ``n`` (seeds) and ``verdict`` (``"better"``, ``"worse"``, ``"tie"`` or
        ``"1 seed"``).

    Examples
    --------
    >>> r = paired([0.5, 0.52, 0.49], [1.0, 1.01, 0.99], log=True)
    >>> round(r["mean"], 2), r["verdict"]
    (0.5, 'better')
    >>> paired([1.0, 0.9], [0.95, 0.95])["verdict"]
    'tie'
    """
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    keep = np.isfinite(ours) & np.isfinite(theirs)
    ours, theirs = ours[keep], theirs[keep]
    n = len(ours)
    if n == 0:
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0, "verdict": "no runs"}
    diff = np.log(ours / theirs) if log else ours - theirs
    mean = float(diff.mean())
    if n == 1:
        low = high = mean
        verdict = "1 seed"
    else:
        half = float(st.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * diff.std(ddof=1) / math.sqrt(n))
        low, high = mean - half, mean + half
        if low > 0 or high < 0:
            ours_lower = high < 0
            verdict = "better" if ours_lower == lower_is_better else "worse"
        else:
            verdict = "tie"
    if log:
        mean, low, high = math.exp(mean), math.exp(low), math.exp(high)
    return {"mean": mean, "low": low, "high": high, "n": n, "verdict": verdict}


MARKS = {"better": "**{}**", "worse": "_{}_", "tie": "{}", "1 seed": "{}", "no runs": "{}"}


def verdict_mark(text, verdict):
    """``text`` in bold when better, in italics when worse, plain for a tie."""
    return MARKS[verdict].format(text)


def geometric_mean(values):
    """Geometric mean of positive values (NaN when there are none)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.exp(np.log(values).mean())) if len(values) else math.nan
