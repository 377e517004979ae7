"""Sphinx configuration of the skae documentation.

Build (from the repository root; see the README's documentation section)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Add ``-D plot_gallery=0`` to skip running the gallery examples.
"""

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # build from a checkout without installing skae

# The gallery's tiny networks run fastest on one thread (set before torch loads).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import skae  # noqa: E402

project = "skae"
author = "the skae developers"
copyright = "2026, the skae developers"
release = version = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "examples",  # the gallery's sources; sphinx-gallery turns them into auto_examples/
    "_api_extra.rst",  # included by api.rst, written below
    "_*.rst",  # fragments included by other pages
    "**/_*.rst",
    "sg_execution_times.rst",
    "benchmarks/sections",  # each slice's part of report.md, as the last run left it
    "benchmarks/figures",  # tables the user guide includes, written by the benchmark run
]
default_role = "literal"
pygments_style = "sphinx"

# -- API reference -----------------------------------------------------------
autosummary_generate = ["api.rst", "_api_extra.rst"]
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False


def _write_api_extra():
    """List every name of ``skae.__all__`` that ``api.rst`` does not list yet.

    api.rst groups the public names by hand; a name added to ``skae.__all__``
    since then still gets a page, under "Other", until it is filed in a group
    (``tests/test_docs.py`` asks for that).
    """
    listed = set(re.findall(r"^\s+(\w+)\s*$", (DOCS / "api.rst").read_text(), flags=re.M))
    missing = [name for name in skae.__all__ if name not in listed]
    lines = []
    if missing:
        lines = ["Other", "-----", "", ".. currentmodule:: skae", "", ".. autosummary::",
                 "   :toctree: generated", "   :template: autosummary/entry.rst", ""]
        lines += [f"   {name}" for name in missing]
    text = "\n".join(lines) + "\n"
    path = DOCS / "_api_extra.rst"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


_write_api_extra()

# Markdown pages written beside the rst ones (docs/*.md, docs/benchmarks/*.md)
# join the "Topics" toctree of index.rst as they appear, known ones first.
TOPICS = ["trust", "performance", "scale", "design"]


def _write_topics():
    pages = [*DOCS.glob("*.md"), *DOCS.glob("benchmarks/*.md")]
    names = sorted(p.relative_to(DOCS).with_suffix("").as_posix() for p in pages)
    order = [*TOPICS, "benchmarks/README", "benchmarks/report"]
    names.sort(key=lambda name: order.index(name) if name in order else len(order))
    text = ".. toctree::\n   :maxdepth: 1\n   :caption: Topics\n   :hidden:\n\n"
    text += "".join(f"   {name}\n" for name in names)
    path = DOCS / "_topics.rst"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


_write_topics()

# -- Links into scikit-learn's and PyTorch's documentation (no network at build)
# Docstrings inherited from scikit-learn (get_params, set_output, ...) use
# labels of scikit-learn's own site; See Also sections name sklearn and torch
# objects. Without intersphinx (which downloads inventories), link them by URL.
SKLEARN = "https://scikit-learn.org/stable/"
SKLEARN_LABELS = {
    "metadata_routing": "metadata_routing.html",
    "df_output_transform": "auto_examples/miscellaneous/plot_set_output.html",
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py":
        "auto_examples/miscellaneous/plot_set_output.html",
    "r2_score": "modules/model_evaluation.html#r2-score",
    "accuracy_score": "modules/model_evaluation.html#accuracy-score",
    "meta-estimator": "glossary.html#term-meta-estimator",
}


def _external_reference(app, env, node, contnode):
    """Resolve references to scikit-learn and torch that Sphinx cannot find."""
    from docutils import nodes

    target = node.get("reftarget", "")
    domain, reftype = node.get("refdomain"), node.get("reftype")
    url = None
    if domain == "py" and target.startswith("sklearn."):
        parts = target.split(".")
        # sklearn.decomposition.PCA, or a method: sklearn.decomposition.PCA.fit
        cut = next((i for i, part in enumerate(parts) if part[:1].isupper()), len(parts) - 1)
        url = f"{SKLEARN}modules/generated/{'.'.join(parts[:cut + 1])}.html#{target}"
    elif domain == "py" and target.startswith("torch."):
        url = f"https://docs.pytorch.org/docs/stable/generated/{target}.html"
    elif domain == "std" and reftype in ("ref", "term"):
        label = target.lower() if reftype == "term" else target
        if label in SKLEARN_LABELS:
            url = SKLEARN + SKLEARN_LABELS[label]
        elif "docstring of sklearn." in (node.source or ""):
            url = f"{SKLEARN}search.html?q={target}"  # a label scikit-learn added since
    if url is None:
        return None
    text = contnode.astext() if reftype != "ref" or node.get("refexplicit") else target
    reference = nodes.reference("", "", internal=False, refuri=url, reftitle=target)
    reference += contnode if reftype != "ref" or node.get("refexplicit") else nodes.inline(text, text)
    return reference


# A type such as ``ndarray of shape (n_features_in_,)`` would read as a link
# target ``n_features_in`` in reStructuredText: quote trailing-underscore names
# on the ``name : type`` lines of numpydoc sections before numpydoc renders them.
_TYPE_LINE = re.compile(r"^\s*\*{0,2}\w+(, \w+)* : ")
_UNDERSCORED = re.compile(r"(?<![`\w])(\w+_)(?=[,)\s]|$)")


def _quote_underscored_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        head, sep, rest = line.partition(" : ")
        if sep and _TYPE_LINE.match(line):
            lines[i] = head + sep + _UNDERSCORED.sub(r"``\1``", rest)


def setup(app):
    app.connect("missing-reference", _external_reference)
    app.connect("autodoc-process-docstring", _quote_underscored_names, priority=100)

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skae",),
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skae {version}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = True
html_context = {"default_mode": "light"}

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
