"""The Python code blocks of the documentation pages run as written.

Every ``.. code-block:: python`` of docs/*.rst and docs/user_guide/*.rst, and
every fenced python block of docs/*.md, runs in order, the blocks of a page
sharing one namespace (as a reader pasting them into one session would), in
a temporary directory, with UserWarnings as errors. A block that is a
fragment (it names data the page does not build, or files and clusters a
test cannot have) is marked just above it by an rst comment
``.. skip: next`` or, in markdown, ``<!-- skip: next -->``; both are invisible
in the built pages. Docstring examples run separately (``--doctest-modules``),
and the gallery runs in the Sphinx build.
"""

import re
import sys
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

# Optional packages a page may use; without them its test is skipped, not failed.
OPTIONAL = {"polars", "pyarrow", "onnx", "onnxruntime", "matplotlib", "dask", "distributed"}

SKIP_MARKERS = {".. skip: next", "<!-- skip: next -->"}

_RST_BLOCK = re.compile(r"^(?P<indent> *)\.\. code-block:: python\s*$")
_MD_FENCE = re.compile(r"^(?P<indent> *)```python\s*$")


def _marked_skip(lines, i):
    """Whether the nearest non-blank line above line ``i`` is a skip marker."""
    for line in reversed(lines[:i]):
        if line.strip():
            return line.strip() in SKIP_MARKERS
    return False


def _rst_body(lines, start, indent):
    """The body of the directive on line ``start``: its options skipped, dedented."""
    body, i = [], start + 1
    while i < len(lines) and lines[i].strip().startswith(":") and lines[i].strip() != "":
        i += 1  # directive options such as :caption:
    width = None
    for line in lines[i:]:
        if line.strip():
            own = len(line) - len(line.lstrip())
            if own <= indent:
                break
            width = own if width is None else min(width, own)
        body.append(line)
    return "\n".join(line[width:] if line.strip() else "" for line in body).strip("\n")


def _md_body(lines, start, indent):
    body = []
    for line in lines[start + 1 :]:
        if line.strip() == "```":
            break
        body.append(line[indent:])
    return "\n".join(body)


def code_blocks(text):
    """``(line number, code)`` of the runnable python blocks of an rst or markdown text."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        for pattern, body in ((_RST_BLOCK, _rst_body), (_MD_FENCE, _md_body)):
            match = pattern.match(line)
            if match and not _marked_skip(lines, i):
                blocks.append((i + 1, body(lines, i, len(match["indent"]))))
    return blocks


def pages():
    found = [*DOCS.glob("*.rst"), *DOCS.glob("*.md"), *DOCS.glob("user_guide/*.rst")]
    return sorted(
        page for page in found
        if not page.name.startswith("_") and code_blocks(page.read_text())
    )


def test_code_blocks_parser():
    text = "\n".join([
        "Text.", "", ".. code-block:: python", "   :caption: one", "", "   a = 1", "   if a:",
        "       b = 2", "", "After.", "", ".. skip: next", "", ".. code-block:: python", "",
        "   not_run()", "", "```python", "c = 3", "```", "<!-- skip: next -->", "```python",
        "not_run()", "```",
    ])
    assert code_blocks(text) == [(3, "a = 1\nif a:\n    b = 2"), (18, "c = 3")]


@pytest.mark.skipif(not DOCS.exists(), reason="docs/ is not in this checkout")
@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(DOCS).as_posix())
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that write files (skae.save, ONNX) write here
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        pass
    namespace = {"__name__": "__docs__"}
    for line, code in code_blocks(page.read_text()):
        where = f"{page.relative_to(DOCS)}, block at line {line}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)
                exec(compile(code, where, "exec"), namespace)
        except ModuleNotFoundError as error:
            if error.name and error.name.split(".")[0] in OPTIONAL:
                pytest.skip(f"{where} needs the optional package {error.name}")
            raise
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
