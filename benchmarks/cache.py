"""The run records: one JSON line per finished run, kept so that a run is never done twice.

Each slice's runs are recorded in ``<out>/runs/<slice>.jsonl`` as they finish
(``docs/benchmarks/runs/`` for the committed report: the records are
committed with it, so a run interrupted in one session resumes in the next).
A line holds

* ``key``: a digest of the slice's name, the run's parameters and ``code``;
* ``code``: :func:`code_fingerprint` of the slice (skae's version and
  sources, and the benchmark modules the slice's runs use);
* ``skae``: :func:`skae_fingerprint`, the digest of ``skae/``'s sources the
  run measured (the report states it per section);
* ``run`` and ``row``: the run's parameters and its results.

A run is done again when its key is not recorded: when its parameters or
the code changed. The folder holding the shared datasets is not part of the
key (a dataset is known by its name; :func:`run_key`), so a session with the
data elsewhere finds the same records.
"""

import ast
import hashlib
import json
import subprocess
from pathlib import Path

__all__ = ["REPO", "RUNS_FOLDER", "RunCache", "code_fingerprint", "run_key", "run_sources",
           "skae_fingerprint", "skae_fingerprint_at"]

REPO = Path(__file__).resolve().parents[1]
RUNS_FOLDER = "runs"
# Modules of this package that no run calls (the runner, the report's writing and statistics,
# the display helpers): editing them changes no result, so it does not void the records.
NOT_RUN_CODE = ("__main__", "cache", "display", "record", "slices", "stats")


def _tree_digest(files):
    """sha256 over ``(path, contents)`` pairs in path order."""
    sha = hashlib.sha256()
    for path, contents in sorted(files):
        sha.update(path.encode() + b"\0")
        sha.update(contents)
        sha.update(b"\0")
    return sha.hexdigest()


def skae_fingerprint(package=None):
    """sha256 of the sources of ``skae/``: every ``*.py`` below it, by path, then contents.

    Parameters
    ----------
    package : path-like, default=None
        The package folder; None: the folder of the ``skae`` that is imported
        (the code a run measures).
    """
    if package is None:
        import skae

        package = Path(skae.__file__).parent
    package = Path(package).resolve()
    return _tree_digest(
        (f"{package.name}/{path.relative_to(package).as_posix()}", path.read_bytes())
        for path in package.rglob("*.py")
    )


def _git(repo, *args, stdin=None):
    return subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True,
                          check=True).stdout


def skae_fingerprint_at(commit, repo=REPO):
    """:func:`skae_fingerprint` of ``skae/`` as committed at ``commit``; None when git cannot say.

    For the records written before each carried a fingerprint: the commit
    they name (a commit with uncommitted changes, ``"abc123 (with ...)"``,
    gives None: its ``skae/`` is not known).
    """
    if not commit or " " in commit.strip():
        return None
    try:
        listing = _git(repo, "ls-tree", "-r", "-z", commit.strip(), "--", "skae").split(b"\0")
        blobs = []
        for entry in filter(None, listing):
            meta, path = entry.decode().split("\t", 1)
            if meta.split()[1] == "blob" and path.endswith(".py"):
                blobs.append((path, meta.split()[2]))
        if not blobs:
            return None
        wanted = "".join(f"{sha}\n" for _, sha in blobs).encode()
        output = _git(repo, "cat-file", "--batch", stdin=wanted)
    except (OSError, subprocess.CalledProcessError):
        return None
    files, offset = [], 0
    for path, _ in blobs:  # each object: "<sha> blob <size>\n<contents>\n"
        header_end = output.index(b"\n", offset)
        size = int(output[offset:header_end].split()[2])
        files.append((path, output[header_end + 1:header_end + 1 + size]))
        offset = header_end + 1 + size + 1
    return _tree_digest(files)


def run_sources(module):
    """The source files a slice's runs execute: its module and the package modules it imports.

    Followed through relative imports (``from .datasets import ...``, at any
    depth in the file), leaving out :data:`NOT_RUN_CODE`.
    """
    start = Path(module.__file__).resolve()
    folder, todo, seen = start.parent, [start], set()
    while todo:
        path = todo.pop()
        if path in seen or path.stem in NOT_RUN_CODE:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [alias.name for alias in node.names]
                todo += [path for path in (folder / f"{name}.py" for name in names)
                         if path.exists()]
    return sorted(seen)


def code_fingerprint(module):
    """skae's version and a digest of its sources and of the slice's :func:`run_sources`."""
    import skae

    sha = hashlib.sha256(skae_fingerprint().encode())
    for path in run_sources(module):
        sha.update(path.relative_to(path.parents[1]).as_posix().encode() + b"\0")
        sha.update(path.read_bytes())
    return f"{skae.__version__}+{sha.hexdigest()[:16]}"


def _without_data_folder(run):
    """``run`` without the shared datasets' folder (``data_dir``, ``source="shared:<folder>"``)."""
    run = {key: value for key, value in run.items() if key != "data_dir"}
    if str(run.get("source", "")).startswith("shared:"):
        run["source"] = "shared"
    return run


def run_key(name, fingerprint, run):
    """The record key of ``run`` of slice ``name`` at code ``fingerprint``.

    Where the shared datasets are is not part of it (a dataset is known by its
    name), so a session that finds them in another folder finds the same records.
    """
    run = _without_data_folder(run)
    text = json.dumps({"slice": name, "code": fingerprint, "run": run}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value):
    """JSON for numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


class RunCache:
    """One slice's run records (``<out>/runs/<slice>.jsonl``), appended as runs finish.

    ``entries`` maps each key to its last record (a dict with ``key``,
    ``code``, ``skae``, ``run`` and ``row``).
    """

    def __init__(self, path):
        self.path = Path(path)
        self.entries = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by an interruption
                    continue
                self.entries[entry["key"]] = entry

    def add(self, key, run, row, *, code, skae):
        entry = {"key": key, "code": code, "skae": skae, "run": run, "row": row}
        self.entries[key] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as file:
            file.write(json.dumps(entry, default=_plain) + "\n")

    def compact(self, keys, code):
        """Rewrite the file: the records of ``keys`` in their order, then the others of ``code``.

        Records of other code are dropped: no run of this code can use them.
        """
        keep = dict.fromkeys(key for key in keys if key in self.entries)
        keep.update(dict.fromkeys(key for key, entry in self.entries.items()
                                  if entry.get("code") == code))
        self.entries = {key: self.entries[key] for key in keep}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".jsonl.partial")
        partial.write_text("".join(json.dumps(entry, default=_plain) + "\n"
                                   for entry in self.entries.values()))
        partial.replace(self.path)
