"""Command line: ``python -m benchmarks [--full | --only NAMES] [--out DIR] ...``.

Without options: the quick run (the README's main job), the reduction slice on
scikit-learn's bundled and two generated datasets, a few minutes on 2 cores.
``--full`` runs every slice of the report (:data:`SLICES`) and writes
``report.md`` with the command, commit, machine, versions, wall time and
``skae/`` fingerprint of each slice, into ``docs/benchmarks`` unless ``--out``
says otherwise; ``--only outliers,speed`` reruns some slices and rewrites the
report from every slice's last section. Each run is recorded in
``<out>/runs/<slice>.jsonl`` as it finishes (committed with the report), so an
interrupted run resumes where it stopped, in this session or a later one.
"""

import argparse
import importlib
import os
import shlex
import sys
import time
from pathlib import Path

from .cache import REPO, RUNS_FOLDER
from .record import SLICES, write_report, write_slice
from .slices import config_from, run_slice

# Where --full writes: the committed report, and its run records that a later session resumes from.
FULL_OUT = Path(os.path.relpath(REPO / "docs" / "benchmarks"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark skae's autoencoders against PCA and the estimators a user "
        "would pick instead.",
    )
    parser.add_argument("--full", action="store_true",
                        help=f"run every slice ({', '.join(SLICES)}) on the bundled and shared "
                        "datasets, with their full settings")
    parser.add_argument("--only", default=None,
                        help="comma-separated slices to run (full settings unless --quick); "
                        "the report keeps the other slices' last sections")
    parser.add_argument("--quick", action="store_true",
                        help="quick settings (the default without --full or --only)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder, its run records in OUT/{RUNS_FOLDER}/ (default: "
                        f"{FULL_OUT} with --full, the committed report; results otherwise)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds (or repeats) per setting (default: each slice's own)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="runs in parallel, one process and one torch thread each "
                        "(default: 2, or 1 on a one-core machine; the speed slice runs alone)")
    parser.add_argument("--data-dir", default=None,
                        help="the PMLB-layout shared datasets (default: $SKAE_DATA_DIR or "
                        "../shared/datasets)")
    parser.add_argument("--no-cache", action="store_true", help="run everything again")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    reduction = parser.add_argument_group("reduction slice")
    reduction.add_argument("--csv", type=Path, default=None, help="add a CSV file of your own")
    reduction.add_argument("--target", default=None, help="label column of --csv")
    reduction.add_argument("--scaling", choices=["standard", "minmax"], default="standard",
                           help="scaler for --csv (default: standard)")
    reduction.add_argument("--datasets", default=None, help="comma-separated dataset names to keep")
    reduction.add_argument("--no-builtin", action="store_true",
                           help="leave out the bundled and generated datasets")
    reduction.add_argument("--reducers", default=None, help="comma-separated reducer names to keep")
    reduction.add_argument("--ks", default=None, help="comma-separated code sizes")
    reduction.add_argument("--max-iter", type=int, default=None,
                           help="override the autoencoders' max_iter (smoke runs)")
    reduction.add_argument("--no-deep", action="store_true",
                           help="leave out the deep MNIST configuration")
    args = parser.parse_args(argv)
    if (args.csv is None) != (args.target is None):
        parser.error("--csv and --target go together: --csv FILE --target COLUMN")
    if args.only:
        unknown = set(args.only.split(",")) - set(SLICES)
        if unknown:
            parser.error(f"unknown slice(s) {sorted(unknown)}; the slices are {', '.join(SLICES)}")
    if args.out is None:
        args.out = FULL_OUT if args.full else Path("results")
    return args


def selected_slices(args):
    if args.only:
        return [name for name in SLICES if name in args.only.split(",")]
    return list(SLICES) if args.full else ["reduction"]


def slice_config(module, args, quick):
    config = config_from(module, argparse.Namespace(quick=quick, seeds=args.seeds,
                                                    data_dir=args.data_dir))
    if module.NAME == "reduction":
        config.update({
            "csv": str(args.csv) if args.csv else None, "target": args.target,
            "scaling": args.scaling, "no_builtin": args.no_builtin, "no_deep": args.no_deep,
            "datasets": args.datasets.split(",") if args.datasets else None,
            "reducers": args.reducers.split(",") if args.reducers else None,
            "ks": [int(k) for k in args.ks.split(",")] if args.ks else None,
            "max_iter": args.max_iter,
        })
    return config


def main(argv=None):
    args = parse_args(argv)
    command = ("python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)).strip()
    quick = args.quick or not (args.full or args.only)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in selected_slices(args):
        module = importlib.import_module(f".{name}", __package__)
        if not hasattr(module, "plan"):
            print(f"note: benchmarks/{name}.py is not a slice yet (no plan()); skipped",
                  file=sys.stderr)
            continue
        config = slice_config(module, args, quick)
        started = time.perf_counter()
        rows, _, n_new, skae = run_slice(module, config, args.out, jobs=args.jobs,
                                         use_cache=not args.no_cache, progress=not args.quiet)
        section = write_slice(module, rows, args.out, command=command, jobs=args.jobs,
                              n_new=n_new, wall_seconds=time.perf_counter() - started,
                              skae_fingerprints=skae)
        print(section, flush=True)
    write_report(args.out)
    print(f"\nWrote {args.out}/report.md, the slices' .csv and .md files and their plots.",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
