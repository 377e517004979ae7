"""The README's quick start runs as written, its commands are CI's, its table stays short.

The README's measured figures are checked against the benchmark report in
``tests/test_benchmarks.py`` (``test_readme_quotes_only_figures_of_the_committed_report``).
"""

import re
from pathlib import Path

import pytest

import skae

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

MAX_TABLE_ROW = 300  # characters of one row of the estimator table


def fenced_blocks(text, language):
    """The bodies of the ```language fenced blocks of a markdown text, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def section(text, heading):
    """The text of the ``## heading`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"the README has no '## {heading}' section"
    return match.group(1)


def estimator_rows(text):
    """The body rows of the table of the Estimators section, as raw lines."""
    lines = [line for line in section(text, "Estimators").splitlines() if line.startswith("|")]
    return lines[2:]  # after the header and its |---| line


def commands(text):
    """Every command of the README's bash blocks (comments dropped), in order."""
    found = []
    for block in fenced_blocks(text, "bash"):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command:
                found.append(command)
    return found


def test_parsers():
    text = "\n".join([
        "# t", "## Estimators", "", "| a | b |", "|---|---|", "| x | y |", "", "## Next",
        "```bash", "cmd one  # a comment", "```", "```python", "x = 1", "```",
    ])
    assert estimator_rows(text) == ["| x | y |"]
    assert commands(text) == ["cmd one"]
    assert fenced_blocks(text, "python") == ["x = 1\n"]


@pytest.mark.slow
def test_quick_start_runs():
    code = fenced_blocks(README.read_text(), "python")[0]
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    codes = namespace["codes"]
    assert list(codes.columns)[0] == "autoencodertransformer0"
    assert codes.index.equals(namespace["X_test"].index)
    assert namespace["model"].score(namespace["X_test"], namespace["y_test"]) > 0.8


def test_quick_start_comes_before_results_and_install_before_both():
    text = README.read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings.index("Install") < headings.index("Quick start") < headings.index("Results")
    assert fenced_blocks(section(text, "Quick start"), "python"), "the quick start has no code"


def test_the_two_commands_are_the_main_job_and_the_test_suite_ci_runs():
    """The README's main-job and test commands; CI (.ci/run) runs the test command as written."""
    readme_commands = commands(section(README.read_text(), "Reproduce"))
    main_job = [c for c in readme_commands if c.endswith("&& python -m benchmarks")]
    tests = [c for c in readme_commands if c.endswith("&& python -m pytest")]
    assert len(main_job) == 1 and len(tests) == 1, readme_commands
    prefix = "python3 -m venv .venv && . .venv/bin/activate && pip install torch=="
    assert main_job[0].startswith(prefix) and tests[0].startswith(prefix)
    assert 'pip install -e ".[benchmarks]"' in main_job[0] and 'pip install -e ".[test]"' in tests[0]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    ci_commands = [line.strip() for line in ci if line.strip() and not line.startswith("#")]
    assert ci_commands[-1] == tests[0], (
        ".ci/run's last command must be the README's test command, character for character"
    )


def test_estimator_table_rows_are_short_and_link_to_their_guide_page():
    rows = estimator_rows(README.read_text())
    assert rows, "the README's Estimators section has no table"
    for row in rows:
        assert len(row) <= MAX_TABLE_ROW, f"{len(row)} characters (at most {MAX_TABLE_ROW}): {row}"
        links = re.findall(r"\]\((docs/user_guide/[\w/]+\.rst)\)", row.split("|")[1])
        assert len(links) == 1, f"the first cell must link to one user guide page: {row}"
        assert (REPO / links[0]).is_file(), f"{links[0]} does not exist"


def test_every_public_estimator_has_a_row():
    from sklearn.base import BaseEstimator

    estimators = [
        name for name in skae.__all__
        if isinstance(getattr(skae, name), type) and issubclass(getattr(skae, name), BaseEstimator)
        and name != "BaseAutoencoder"
    ]
    listed = {re.search(r"`(\w+)`", row).group(1) for row in estimator_rows(README.read_text())}
    assert sorted(set(estimators) - listed) == []


def test_results_link_the_report_and_its_figures_exist():
    results = section(README.read_text(), "Results")
    assert "](docs/benchmarks/report.md)" in results
    assert len(re.findall(r"^- \*\*[\d.]+(?: of \d+)?\*\*", results, re.M)) == 6, "six headlines"
    assert (REPO / "docs" / "benchmarks" / "report.md").is_file()


def test_linked_files_exist():
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README.read_text()):
        assert (REPO / target).exists(), f"the README links to {target}, which does not exist"


def test_licence_and_citation():
    licence = (REPO / "LICENSE").read_text()
    assert licence.startswith("BSD 3-Clause License") and "skae developers" in licence
    assert "BSD-3-Clause" in (REPO / "pyproject.toml").read_text()  # the licence it declares
    citation = (REPO / "CITATION.cff").read_text()
    fields = dict(re.findall(r"^([\w-]+): (.+)$", citation, re.M))
    assert fields["cff-version"] == "1.2.0"
    assert fields["version"].strip('"') == skae.__version__, (
        "CITATION.cff's version must be skae's (skae/_version.py)"
    )
    assert fields["license"] == "BSD-3-Clause"
    assert {"message", "title", "date-released"} <= set(fields)
    assert re.search(r"^authors:\n  - name: \"skae developers\"$", citation, re.M)
