"""Smoke tests of the benchmark package (``python -m benchmarks``) on tiny settings."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import skae
from benchmarks import reducers as rd
from benchmarks import reduction, slices, small, speed
from benchmarks.__main__ import SLICES, main, write_report
from benchmarks.datasets import Dataset, builtin_datasets, csv_dataset
from benchmarks.stats import geometric_mean, paired
from benchmarks.slices import REPO

TINY = ["--seeds", "1", "--max-iter", "2", "--quiet", "--no-deep", "--jobs", "1"]


@pytest.mark.slow
def test_cli_writes_report_csv_and_plots(tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["--datasets", "wine,digits", "--ks", "2,5", "--reducers",
            "PCA,KernelPCA,AutoencoderTransformer", "--out", str(out), *TINY]
    assert main(argv) == 0
    for name in ["report.md", "reduction.csv", "sections/reduction.md", "sections/reduction.json",
                 "reduction_summary.csv", "reduction_comparison.csv", "mse_vs_k.png",
                 "digits_embedding.png"]:
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "reduction.csv")
    assert set(table["reducer"]) == {"PCA", "KernelPCA", "AutoencoderTransformer"}
    assert set(table["dataset"]) == {"wine", "digits"}
    assert set(table["k"]) == {2, 5}
    assert np.isfinite(table["mse"]).all() and (table["mse"] > 0).all()
    assert table["downstream"].between(0, 1).all()
    assert table["trustworthiness"].between(0, 1).all()
    assert (table["fit_seconds"] > 0).all() and (table["transform_rows_per_s"] > 0).all()
    assert set(table.loc[table["dataset"] == "digits", "scaling"]) == {"minmax"}
    assert set(table.loc[table["dataset"] == "wine", "scaling"]) == {"standard"}
    printed = capsys.readouterr().out
    assert "| dataset" in printed and "MSE ratio" in printed
    report = (out / "report.md").read_text()
    record = json.loads((out / "sections" / "reduction.json").read_text())
    assert record["command"] in report and record["commit"] in report
    assert record["runs"] == len(table) and record["cached"] == 0
    figure = (out / "figures" / "reduction.rst").read_text()
    assert "Rows: seed 100, report rows" in figure  # the user guide's table says which rows


def test_second_run_comes_from_the_cache(tmp_path):
    argv = ["--datasets", "wine", "--ks", "2", "--reducers", "PCA,AutoencoderTransformer",
            "--out", str(tmp_path), *TINY]
    main(argv)
    first = pd.read_csv(tmp_path / "reduction.csv")
    main(argv[:-4] + ["--seeds", "2", "--quiet", "--no-deep", "--jobs", "1"])  # one more seed
    record = json.loads((tmp_path / "sections" / "reduction.json").read_text())
    assert record["runs"] == 4 and record["cached"] == 2
    second = pd.read_csv(tmp_path / "reduction.csv")
    pd.testing.assert_series_equal(first["mse"], second.loc[second["seed"] == 100, "mse"])
    # A resume that finds every row recorded measured nothing: the record of the run that did stays.
    main(argv[:-4] + ["--seeds", "2", "--quiet", "--no-deep"])
    assert json.loads((tmp_path / "sections" / "reduction.json").read_text()) == record


def test_code_change_invalidates_the_cache(tmp_path, monkeypatch):
    config = {"quick": True, "seeds": 1, "data_dir": None, "datasets": ["wine"], "ks": [2],
              "reducers": ["PCA"]}
    assert slices.run_slice(reduction, config, tmp_path, progress=False).n_new == 1
    assert slices.run_slice(reduction, config, tmp_path, progress=False).n_new == 0
    # The folder of the shared data is not part of the key: another session finds the record.
    moved = {**config, "data_dir": str(tmp_path / "elsewhere")}
    assert slices.run_slice(reduction, moved, tmp_path, progress=False).n_new == 0
    from benchmarks.cache import run_key

    shared = {"dataset": "letter", "source": "shared:/data/one", "seed": 0}
    assert run_key("r", "c", shared) == run_key("r", "c", {**shared, "source": "shared:/data/two"})
    assert run_key("r", "c", shared) != run_key("r", "c", {**shared, "seed": 1})
    monkeypatch.setattr(slices, "code_fingerprint", lambda module: "another version")
    assert slices.run_slice(reduction, config, tmp_path, progress=False).n_new == 1
    # The records of the older code are dropped once the run is over: nothing can use them.
    records = (tmp_path / "runs" / "reduction.jsonl").read_text().splitlines()
    assert [json.loads(line)["code"] for line in records] == ["another version"]


def test_records_carry_the_skae_fingerprint_and_the_report_flags_older_code(tmp_path):
    from benchmarks.cache import skae_fingerprint

    argv = ["--datasets", "wine", "--ks", "2", "--reducers", "PCA", "--out", str(tmp_path), *TINY]
    main(argv)
    current = skae_fingerprint()
    records = [json.loads(line) for line in (tmp_path / "runs" / "reduction.jsonl").open()]
    assert len(records) == 1 and records[0]["skae"] == current and records[0]["row"]["mse"] > 0
    path = tmp_path / "sections" / "reduction.json"
    record = json.loads(path.read_text())
    assert record["skae_fingerprint"] == current
    report = (tmp_path / "report.md").read_text()
    assert f"skae/ fingerprint {current[:12]}" in report and "Older code" not in report
    assert "1 of 1 sections measured it" in report
    path.write_text(json.dumps({**record, "skae_fingerprint": "0" * 64}))
    report = write_report(tmp_path)
    assert "**Older code.** These rows measured `skae/` 000000000000" in report
    assert "0 of 1 sections measured it" in report


def test_skae_fingerprint_is_the_same_from_the_files_and_from_git(tmp_path):
    import subprocess

    from benchmarks.cache import skae_fingerprint, skae_fingerprint_at

    (tmp_path / "skae" / "sub").mkdir(parents=True)
    (tmp_path / "skae" / "__init__.py").write_text("x = 1\n")
    (tmp_path / "skae" / "sub" / "a.py").write_text("y = 2\n")
    (tmp_path / "skae" / "notes.txt").write_text("not code")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    first = skae_fingerprint(tmp_path / "skae")
    assert skae_fingerprint_at("HEAD", repo=tmp_path) == first
    (tmp_path / "skae" / "sub" / "a.py").write_text("y = 3\n")
    assert skae_fingerprint(tmp_path / "skae") != first
    assert skae_fingerprint_at("HEAD (with uncommitted changes)", repo=tmp_path) is None
    assert skae_fingerprint_at("nosuchcommit", repo=tmp_path) is None


def test_a_slice_fingerprint_covers_the_modules_its_runs_use():
    from benchmarks import density, outliers
    from benchmarks.cache import run_sources

    assert [p.name for p in run_sources(outliers)] == ["outlier_tables.py", "outliers.py"]
    used = {p.name for p in run_sources(density)}
    assert {"density.py", "reduction.py", "datasets.py"} <= used
    assert not used & {"display.py", "slices.py", "record.py"}


def test_user_csv(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(120, 6)), columns=list("abcdef"))
    frame["b"] = frame["a"] + 0.3 * frame["b"]  # a + b: the first principal direction
    frame["label"] = (frame["a"] + frame["b"] > 0).astype(int)
    path = tmp_path / "mine.csv"
    frame.to_csv(path, index=False)
    dataset = csv_dataset(path, "label")
    assert dataset.shape == (120, 6) and dataset.task == "classification"
    out = tmp_path / "out"
    main(["--no-builtin", "--csv", str(path), "--target", "label", "--ks", "2",
          "--reducers", "PCA", "--out", str(out), *TINY])
    table = pd.read_csv(out / "reduction.csv")
    assert list(table["dataset"]) == ["mine"]
    # The label is the sign of the largest direction of variance: PCA's 2-D code keeps it.
    assert table["downstream"].iloc[0] > 0.6
    with pytest.raises(ValueError, match="no column 'nope'"):
        csv_dataset(path, "nope")


def test_pca_error_falls_with_k_and_ratios_are_paired():
    config = {"quick": True, "seeds": 2, "data_dir": None, "datasets": ["wine"],
              "ks": [2, 5, 10], "reducers": ["PCA", "TruncatedSVD"]}
    runs = reduction.plan(config)
    rows = pd.DataFrame([{**run, **reduction.run_one(run)} for run in runs])
    summ = reduction.summary(rows)
    pca = summ[summ["reducer"] == "PCA"].sort_values("k")
    assert (np.diff(pca["mse_mean"]) < 0).all()
    assert (summ["seeds"] == 2).all() and summ["mse_std"].notna().all()
    # Pretend TruncatedSVD is a skae reducer: the comparison pairs its MSE with PCA's per seed.
    rows.loc[rows["reducer"] == "TruncatedSVD", "family"] = "skae"
    comp = reduction.comparison(rows).set_index("k")
    by = rows.set_index(["reducer", "k", "seed"])["mse"].sort_index()
    for k in (2, 5, 10):
        ratios = by["TruncatedSVD", k] / by["PCA", k]
        assert comp.loc[k, "MSE ratio"] == pytest.approx(geometric_mean(ratios))
        assert comp.loc[k, "worst seed ratio"] == pytest.approx(ratios.max())


def test_paired_verdicts():
    better = paired([0.50, 0.52, 0.49, 0.51], [1.0, 1.01, 0.99, 1.0], log=True)
    assert better["verdict"] == "better" and better["low"] < better["mean"] < better["high"] < 1
    assert paired([1.2, 1.3, 1.25], [1.0, 1.0, 1.0], log=True)["verdict"] == "worse"
    assert paired([0.9, 1.1, 0.95], [1.0, 1.0, 1.0])["verdict"] == "tie"
    assert paired([0.9], [1.0])["verdict"] == "1 seed"
    accuracy = paired([0.9, 0.91, 0.92], [0.8, 0.81, 0.8], lower_is_better=False)
    assert accuracy["verdict"] == "better" and accuracy["mean"] == pytest.approx(0.1067, abs=1e-3)


def test_every_exported_autoencoder_is_benchmarked():
    names = [r.name for r in rd.skae_reducers(deep=False)]
    expected = [n for n in rd.AUTOENCODER_NAMES if getattr(skae, n, None) is not None]
    assert names == expected and "AutoencoderTransformer" in names
    estimator = reduction.make_estimator({"reducer": names[0], "k": 3, "seed": 7})
    assert estimator.n_components == 3 and estimator.random_state == 7
    # The benchmark runs each estimator at its own defaults (the "auto" budget included).
    assert estimator.early_stopping == type(estimator)().early_stopping == "auto"


def test_skips_and_split():
    big = Dataset("big", np.zeros((6000, 3)), np.arange(6000) % 2)
    kpca = rd.available_reducers(["KernelPCA"])[0]
    assert "too large" in kpca.skip(big, 2, 4800)
    assert kpca.skip(big, 2, 100) is None
    deep = [r for r in rd.skae_reducers() if r.name.endswith("[deep]")][0]
    pixels = Dataset("pix", np.zeros((10, 784)), np.zeros(10), scaling="minmax")
    assert deep.skip(pixels, 30, 8) is None
    assert deep.skip(pixels, 2, 8).startswith("not applicable")
    assert reduction.code_sizes(13, (2, 5, 10, 30)) == [2, 5, 10]
    wine = [d for d in builtin_datasets() if d.name == "wine"][0]
    X_train, X_test, y_train, y_test = reduction.split_and_scale(wine, 0)
    assert len(X_test) == 36 and len(X_train) == 142
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-10)
    assert set(np.unique(y_test)) == set(np.unique(wine.y))


def test_speed_plan_interleaves_and_report_ratios_to_the_reference():
    runs = speed.plan({"quick": True, "seeds": 2})
    contenders = [*speed.FITS, *speed.TRANSFORMS]
    assert [r["contender"] for r in runs] == contenders * 2  # repeat 0 of all, then repeat 1
    rows = pd.DataFrame([{**r, "s_per_epoch": 2.0 if r["contender"] == "skae" else 1.0,
                          "rows_per_s": 1e5} for r in runs])
    rows.loc[rows["contender"].isin(speed.TRANSFORMS), "s_per_epoch"] = np.nan
    text = speed.report(rows, None)
    skae_line = next(line for line in text.splitlines() if line.startswith("| skae "))
    assert "2.00" in skae_line  # twice the reference's seconds per epoch
    figure = speed.doc_figure(rows)
    assert "   * - skae\n     - 2.00 (2.00-2.00)" in figure


def test_time_budget_stops_training():
    from sklearn.datasets import load_digits

    X = load_digits().data[:300] / 16
    ae = skae.AutoencoderTransformer(2, hidden_layer_sizes=(16,), max_iter=1000,
                                     random_state=0, callbacks=[rd.TimeBudget(0.0)])
    ae.fit(X)  # a clean stop: no warning, no KeyboardInterrupt
    # One epoch in each training run: the 5 cross-validation folds' and the returned network's.
    assert len(ae.loss_curve_) == 1
    assert ae.n_iter_ == ae._training_budget(len(X), reset=True, early_stopping=True).n_folds + 1


def test_report_keeps_every_slice_with_its_own_record(tmp_path):
    (tmp_path / "sections").mkdir()
    for name, commit in [("reduction", "aaa"), ("speed", "bbb")]:
        (tmp_path / "sections" / f"{name}.md").write_text(f"## section {name}\n")
        record = {"command": f"cmd {name}", "commit": commit, "date": "today", "machine": "m",
                  "python": "3", "versions": {"skae": "0"}, "threads": "1", "jobs": 1,
                  "runs": 3, "cached": 1, "wall_seconds": 1.0, "run_seconds": 60.0}
        (tmp_path / "sections" / f"{name}.json").write_text(json.dumps(record))
    text = write_report(tmp_path)
    assert text.index("section reduction") < text.index("section speed")
    assert "commit aaa" in text and "commit bbb" in text and "`cmd speed`" in text
    assert "2 min" in text  # 60 s + 60 s of runs


def test_only_refuses_unknown_slices():
    with pytest.raises(SystemExit):
        main(["--only", "reduction,nope"])
    assert SLICES[0] == "reduction" and "speed" in SLICES


def test_deep_tuning_reads_no_test_row_and_picks_the_lowest_validation_ratio():
    from benchmarks import tune_deep

    assert tune_deep.plan({"data_dir": None}) == []
    X = np.random.RandomState(0).rand(200, 5)
    y = np.arange(200) % 2
    run = {"dataset": "toy", "source": "builtin", "max_rows": 10, "n_generated": 10}
    toy = Dataset("toy", X, y, scaling="minmax")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tune_deep, "load_dataset", lambda run: toy)
        fit, valid = tune_deep._fit_validation_rows(run)
    X_train, X_test, _, _ = reduction.split_and_scale(toy, 0)
    seen = {tuple(row) for row in np.vstack([fit, valid]).round(12)}
    assert seen == {tuple(row) for row in X_train.round(12)}
    assert not seen & {tuple(row) for row in X_test.round(12)}
    rows = [{"candidate": name, "ratio": r} for name, r in zip(tune_deep.CANDIDATES, [0.5, 0.3, 0.9])]
    assert tune_deep.chosen(rows) == {**tune_deep.BASE, **tune_deep.CANDIDATES[rows[1]["candidate"]]}


def test_density_slice_plans_runs_and_reports_the_targets(tmp_path):
    import pandas as pd

    from benchmarks import density

    runs = density.plan({"quick": True, "seeds": 3, "data_dir": None})
    assert {r["dataset"] for r in runs} == set(density.BUNDLED)
    assert {(r["scaling"], r["k"]) for r in runs} == {(s, k) for s in density.SCALINGS for k in density.KS}
    row = density.run_one({"dataset": "wine", "data_dir": None, "scaling": "standard", "k": 2, "seed": 0})
    # The VAE starts at probabilistic PCA; on 142 training rows the default cross-validates
    # the training length, and its held-out ELBO is within a nat of PCA's.
    assert abs(row["elbo"] - row["pca_score"]) < 1.0 and row["iwae"] > row["elbo"] - 0.5
    assert row["validation"] == "cross-validation" and math.isnan(row["patience"])
    # The folds' mean validation curve, from the start up to the count they chose.
    assert len(row["valid_curve"].split()) == row["kept_epoch"] + 1
    assert math.isnan(row["stop_noise_change"]) and row["valid_noise_curve"] == ""
    rows = pd.DataFrame([{"dataset": "wine", "scaling": "standard", "k": 2, "seed": s, **row} for s in (0, 1)])
    section = density.report(rows, tmp_path)
    assert "ELBO >= PCA: met in" in section and (tmp_path / "density.png").exists()
    assert "settled at stop: met in 0 of 0 cells (1 cross-validated" in section


FIGURES = REPO / "docs" / "benchmarks" / "figures"


@pytest.mark.parametrize("figure", sorted(FIGURES.glob("*.rst")), ids=lambda path: path.stem)
def test_doc_figures_are_what_the_committed_rows_give(figure):
    """The user guide quotes no number by hand: each table is regenerated from its CSV."""
    import importlib

    from benchmarks.record import figure_text

    name = figure.stem
    module = importlib.import_module(f"benchmarks.{name}")
    rows = pd.read_csv(REPO / "docs" / "benchmarks" / f"{name}.csv")
    record = json.loads((REPO / "docs" / "benchmarks" / "sections" / f"{name}.json").read_text())
    assert figure.read_text() == figure_text(module, rows, record), (
        f"{figure} disagrees with {name}.csv: regenerate it with "
        f"`python -m benchmarks --only {name} --out docs/benchmarks`")


def test_every_included_figure_exists():
    import re

    included = []
    for page in [*(REPO / "docs").rglob("*.rst"), *(REPO / "docs").rglob("*.md")]:
        pattern = r"^\.\. include:: (\S*benchmarks/figures/\S+)"
        for target in re.findall(pattern, page.read_text(), re.M):
            included.append((page.parent / target).resolve())
    assert included, "the user guide includes no generated figure"
    for path in included:
        assert path.is_file(), f"{path} is included by the docs but not generated"


def test_fit_time_plan_and_the_quick_starts_tables():
    from benchmarks import fit_time

    quick = fit_time.plan({"quick": True, "seeds": 1, "data_dir": None})
    assert [r["data"] for r in quick] == list(fit_time.QUICK_SIZES)
    full = fit_time.plan({"quick": False, "seeds": 1, "data_dir": None})
    assert "mnist_test" not in {r["data"] for r in full}  # no shared data: skipped, not failed
    assert {r["estimator"] for r in full if r["table"] == "estimators"} == set(fit_time.ESTIMATORS)
    rows = pd.DataFrame([{**r, "rows": 1000, "features": 20, "epochs": 7,
                          "max_iter": 20 if r["data"].startswith("synthetic 100,000") else np.nan,
                          "s_per_epoch": 0.5, "fit_seconds": 3.5, "fit_cpu_seconds": 3.0}
                         for r in full])
    figure = fit_time.doc_figure(rows)
    assert "   * - ``SparseAE`` (l1)\n     - 7\n     - 0.5\n     - 3.5" in figure
    assert "     - 7 (max_iter=20)" in figure
    X = fit_time.synthetic(50, 6)
    assert X.dtype == np.float32 and np.allclose(X.mean(axis=0), 0, atol=1e-5)


def test_small_slice_pairs_each_seed_with_pca_and_reports_every_cell(tmp_path):
    report_rows = small.plan({"quick": True, "seeds": 2, "data_dir": None})
    assert {r["seed"] for r in report_rows} == {100, 101}  # seeds_for: the report rows
    assert small.close_k_cells(None) == [  # k = d - 1 on 120 rows (issue 28)
        ("iris", 120, [3]), ("wine", 120, [12]), ("breast_cancer", 120, [29]), ("diabetes", 120, [9])]
    runs = [r for r in small.plan({"quick": True, "seeds": 2, "data_dir": None, "rows": "design"})
            if r["dataset"] == "iris" and r["k"] == 2]
    assert {r["method"] for r in runs} == {"AutoencoderTransformer", "previous budget"}
    assert {r["seed"] for r in runs} == {0, 1}
    runs = [r for r in runs if r["method"] == "previous budget"]  # the fast one
    rows = pd.DataFrame([{**r, **small.run_one(r)} for r in runs])
    assert (rows["n_rows"] == 120).all() and (rows["steps"] >= rows["epochs"]).all()
    np.testing.assert_allclose(rows["ratio"], rows["mse"] / rows["pca_mse"])
    cells = small.cell_table(rows)
    assert len(cells) == 1 and cells.loc[0, "trained"].endswith("/2")
    expected = paired(rows["mse"], rows["pca_mse"], log=True)["mean"]
    assert cells.loc[0, "vs PCA, paired"].strip("*_").startswith(f"{expected:.3f}")
    section = small.report(rows, tmp_path)
    assert "## Small tables" in section and "DESIGN rows, seeds 0 to 1" in section


def test_readme_quotes_only_figures_of_the_committed_report():
    """A measured number in the README must be one the committed report gives."""
    import re

    readme = (REPO / "README.md").read_text()
    report = (REPO / "docs" / "benchmarks" / "report.md").read_text() + "".join(
        path.read_text() for path in FIGURES.glob("*.rst"))
    quoted = re.findall(r"(?<![\d.])[-+]?\d+\.\d{2,4}(?![\d.+])", readme)  # not "3.10+"
    assert quoted, "the README quotes no measured figure (this test would check nothing)"
    stale = [number for number in quoted if number.lstrip("+-") not in report]
    assert not stale, f"README figures not in docs/benchmarks/report.md: {stale}"


def test_threads_plan_interleaves_the_settings_and_the_tables_take_medians():
    from benchmarks import threads

    runs = threads.plan({"seeds": 2})
    assert runs[0]["setting"] == "n_jobs=2 (cold)"  # the first parallel search starts the workers
    fits = [r for r in runs if r["part"] == "fit"]
    assert len(fits) == 2 * len(threads.FIT_SETTINGS) * len(threads.NEIGHBOURS)
    assert [r["round"] for r in fits] == sorted(r["round"] for r in fits)  # round by round
    seconds = {"alone": [1.0, 3.0], "busy": [2.0, 10.0]}
    rows = pd.DataFrame(
        [{**r, "seconds": seconds[r["neighbour"]][r["round"]], "load_average": 1.5, "cpu_count": 2}
         for r in fits]
        + [{**r, "seconds": 10.0 if r["setting"] == "n_jobs=1" else 4.0, "load_average": 0.5,
            "cpu_count": 2} for r in runs if r["part"] == "grid search"])
    table = threads.fit_table(rows)
    assert table["alone s"].tolist() == [2.0] * 3 and table["busy / alone"].tolist() == [3.0] * 3
    grid = threads.grid_table(rows).set_index("search")
    assert grid.loc["n_jobs=2", "speed-up over n_jobs=1"] == 2.5
    figure = threads.doc_figure(rows)
    assert "     - 3.0x" in figure and "0.5 to 1.5 on 2 logical cores" in figure


def test_the_selection_rule_diagnostic_scores_the_rule_the_library_applies():
    from benchmarks.dev import selection_rule

    from skae._budget import best_epoch, refit_epochs

    rng = np.random.RandomState(0)
    curves = [list(1.0 - np.cumsum(rng.uniform(-0.01, 0.03, size=40))) for _ in range(5)]
    curves = [[1.0] + c for c in curves]
    rec = {"c5": curves, "w5": [30] * 5, "n_rows": 150, "patience": 10**6,
           "test": list(np.linspace(1.0, 0.5, 41))}
    for z in (0.0, 2.0):
        chosen = best_epoch(curves, [30] * 5, standard_errors=z)[0]
        ratio, epochs = selection_rule.pick(rec, standard_errors=z, refit_in_steps=True)
        assert epochs == refit_epochs(chosen, 120, 150, 32)
        assert ratio == rec["test"][epochs]
    # Early stopping cut by a shorter patience: the curve ends `patience` epochs after its best.
    assert selection_rule._cut([1.0, 0.9, 0.95, 0.96, 0.97], 2) == [1.0, 0.9, 0.95, 0.96]


def test_density_slice_runs_the_asked_rows_and_counts_what_they_show(tmp_path):
    import pandas as pd

    from benchmarks import density

    config = {"quick": True, "seeds": 2, "data_dir": None}
    assert {r["seed"] for r in density.plan(config)} == {100}  # --quick: one seed
    assert {r["seed"] for r in density.plan({**config, "quick": False})} == {100, 101}
    assert {r["seed"] for r in density.plan({**config, "quick": False, "rows": "design"})} == {0, 1}
    row = dict(iwae=0.0, accuracy=0.9, pca_accuracy=0.9, epochs=10, kept_epoch=3, fit_seconds=1.0,
               noise_change=0.0, kl_change=0.0, stop_noise_change=0.0, stop_kl_change=0.0,
               pca_median=-1.0, pca_worst=-9e5, n_train=100, n_features=5)
    runs = [  # one heavy-tailed cell, its second seed below PCA
        {"dataset": "a", "scaling": "standard", "k": 2, "seed": 100, "elbo": 2.0, "pca_score": 1.0,
         "elbo_median": 3.0, "elbo_worst": -40.0, "tail": 900.0},
        {"dataset": "a", "scaling": "standard", "k": 2, "seed": 101, "elbo": 0.5, "pca_score": 1.0,
         "elbo_median": 3.0, "elbo_worst": -50.0, "tail": 800.0},
        {"dataset": "b", "scaling": "minmax", "k": 2, "seed": 100, "elbo": 2.0, "pca_score": 1.0,
         "elbo_median": 3.0, "elbo_worst": -5.0, "tail": 3.0},
    ]
    rows = pd.DataFrame([{**row, **run} for run in runs])
    section = density.report(rows, tmp_path)
    assert "Rows: the report rows (seeds 100, 101)" in section and "no design decision" in section
    assert "ELBO >= PCA.score on every seed: 2 of 3 runs; not: a standard k=2 seed 101." in section
    assert "Heavy-tailed cells: 1 of 2; a standard k=2:" in section and "worst row -50 (-9e+05)" in section
    design = density.report(rows.assign(seed=rows["seed"] - 100), tmp_path)
    assert "Rows: the design rows (seeds 0, 1)" in design and "not as the report" in design
