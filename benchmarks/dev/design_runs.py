"""What the development diagnostics on design rows share: their command line and their resampling.

Not a slice of the report. ``parse_design_args`` gives ``--seeds`` (design
rows only: seeds below ``benchmarks.slices.REPORT_FIRST_SEED``), ``--jobs``,
``--out`` and ``--summarize-only``; ``resampled_rows`` the rows of a paired
bootstrap over a fit's test rows.
"""

import argparse
from pathlib import Path

import numpy as np

from benchmarks.slices import REPORT_FIRST_SEED

RESAMPLES = 2000


def parse_design_args(description, default_out, argv=None, add_arguments=None):
    """The parsed command line of a design-rows diagnostic.

    ``add_arguments(parser)``, if given, adds the diagnostic's own options.
    """
    parser = argparse.ArgumentParser(description=description)
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0 to N-1 (design rows)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(default_out))
    parser.add_argument("--summarize-only", action="store_true",
                        help="read the fits from --out instead of fitting")
    args = parser.parse_args(argv)
    if args.seeds > REPORT_FIRST_SEED:
        parser.error(f"design rows only: --seeds at most {REPORT_FIRST_SEED}")
    return args


def resampled_rows(n_rows, seed):
    """``RESAMPLES`` bootstrap draws of ``n_rows`` row indices (one draw a row of the result)."""
    return np.random.default_rng(seed).integers(0, n_rows, size=(RESAMPLES, n_rows))
