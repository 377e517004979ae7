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
from .runner import MAX_ROWS_FOR_REPEATS, TEST_SIZE, load_raw, run, save_raw

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
                        help="comma-separated dataset names to keep, in this order (after adding them)")
    parser.add_argument("--no-builtin", action="store_true",
                        help="leave out the bundled and generated datasets")
    parser.add_argument("--reducers", default=None, help="comma-separated reducer names to keep")
    parser.add_argument("--ks", default=",".join(map(str, DEFAULT_KS)),
                        help="comma-separated code sizes (default: 2,5,10,30)")
    parser.add_argument("--seeds", type=int, default=2, help="repeats (default: 2)")
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
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="runs in parallel, one process and one torch thread each "
                        "(default: 2, or 1 on a one-core machine)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--report-from", type=Path, nargs="+", default=None, metavar="DIR",
                        help="run nothing: merge the raw results of earlier runs in these "
                        "folders and write the report to --out")
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
    if args.datasets:  # keep these, in this order
        by_name = {d.name: d for d in datasets}
        datasets = [by_name[name] for name in args.datasets.split(",") if name in by_name]
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
        "in the scaled space. StandardScaler for tabular data, MinMaxScaler(clip=True) for pixel data.",
        f"Seeds: {args.seeds} (1 for datasets with more than {MAX_ROWS_FOR_REPEATS:,} rows). "
        f"k in {args.ks}, below n_features.",
        f"Reducers: PCA, TruncatedSVD, KernelPCA (rbf kernel, fit_inverse_transform=True, "
        f"eigen_solver='randomized', scikit-learn defaults otherwise; skipped above {rd.KERNEL_PCA_MAX_ROWS} training rows), "
        f"and the skae autoencoders found at run time: {', '.join(skae_names) or 'none'}. "
        f"Each autoencoder uses its own defaults plus {ae_params}, the same on every dataset, "
        f"and stops after {rd.AUTOENCODER_BUDGET_SECONDS:.0f} CPU seconds of training.",
        f"AutoencoderTransformer[deep]: "
        + ", ".join(f"{k}={v!r}" for k, v in rd.DEEP_PARAMS.items())
        + f" (Hinton & Salakhutdinov 2006's 784-1000-500-250-30 shape, cross-entropy on [0, 1] "
        f"pixels; dropout for the 8,000 training images), otherwise as above, training stopped after {args.deep_budget:.0f} CPU seconds; "
        f"run only at k in {rd.DEEP_KS} on MinMax-scaled datasets with at least "
        f"{rd.DEEP_MIN_FEATURES} features.",
        "Downstream: StandardScaler + LogisticRegression(max_iter=1000) on the codes (Ridge R^2 "
        "for a continuous target); trustworthiness with 5 neighbors on the test rows; "
        "transform rows/s on the test rows.",
    ]
    return out


def main(argv=None):
    args = parse_args(argv)
    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    command = command.strip()
    if args.report_from:
        results, commands = load_raw(args.report_from)
        text, _, _ = write_report(
            results, args.out, " ; ".join(commands), *merged_notes(args.report_from)
        )
        print(text)
        return 0
    ks = tuple(int(k) for k in args.ks.split(","))
    datasets = load_datasets(args)
    names = args.reducers.split(",") if args.reducers else None
    reducers = rd.available_reducers(
        names, deep=not args.no_deep, deep_budget=args.deep_budget
    )
    if args.max_iter is not None:
        rd.AUTOENCODER_PARAMS["max_iter"] = args.max_iter
        rd.DEEP_PARAMS["max_iter"] = args.max_iter
    run_notes = notes(args, datasets, reducers)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "notes.txt").write_text("\n".join(run_notes) + "\n")
    results = run(
        datasets, reducers, ks=ks, seeds=args.seeds, progress=not args.quiet,
        checkpoint=lambda partial: save_raw(partial, args.out, command), n_jobs=args.jobs,
    )
    save_raw(results, args.out, command)
    extra = []
    if args.speed or (args.full and not args.no_speed):
        speed = run_speed(shlex.split(args.speed_args)).rstrip()
        (args.out / "speed.txt").write_text(speed + "\n")
        extra.append(("Speed (benchmarks/speed.py)", "```\n" + speed + "\n```"))
    text, _, _ = write_report(results, args.out, command, run_notes, extra)
    print(text)
    print(f"\nWrote {args.out}/report.md, results.csv, summary.csv, comparison.csv and plots.")
    return 0


def merged_notes(out_dirs):
    """The notes of merged runs (each line once) and their speed sections."""
    lines, extra = [], []
    for out_dir in map(Path, out_dirs):
        if (out_dir / "notes.txt").exists():
            new = (out_dir / "notes.txt").read_text().splitlines()
            lines += [line for line in new if line not in lines]
        if (out_dir / "speed.txt").exists():
            speed = (out_dir / "speed.txt").read_text().rstrip()
            extra.append(("Speed (benchmarks/speed.py)", "```\n" + speed + "\n```"))
    return lines, extra


if __name__ == "__main__":
    sys.exit(main())
