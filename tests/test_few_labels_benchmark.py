"""benchmarks.few_labels: random and stratified label draws, design and report rows, the report."""

import numpy as np
import pandas as pd
import pytest

from benchmarks import few_labels
from benchmarks.slices import REPORT_FIRST_SEED


def test_plan_runs_report_seeds_and_random_draws_beside_stratified_ones():
    config = {"quick": False, "seeds": 2, "data_dir": None}
    runs = few_labels.plan(config)
    assert {r["seed"] for r in runs} == {REPORT_FIRST_SEED, REPORT_FIRST_SEED + 1}
    draws = {(r["fraction"], r["draw"]) for r in runs}
    for fraction in few_labels.FRACTIONS:
        assert (fraction, "stratified") in draws
        assert ((fraction, "random") in draws) == (fraction in few_labels.RANDOM_FRACTIONS)
    assert 1.0 not in few_labels.RANDOM_FRACTIONS  # at 100% both draws are the same rows
    design = few_labels.plan({**config, "rows": "design"})
    assert {r["seed"] for r in design} == {0, 1}


def test_random_draws_are_uniform_and_may_miss_a_class():
    y = np.repeat(np.arange(10), [500] + [5] * 9)  # one big class, nine small ones
    missed = 0
    for seed in range(20):
        random = few_labels.labeled_rows(y, 0.02, seed, "random")
        stratified = few_labels.labeled_rows(y, 0.02, seed, "stratified")
        assert random.sum() == round(0.02 * len(y))
        assert len(np.unique(y[stratified])) == 10  # one row per class at least
        missed += len(np.unique(y[random])) < 10
    assert missed > 15  # 11 labels over 545 rows: the small classes mostly go unlabeled
    with pytest.raises(ValueError, match="unknown draw"):
        few_labels.labeled_rows(y, 0.02, 0, "balanced")


def _fake_rows(seeds):
    """Rows of two cells (1% stratified and random) with a known gap of each method."""
    offsets = {"AutoencoderClassifier": 0.05, "LabelSpreading": 0.0, "LabelSpreading+PCA": 0.01,
               "SelfTraining+LR": -0.05, "MLP": -0.1, "LR": -0.1}
    rows = []
    for draw in few_labels.DRAWS:
        for seed in seeds:
            for method, offset in offsets.items():
                wiggle = 0.01 * ((seed * 7 + len(method)) % 3)
                accuracy = 0.8 + offset + wiggle + (0.2 if draw == "random" and seed == seeds[0]
                                                    and method == "MLP" else 0.0)
                rows.append({"dataset": "mnist_test", "fraction": 0.01, "draw": draw,
                             "seed": seed, "method": method, "accuracy": accuracy,
                             "fit_seconds": 1.0, "fit_cpu_seconds": 1.0, "n_labeled": 80,
                             "n_train": 8000, "combination": "graph"})
    return pd.DataFrame(rows)


def test_report_shows_both_draws_each_peer_and_which_rows(tmp_path):
    report_seeds = range(REPORT_FIRST_SEED, REPORT_FIRST_SEED + 5)
    section = few_labels.report(_fake_rows(report_seeds), tmp_path)
    assert "**Report rows**: seeds 100-104. No design decision saw them" in section
    assert "| 1 | stratified | 80 |" in section and "| 1 | random | 80 |" in section
    assert "**random draws**" in section and "**stratified draws**" in section
    # Ahead of every peer on every draw but the MLP on the first random one.
    assert "ahead 4/5" in section and "ahead 5/5" in section
    assert "Random draws, ahead of LabelSpreading, LabelSpreading+PCA, MLP" in section
    assert ": met in 3 of 3 (cell, peer) pairs." in section
    assert "mnist_test at 1%, random draws" in section
    design = few_labels.report(_fake_rows(range(5)), tmp_path)
    assert "**Design rows** (seeds 0-4, `--design`)" in design


def test_doc_figure_and_report_read_records_older_than_the_draws(tmp_path):
    rows = _fake_rows(range(3))
    old = rows[rows["draw"] == "stratified"].drop(columns="draw")
    assert "random" not in few_labels.doc_figure(old)  # stratified only
    both = few_labels.doc_figure(rows)
    assert both.index("Labels drawn at random, as they come") < both.index("Labels stratified")
    assert few_labels.doc_figure(old).split(".. list-table::")[1] in both  # the same table
    assert "| 1 | stratified |" in few_labels.report(old, tmp_path)
