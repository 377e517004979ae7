"""Fast checks of the documentation sources (the Sphinx build itself is too slow for the suite).

The API reference (docs/api.rst) lists the public names by hand, in groups; these
tests keep it in step with ``skae.__all__``, and keep every public docstring with
a runnable Examples section (run by ``--doctest-modules``).
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import skae

DOCS = Path(__file__).resolve().parents[1] / "docs"
API = DOCS / "api.rst"

pytestmark = pytest.mark.skipif(not API.exists(), reason="docs/ is not in this checkout")


def autosummary_entries(text):
    """Names listed in the ``.. autosummary::`` directives of an rst text."""
    entries = []
    for block in re.split(r"^\.\. autosummary::\s*$", text, flags=re.M)[1:]:
        for line in block.splitlines()[1:]:
            if line.strip() and not line.startswith(" "):
                break  # the directive's body ended
            if line.strip() and not line.strip().startswith(":"):
                entries.append(line.strip())
    return entries


def api_entries():
    return autosummary_entries(API.read_text())


def resolve(entry):
    """The object an api.rst entry names (relative to ``skae``)."""
    module_name, _, name = f"skae.{entry}".rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def test_autosummary_entries_parser():
    text = ".. autosummary::\n   :toctree: generated\n\n   A\n   b.c\n\nAfter\n   D\n"
    assert autosummary_entries(text) == ["A", "b.c"]


@pytest.mark.parametrize("name", skae.__all__)
def test_public_name_in_api_reference(name):
    assert name in api_entries(), (
        f"skae.{name} is in skae.__all__ but not in docs/api.rst: add it to the "
        "autosummary list of its group there."
    )


BUILDING_BLOCKS = ["noise", "penalties"]  # public modules whose functions api.rst lists


@pytest.mark.parametrize(
    "entry",
    [
        f"{module}.{name}"
        for module in BUILDING_BLOCKS
        for name in importlib.import_module(f"skae.{module}").__all__
        if inspect.isfunction(getattr(importlib.import_module(f"skae.{module}"), name))
    ],
)
def test_building_block_function_in_api_reference(entry):
    assert entry in api_entries(), (
        f"skae.{entry} is in its module's __all__ but not in docs/api.rst: add it to the "
        "autosummary list of its module under 'Building blocks'."
    )


def test_api_reference_entries_exist_and_are_unique():
    entries = api_entries()
    assert len(entries) == len(set(entries)), "an entry is listed twice in docs/api.rst"
    for entry in entries:
        resolve(entry)  # raises AttributeError / ImportError on a stale entry


def documented_objects():
    for entry in api_entries():
        obj = resolve(entry)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield entry, obj


@pytest.mark.parametrize(
    "entry, obj", [pytest.param(entry, obj, id=entry) for entry, obj in documented_objects()]
)
def test_docstring_has_runnable_example(entry, obj):
    doc = inspect.getdoc(obj) or ""
    assert "\nExamples\n--------\n" in doc, f"skae.{entry} has no Examples section"
    examples = doc.split("\nExamples\n--------\n", 1)[1]
    assert ">>> " in examples, f"the Examples section of skae.{entry} has no doctest"


def gallery_scripts():
    return sorted((DOCS / "examples").glob("plot_*.py"))


def test_gallery_scripts_are_sphinx_gallery_examples():
    scripts = gallery_scripts()
    assert len(scripts) >= 7
    for script in scripts:
        tree = ast.parse(script.read_text(), filename=str(script))
        docstring = ast.get_docstring(tree)
        assert docstring, f"{script.name} needs a module docstring (title and text)"
        title, underline = docstring.splitlines()[:2]
        assert underline and set(underline) == {"="} and len(underline) >= len(title), (
            f"{script.name}: the docstring must start with a title underlined by '='"
        )


def toctree_entries(path):
    text = path.read_text()
    entries = []
    for block in re.split(r"^\.\. toctree::\s*$", text, flags=re.M)[1:]:
        for line in block.splitlines()[1:]:
            if line.strip() and not line.startswith(" "):
                break
            if line.strip() and not line.strip().startswith(":"):
                entries.append(line.strip())
    return entries


def test_every_page_is_in_a_toctree():
    """Sphinx warns (an error under -W) about rst pages that no toctree lists.

    (Markdown pages, docs/*.md and docs/benchmarks/*.md, are listed by conf.py.)
    """
    listed = set()
    for rst in [DOCS / "index.rst", *DOCS.glob("user_guide/*.rst")]:
        base = rst.parent.relative_to(DOCS)
        listed |= {(base / entry).as_posix() for entry in toctree_entries(rst)}
    pages = [
        page.relative_to(DOCS).with_suffix("").as_posix()
        for page in [*DOCS.glob("*.rst"), *DOCS.glob("user_guide/*.rst")]
        if not page.name.startswith("_") and page.name != "index.rst"
        and page.stem != "sg_execution_times"
    ]
    assert "user_guide/choosing" in pages
    missing = [page for page in pages if page not in listed]
    assert not missing, f"pages in no toctree: {missing}"


# (estimator, what its init description says of the start, whether it is PCA's solution)
PCA_STARTS = [
    (skae.AutoencoderTransformer(), "starts exactly at PCA's solution, and", True),
    (skae.DenoisingAE(), "starts exactly at PCA's solution, and", True),
    (skae.ContractiveAE(), "exactly at PCA's solution with an identity code", True),
    (skae.ContractiveAE(code_activation="tanh"), "near it with a sigmoid or tanh code", False),
    (skae.SparseAE(), "activation, not at PCA's solution", False),
    (skae.SparseAE(sparsity="l1"), "activation, not at PCA's solution", False),
]


@pytest.mark.parametrize("estimator, says, exact", PCA_STARTS, ids=lambda v: repr(v)[:40])
def test_init_pca_starts_where_the_docstring_says(estimator, says, exact):
    """The description of init comes from one template, filled in per estimator:
    where it says "exactly at PCA's solution", the untrained network reconstructs
    as PCA does; where it says "near", it does not."""
    import numpy as np
    import torch
    from sklearn.decomposition import PCA

    doc = " ".join(type(estimator).__doc__.split())
    assert "%(" not in doc and says in doc
    X = np.random.RandomState(0).uniform(size=(200, 8)).astype(np.float32)
    X[:, 4:] = X[:, :4] ** 2
    estimator.set_params(n_components=3, hidden_layer_sizes=(6,))
    pca = PCA(3, random_state=0).fit(X)
    pca_error = ((pca.inverse_transform(pca.transform(X)) - X) ** 2).mean()
    torch.manual_seed(0)
    with torch.no_grad():
        reconstruction = estimator._build_module(X)(torch.as_tensor(X))[0].numpy()
    error = ((reconstruction - X) ** 2).mean()
    if exact:
        assert error == pytest.approx(pca_error, rel=1e-4)
    else:
        assert error > 1.01 * pca_error


def list_table_rows(text, label):
    """The rows of the first ``list-table`` after ``.. _label:``, as lists of cell texts."""
    text = text.split(f".. _{label}:", 1)[1]
    block = text.split(".. list-table::", 1)[1]
    rows = []
    for line in block.splitlines()[1:]:
        if line.strip() and not line.startswith(" "):
            break  # the directive's body ended
        stripped = line.strip()
        if stripped.startswith("* - "):
            rows.append([stripped[4:]])
        elif stripped.startswith("- ") and rows:
            rows[-1].append(stripped[2:])
    return rows


def test_list_table_rows_parser():
    text = "\n".join([
        ".. _t:", "", ".. list-table::", "   :header-rows: 1", "", "   * - a", "     - b",
        "   * - c", "     - d", "", "After",
    ])
    assert list_table_rows(text, "t") == [["a", "b"], ["c", "d"]]


def test_defaults_table_matches_the_estimators():
    """The user guide's table of defaults that differ says what ``get_params()`` says."""
    rows = list_table_rows((DOCS / "user_guide" / "index.rst").read_text(), "defaults")
    header, rows = rows[0], rows[1:]
    columns = [re.findall(r"skae\.(\w+)`", cell) for cell in header[1:]]
    assert all(columns), header
    checked = 0
    for row in rows:
        parameter = re.fullmatch(r"``(\w+)``", row[0])[1]
        for names, cell in zip(columns, row[1:]):
            for name in names:
                estimator = getattr(skae, name)
                params = estimator().get_params(deep=False)
                if cell == "—":
                    assert parameter not in params, f"{name} has {parameter}; the table says —"
                else:
                    value = ast.literal_eval(re.fullmatch(r"``(.+)``", cell)[1])
                    assert params[parameter] == value, (
                        f"docs/user_guide/index.rst says {name}({parameter}={value!r}) by "
                        f"default; it is {params[parameter]!r}"
                    )
                checked += 1
    assert checked >= 40
