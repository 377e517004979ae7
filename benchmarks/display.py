"""How the slices show their results: ``mean ± std`` cells and saved plots.

Every slice's ``report`` uses these, so a cell or a figure means the same in
every section: the spread is the sample standard deviation over seeds
(``ddof=1``), and a plot is a PNG at 110 dpi drawn without a display.
"""

import math
from pathlib import Path

import pandas as pd

__all__ = ["format_mean_std", "mean_std", "pyplot", "save_figure"]


def format_mean_std(mean, std, fmt=".3f"):
    """``"mean ± std"``, each formatted with ``fmt``; the mean alone when ``std`` is missing.

    Parameters
    ----------
    mean, std : float
        The mean and the standard deviation; a NaN ``std`` (one value has none)
        shows the mean alone.
    fmt : str, default=".3f"
        A format spec, as for :func:`format` (``"+.2f"``, ``".4g"``, ...).
    """
    if std is None or pd.isna(std):
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(std, fmt)}"


def mean_std(values, fmt=".3f", *, one_value_std=0.0):
    """``"mean ± std"`` of ``values``: the mean and the sample standard deviation (``ddof=1``).

    Parameters
    ----------
    values : array-like of float
        One value per seed (or per seed and mask); missing values are skipped.
    fmt : str, default=".3f"
        A format spec for both numbers.
    one_value_std : float or None, default=0.0
        What one value shows as its spread (it has no sample standard
        deviation): ``0.0`` gives ``"0.812 ± 0.000"``, ``None`` the mean alone.
    """
    values = pd.Series(values, dtype=float)
    std = values.std()
    if math.isnan(std) and one_value_std is not None:
        std = one_value_std
    return format_mean_std(values.mean(), std, fmt)


def pyplot():
    """``matplotlib.pyplot`` on the file-only ``Agg`` backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, *, tight=True):
    """Write ``fig`` to ``path`` (a PNG at 110 dpi, its folder made if missing) and close it.

    ``tight=True`` lays the figure out with ``fig.tight_layout()`` first;
    ``False`` keeps the layout the caller made. Returns the path.
    """
    path = Path(path)
    if tight:
        fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path
