"""What a benchmark run leaves behind: rows, section, provenance, doc figures, the report.

Every way of running a slice (``python -m benchmarks --only NAME`` or
``python -m benchmarks.NAME``) writes the same files into ``<out>/``:

* ``<name>.csv``: one row per run;
* ``sections/<name>.md``: the slice's markdown section;
* ``sections/<name>.json``: the command, commit, machine, versions, runs and run time
  that produced it, and the fingerprint of the ``skae/`` its rows measured
  (``skae_fingerprint``; and a ``note`` where a section was not produced by this command);
* ``figures/<name>.rst``: the table the user guide includes, for slices that define
  ``doc_figure(rows)`` (so no figure is typed into the docs by hand);
* ``report.md``: every slice's last section under its record, flagged where its
  ``skae/`` is not the current one.

The runs themselves are recorded in ``runs/<name>.jsonl`` (:mod:`benchmarks.cache`).
"""

import importlib
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from .cache import REPO, skae_fingerprint, skae_fingerprint_at

__all__ = ["figure_text", "provenance", "write_report", "write_slice"]

# The report's slices, in its order. Each is a module of this package (benchmarks/slices.py).
SLICES = ("reduction", "tune_deep", "small", "density", "outliers", "few_labels", "imputation",
          "speed", "fit_time", "threads", "distributed")
VERSIONED = ("skae", "torch", "sklearn", "skorch", "numpy", "pandas", "scipy", "pyod")


def _git(*command):
    try:
        return subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance():
    """Commit, machine and library versions of this run."""
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = importlib.import_module(name).__version__
        except ImportError:
            continue
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dirty = _git("status", "--porcelain", "--", "skae", "benchmarks")
    return {
        "commit": _git("rev-parse", "--short=12", "HEAD") + (" (with uncommitted changes)" if dirty else ""),
        "machine": f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "threads": f"one torch thread per run, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_slice(module, rows, out_dir, *, command, jobs, n_new, wall_seconds,
                skae_fingerprints=None):
    """Write one slice's rows, section, record and doc figure; return the section.

    ``skae_fingerprints``: the ``skae`` fingerprints of the run records the
    rows come from (one, unless the records mix versions of ``skae/``). When
    no run was done now (``n_new == 0``) and the slice's record describes the
    same rows, that record is kept: the section and figure are rewritten, the
    provenance stays the run's that measured them.
    """
    out_dir = Path(out_dir)
    name = module.NAME
    rows.to_csv(out_dir / f"{name}.csv", index=False)
    section = module.report(rows, out_dir)
    (out_dir / "sections").mkdir(exist_ok=True)
    (out_dir / "sections" / f"{name}.md").write_text(section + "\n")
    if getattr(module, "SEQUENTIAL", False):
        jobs = 1
    record = {**provenance(), "command": command, "jobs": jobs, "runs": len(rows),
              "cached": len(rows) - n_new, "wall_seconds": wall_seconds,
              "run_seconds": float(rows["run_seconds"].sum())}
    if skae_fingerprints:
        record["skae_fingerprint"] = (skae_fingerprints[0] if len(skae_fingerprints) == 1
                                      else list(skae_fingerprints))
    path = out_dir / "sections" / f"{name}.json"
    earlier = _record_that_measured(path, record) if n_new == 0 else None
    if earlier is None:
        path.write_text(json.dumps(record, indent=1) + "\n")
    else:
        record = earlier
    if hasattr(module, "doc_figure"):
        (out_dir / "figures").mkdir(exist_ok=True)
        (out_dir / "figures" / f"{name}.rst").write_text(figure_text(module, rows, record))
    return section


def _record_that_measured(path, record):
    """The slice's existing record if it describes the same rows, else ``None``.

    A run that found every row in the records measured nothing: the record of
    the run that did (its commit, date and run time) stays, so a resumed
    ``--full`` does not re-date the sections it only read back.
    """
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = all(earlier.get(key) == record.get(key)
               for key in ("runs", "run_seconds", "skae_fingerprint", "versions"))
    return earlier if same else None


def figure_text(module, rows, record):
    """``module.doc_figure(rows)`` and the line that says which run measured it."""
    note = f" {record['note']}" if record.get("note") else ""
    return (module.doc_figure(rows).rstrip() + "\n\n"
            f"Measured by ``{record['command']}`` at commit {record['commit']} on "
            f"{record['date']} ({record['runs']} runs; the benchmark report has every cell).{note}\n")


def _fingerprint_of(meta):
    """The section's ``skae/`` fingerprints and where they come from (its record, or its commit)."""
    recorded = meta.get("skae_fingerprint")
    if recorded:
        return ([recorded] if isinstance(recorded, str) else list(recorded)), "recorded"
    at_commit = skae_fingerprint_at(meta.get("commit", ""))
    return ([at_commit], "of its commit") if at_commit else ([], "unknown")


def _code_lines(name, meta, current):
    """The ``skae/`` fingerprint for a section's record line; a warning unless it is ``current``."""
    fingerprints, source = _fingerprint_of(meta)
    if not fingerprints:
        return ("skae/ fingerprint unknown (not recorded, and its commit does not say)"), [
            "", f"> **Code unknown.** Which `skae/` these rows measured is not known: rerun "
            f"with `python -m benchmarks --only {name}` to measure the current one."]
    shown = " + ".join(f[:12] for f in fingerprints)
    text = f"skae/ fingerprint {shown}" + ("" if source == "recorded" else f" ({source})")
    if current is None or fingerprints == [current]:
        return text, []
    return text, ["", f"> **Older code.** These rows measured `skae/` {shown}; `skae/` is now "
                  f"{current[:12]}. Rerun with `python -m benchmarks --only {name}` to measure "
                  "the current code."]


def write_report(out_dir):
    """``report.md``: every slice's last section, each under the record of the run that made it.

    Each record line names the fingerprint of the ``skae/`` the section's rows
    measured; a section measured on another ``skae/`` than the current one
    says so under its heading.
    """
    out_dir = Path(out_dir)
    try:
        current = skae_fingerprint()
    except ImportError:
        current = None
    lines = ["# skae benchmark report", "",
             f"Regenerate: `OMP_NUM_THREADS=1 python -m benchmarks --full --out {out_dir}` (one "
             "command; every run is recorded in `runs/`, so an interrupted run resumes, in "
             "this session or a later one; `--only NAME` reruns one slice). Each section below "
             "says which run produced it and which `skae/` it measured: sections made at "
             "different commits say so.", ""]
    total, n_sections, n_current = 0.0, 0, 0
    for name in SLICES:
        section, record = out_dir / "sections" / f"{name}.md", out_dir / "sections" / f"{name}.json"
        if not (section.exists() and record.exists()):
            continue
        meta = json.loads(record.read_text())
        total += meta["run_seconds"]
        code, warning = _code_lines(name, meta, current)
        n_sections, n_current = n_sections + 1, n_current + (not warning)
        versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        heading, _, body = section.read_text().rstrip().partition("\n")
        note = ["", f"> **Note.** {meta['note']}"] if meta.get("note") else []
        lines += [heading, *warning, *note, body, "",
                  f"<sub>Produced by `{meta['command']}` at commit {meta['commit']} on "
                  f"{meta['date']}: {meta['machine']}; Python {meta['python']}, {versions}; "
                  f"{meta['threads']}, {meta['jobs']} run(s) in parallel; {meta['runs']} runs "
                  f"({meta['cached']} from the records of an earlier run of the same code), "
                  f"{meta['run_seconds'] / 60:.1f} min of run time in all; {code}.</sub>", ""]
    lines.insert(4, f"Run time of every run of every slice, summed: {total / 60:.0f} min "
                    "(parallel runs overlap in wall time). "
                    + ("" if current is None else
                       f"`skae/` now: fingerprint {current[:12]} (sha256 of its `*.py` files); "
                       f"{n_current} of {n_sections} sections measured it."))
    lines.insert(5, "")
    text = "\n".join(lines)
    (out_dir / "report.md").write_text(text)
    return text
