"""benchmarks.headline: the README's *Results*, computed from the committed report's rows."""

import json

import pandas as pd

from benchmarks import headline
from benchmarks.slices import REPORT_FIRST_SEED


def test_readme_results_are_the_committed_reports():
    readme = headline.README.read_text()
    start, stop = readme.index(headline.BEGIN), readme.index(headline.END) + len(headline.END)
    assert readme[start:stop] + "\n" == headline.readme_results(), (
        "the README's Results differ from the committed report: run "
        "`python -m benchmarks.headline --write`")


def _few_labels_rows(seeds):
    """mnist_test at 1%, both draws; the classifier 0.05 ahead, but behind the MLP on one draw."""
    offsets = {"AutoencoderClassifier": 0.05, "LabelSpreading": 0.0, "LabelSpreading+PCA": 0.01,
               "MLP": -0.1}
    return pd.DataFrame([
        {"dataset": "mnist_test", "fraction": 0.01, "draw": draw, "seed": seed, "method": method,
         "accuracy": 0.8 + offset + (0.01 if draw == "stratified" else 0.0)
         + (0.3 if (draw, seed, method) == ("random", seeds[0], "MLP") else 0.0)}
        for draw in ("stratified", "random") for seed in seeds
        for method, offset in offsets.items()])


def test_few_labels_leads_with_the_draws_users_meet(tmp_path):
    _few_labels_rows(range(5)).to_csv(tmp_path / "few_labels.csv", index=False)
    line = headline.few_labels_line(tmp_path)
    assert line.startswith("**0.850**: `AutoencoderClassifier`'s accuracy on mnist_test with 1%")
    assert "the labels drawn at random, against 0.810 for LabelSpreading on PCA codes" in line
    assert "(stratified by class: 0.860 against 0.820 and 0.710)" in line
    # Ahead of LabelSpreading and LabelSpreading+PCA on 5 of 5 draws, of the MLP on 4 of 5.
    assert "on at least 80% of the draws in 3 of 3 (cell, peer) pairs." in line


def test_a_missing_slice_leaves_its_line_out(tmp_path):
    _few_labels_rows(range(2)).to_csv(tmp_path / "few_labels.csv", index=False)
    text = headline.readme_results(tmp_path)
    assert text.count("\n- ") == 1 and "mnist_test" in text


def test_the_rows_line_says_report_rows_only_when_every_seed_is_one(tmp_path):
    (tmp_path / "sections").mkdir()
    for name in ("few_labels", "small"):
        (tmp_path / "sections" / f"{name}.json").write_text(
            json.dumps({"commit": "abc1234", "skae_fingerprint": "f" * 64}))
    report_seeds = range(REPORT_FIRST_SEED, REPORT_FIRST_SEED + 5)
    _few_labels_rows(report_seeds).to_csv(tmp_path / "few_labels.csv", index=False)
    line = headline.rows_line(tmp_path)
    assert line.startswith("Rows: report rows (seeds 100 and up)")
    assert "every section measured the same `skae/` (fingerprint ffffffffffff)" in line
    _few_labels_rows([0, *report_seeds]).to_csv(tmp_path / "few_labels.csv", index=False)
    assert "some of them design rows" in headline.rows_line(tmp_path)
