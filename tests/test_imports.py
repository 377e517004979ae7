"""The package's imports run downward: no import cycle, no lower module reaching up.

Read from the source (AST), so that imports inside functions, which run late
and hide a cycle from a plain ``import skae``, count like the others.
"""

import ast
from pathlib import Path

import skae

PACKAGE = Path(skae.__file__).resolve().parent

# Modules below the estimators: they are handed what they need (a loss, a
# corruption function, an estimator to ask) and never import the base class
# or an estimator, not even inside a function.
LOWER = [
    "skae._backprop",
    "skae._budget",
    "skae._columns",
    "skae._data",
    "skae._distributed",
    "skae._docstrings",
    "skae._engine",
    "skae._fused_step",
    "skae._graph",
    "skae._io_format",
    "skae._io_onnx",
    "skae._io_trust",
    "skae._output",
    "skae._pretraining",
    "skae._random",
    "skae._rollback",
    "skae._shrinkage",
    "skae._threads",
    "skae._training_length",
    "skae._training",
    "skae._validation",
    "skae._version",
    "skae.io",
    "skae.nn",
    "skae.noise",
    "skae.penalties",
]
UPPER = [
    "skae._base",
    "skae._head",
    "skae.autoencoder",
    "skae.classifier",
    "skae.contractive",
    "skae.denoising",
    "skae.impute",
    "skae.outlier",
    "skae.regressor",
    "skae.sparse",
    "skae.supervised",
    "skae.tabular",
    "skae.variational",
]


def _module_name(path):
    parts = ("skae", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(name, path):
    """The package's modules that module ``name`` (file ``path``) imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module
            # "from . import io" imports the module skae.io; "from .nn import make_mlp" skae.nn.
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in MODULES else source)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _imported(name, path) for name, path in MODULES.items()}


def _cycles(graph):
    """Each strongly connected group of two or more modules (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _reach(name):
    seen, todo = set(), [name]
    while todo:
        for target in GRAPH[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_walk_sees_the_package_and_its_imports(tmp_path):
    assert {"skae", "skae._base", "skae._data", "skae.io"} <= MODULES.keys()
    assert set(LOWER) | set(UPPER) == MODULES.keys() - {"skae"}, "file the new module above"
    assert "skae._base" in GRAPH["skae.autoencoder"]  # from ._base import BaseAutoencoder
    assert "skae._engine" in GRAPH["skae._data"]  # from ._engine import TensorBatches
    assert "skae.io" in GRAPH["skae"]  # from .io import export_onnx, load, save
    # An import inside a function counts as well; "from . import name" is the
    # module skae.name when there is one, else the package.
    module = tmp_path / "deferred.py"
    module.write_text(
        "import numpy\n\ndef f():\n    from ._base import BaseAutoencoder\n"
        "    from . import nn, __version__\n    import skae.noise\n"
    )
    assert _imported("skae.deferred", module) == {"skae._base", "skae.nn", "skae", "skae.noise"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    cycles = _cycles(GRAPH)
    assert not cycles, "modules importing each other (directly or in a loop): " + "; ".join(
        " <-> ".join(group) for group in cycles
    )


def _private_imports(path):
    """``"module.name"`` of each private name (one leading underscore) the file imports from skae."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("skae")):
            found += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_module_imports_another_modules_private_name(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text("from ._base import _take, discard\nfrom ._version import __version__\n")
    assert _private_imports(module) == ["_base._take"]
    private = {name: _private_imports(path) for name, path in MODULES.items()}
    assert not any(private.values()), {k: v for k, v in private.items() if v}


def test_lower_modules_reach_neither_the_base_nor_an_estimator():
    reaching_up = {name: sorted(_reach(name) & set(UPPER)) for name in LOWER if name in MODULES}
    assert not any(reaching_up.values()), {k: v for k, v in reaching_up.items() if v}


def test_import_and_a_default_fit_leave_torch_dynamo_unloaded():
    # torch.optim imports torch._dynamo (2-5 s in a fresh process) on first use; skae's
    # default path builds, zeroes and steps Adam without it (skae._fused_step). The
    # supervised estimators, and scikit-learn's neighbors with them, load on first use.
    import subprocess
    import sys

    script = (
        "import sys, numpy as np, skae\n"
        "loaded = ['torch._dynamo' in sys.modules, 'sklearn.neighbors' in sys.modules]\n"
        "X = np.random.RandomState(0).normal(size=(60, 4))\n"
        "for cls in (skae.AutoencoderTransformer, skae.ContractiveAE, skae.VariationalAE):\n"
        "    cls(n_components=2, hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X)\n"
        "loaded.append('torch._dynamo' in sys.modules)\n"
        "print(loaded, skae.AutoencoderClassifier.__module__)\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(PACKAGE.parent), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["[False,", "False,", "False]", "skae.classifier"]
