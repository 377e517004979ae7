"""Command line: ``python -m benchmarks [--full] [--data-dir DIR] [--csv FILE --target COL] ...``.

Compares PCA, TruncatedSVD, KernelPCA and every skae autoencoder on held-out
reconstruction, downstream accuracy, trustworthiness and speed; prints a
markdown table and writes it, a CSV and PNG plots to ``--out`` (``results/``).
"""

import argparse
import contextlib
import inspect
import io
import os
import shlex
import sys
from pathlib import Path

from . import datasets as ds
from . import reducers as rd
from .report import markdown, write_report
from .runner import MAX_CELLS_FOR_REPEATS, TEST_SIZE, run

DEFAULT_KS = (2, 5, 10, 30)


def default_data_dir():
    """``$SKAE_DATA_DIR``, else ``<repo>/../shared/datasets``."""
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("SKAE_DATA_DIR", repo.parent / "shared" / "datasets"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark skae's autoencoders against PCA and friends.",
    )
    parser.add_argument("--full", action="store_true",
                        help="run everything: built-in and shared datasets, the deep "
                        "configuration, and the speed benchmark")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="add the PMLB-layout *.tsv.gz datasets of this folder "
                        "(default with --full: $SKAE_DATA_DIR or ../shared/datasets)")
    parser.add_argument("--csv", type=Path, default=None, help="add a CSV file of your own")
    parser.add_argument("--target", default=None, help="label column of --csv")
    parser.add_argument("--scaling", choices=sorted(["standard", "minmax"]), default="standard",
                        help="scaler for --csv (default: standard)")
    parser.add_argument("--datasets", default=None,
                        help="comma-separated dataset names to keep (after adding them)")
    parser.add_argument("--no-builtin", action="store_true",
                        help="leave out the bundled and generated datasets")
    parser.add_argument("--reducers", default=None, help="comma-separated reducer names to keep")
    parser.add_argument("--ks", default=",".join(map(str, DEFAULT_KS)),
                        help="comma-separated code sizes (default: 2,5,10,30)")
    parser.add_argument("--seeds", type=int, default=3, help="repeats (default: 3)")
    parser.add_argument("--max-rows", type=int, default=ds.MAX_ROWS,
                        help=f"subsample larger datasets to this many rows (default: {ds.MAX_ROWS})")
    parser.add_argument("--n-generated", type=int, default=2000,
                        help="rows of the generated datasets (default: 2000)")
    parser.add_argument("--max-iter", type=int, default=None,
                        help="override the autoencoders' max_iter (for quick smoke runs)")
    parser.add_argument("--deep-budget", type=float, default=rd.DEEP_BUDGET_SECONDS,
                        help="training CPU seconds of the deep configuration (default: %(default)s)")
    parser.add_argument("--no-deep", action="store_true", help="leave out the deep configuration")
    parser.add_argument("--speed", action="store_true",
                        help="also run the speed benchmark (benchmarks/speed.py)")
    parser.add_argument("--speed-args", default="",
                        help='arguments for the speed benchmark, e.g. "--quick"')
    parser.add_argument("--no-speed", action="store_true", help="skip the speed benchmark in --full")
    parser.add_argument("--out", type=Path, default=Path("results"),
                        help="output folder (default: results)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if (args.csv is None) != (args.target is None):
        parser.error("--csv and --target go together: --csv FILE --target COLUMN")
    return args


def load_datasets(args):
    datasets = [] if args.no_builtin else ds.builtin_datasets(n_generated=args.n_generated)
    data_dir = args.data_dir
    if data_dir is None and args.full:
        data_dir = default_data_dir()
        if not data_dir.is_dir():
            print(f"note: no shared datasets at {data_dir}; running the built-in ones only",
                  file=sys.stderr)
            data_dir = None
    if data_dir is not None:
        datasets += ds.shared_datasets(data_dir, max_rows=args.max_rows)
    if args.csv is not None:
        datasets.append(ds.csv_dataset(args.csv, args.target, args.scaling, args.max_rows))
    if args.datasets:
        keep = set(args.datasets.split(","))
        datasets = [d for d in datasets if d.name in keep]
    if not datasets:
        raise SystemExit("No datasets selected.")
    return datasets


def run_speed(speed_args=()):
    """Run ``benchmarks.speed.main(speed_args)`` if that module and function exist.

    Returns what it printed (and returned), for the report.
    """
    try:
        from . import speed
    except ImportError as error:
        return f"(speed benchmark not available: {error})"
    main = getattr(speed, "main", None)
    if main is None:
        return "(benchmarks/speed.py has no main() yet)"

    class Tee(io.StringIO):
        def write(self, text):
            sys.__stdout__.write(text)
            return super().write(text)

    buffer = Tee()
    with contextlib.redirect_stdout(buffer):
        takes_args = bool(inspect.signature(main).parameters)
        returned = main(list(speed_args)) if takes_args else main()
    text = buffer.getvalue()
    if returned is not None and not isinstance(returned, int):
        text += ("\n" if text else "") + (
            markdown(returned) if hasattr(returned, "to_markdown") else str(returned)
        )
    return text


def notes(args, datasets, reducers):
    scalings = ", ".join(f"{d.name}: {d.scaling}" for d in datasets)
    ae_params = ", ".join(f"{k}={v!r}" for k, v in rd.AUTOENCODER_PARAMS.items())
    skae_names = [r.name for r in reducers if r.family == "skae"]
    out = [
        f"Datasets (rows x features, scaler fitted on the training rows): "
        + ", ".join(f"{d.name} {d.shape[0]}x{d.shape[1]} ({d.scaling})" for d in datasets) + ".",
        f"Split: {1 - TEST_SIZE:.0%}/{TEST_SIZE:.0%} train/test, stratified by class; seed s "
        "sets the split and the reducer's random_state. Metrics are on the test rows, "
        "in the scaled space. StandardScaler for tabular data, MinMaxScaler for pixel data.",
        f"Seeds: {args.seeds} (1 for datasets with more than {MAX_CELLS_FOR_REPEATS:,} cells). "
        f"k in {args.ks}, below n_features.",
        f"Reducers: PCA, TruncatedSVD, KernelPCA (rbf kernel, fit_inverse_transform=True, "
        f"scikit-learn defaults otherwise; skipped above {rd.KERNEL_PCA_MAX_ROWS} training rows), "
        f"and the skae autoencoders found at run time: {', '.join(skae_names) or 'none'}. "
        f"Each autoencoder uses its own defaults plus {ae_params}"
        + (f", max_iter={args.max_iter}" if args.max_iter else "")
        + ", the same on every dataset.",
        f"AutoencoderTransformer[deep]: hidden_layer_sizes={rd.DEEP_PARAMS['hidden_layer_sizes']} "
        f"(Hinton & Salakhutdinov 2006's 784-1000-500-250-30 shape), otherwise as above, training "
        f"stopped after {args.deep_budget:.0f} s; run only at k in {rd.DEEP_KS} on datasets with "
        f"at least {rd.DEEP_MIN_FEATURES} features.",
        "Downstream: StandardScaler + LogisticRegression(max_iter=1000) on the codes (Ridge R^2 "
        "for a continuous target); trustworthiness with 5 neighbors on the test rows; "
        "transform rows/s on the test rows.",
    ]
    return out


def main(argv=None):
    args = parse_args(argv)
    ks = tuple(int(k) for k in args.ks.split(","))
    datasets = load_datasets(args)
    names = args.reducers.split(",") if args.reducers else None
    reducers = rd.available_reducers(
        names, deep=not args.no_deep, deep_budget=args.deep_budget
    )
    if args.max_iter is not None:
        rd.AUTOENCODER_PARAMS["max_iter"] = args.max_iter
        rd.DEEP_PARAMS["max_iter"] = args.max_iter
    results = run(datasets, reducers, ks=ks, seeds=args.seeds, progress=not args.quiet)
    extra = []
    if args.speed or (args.full and not args.no_speed):
        extra.append(("Speed (benchmarks/speed.py)", "```\n" + run_speed(shlex.split(args.speed_args)).rstrip() + "\n```"))
    command = "python -m benchmarks" + (" " + shlex.join(sys.argv[1:] if argv is None else argv))
    text, comp, targ = write_report(
        results, args.out, command.strip(), notes(args, datasets, reducers), extra
    )
    print(text)
    print(f"\nWrote {args.out}/report.md, results.csv, summary.csv, comparison.csv and plots.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
