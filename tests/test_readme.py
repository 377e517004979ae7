"""The README's quick start runs as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_quick_start_runs():
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    codes = namespace["codes"]
    assert list(codes.columns)[0] == "autoencodertransformer0"
    assert codes.index.equals(namespace["X_test"].index)
    assert namespace["model"].score(namespace["X_test"], namespace["y_test"]) > 0.8
