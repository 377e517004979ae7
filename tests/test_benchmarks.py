"""Smoke tests of the benchmark package (``python -m benchmarks``) on tiny settings."""


import numpy as np
import pandas as pd
import pytest

import skae
from benchmarks import reducers as rd
from benchmarks.__main__ import main, run_speed
from benchmarks.datasets import Dataset, builtin_datasets, csv_dataset
from benchmarks.report import comparison, summary, targets
from benchmarks.runner import code_sizes, run, split_and_scale

TINY = ["--seeds", "1", "--max-iter", "2", "--quiet", "--no-deep", "--jobs", "1"]


def test_cli_writes_table_csv_and_plots(tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["--datasets", "wine,digits", "--ks", "2,5", "--reducers",
            "PCA,KernelPCA,AutoencoderTransformer", "--out", str(out), *TINY]
    assert main(argv) == 0
    for name in ["report.md", "results.csv", "summary.csv", "comparison.csv",
                 "mse_vs_k.png", "digits_embedding.png"]:
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "results.csv")
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
    assert printed.count("AutoencoderTransformer") >= 4


def test_user_csv(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(120, 6)), columns=list("abcdef"))
    frame["label"] = (frame["a"] + frame["b"] > 0).astype(int)
    path = tmp_path / "mine.csv"
    frame.to_csv(path, index=False)
    dataset = csv_dataset(path, "label")
    assert dataset.shape == (120, 6) and dataset.task == "classification"
    out = tmp_path / "out"
    main(["--no-builtin", "--csv", str(path), "--target", "label", "--ks", "2",
          "--reducers", "PCA", "--out", str(out), *TINY])
    table = pd.read_csv(out / "results.csv")
    assert list(table["dataset"]) == ["mine"]
    # The label is a linear function of two features: PCA's 2-D code keeps most of it.
    assert table["downstream"].iloc[0] > 0.6
    with pytest.raises(ValueError, match="no column 'nope'"):
        csv_dataset(path, "nope")


def test_pca_beats_nothing_and_metrics_are_consistent():
    """PCA's held-out MSE falls with k, and the report's ratios are computed from the table."""
    datasets = [d for d in builtin_datasets() if d.name == "wine"]
    results = run(datasets, rd.available_reducers(["PCA", "TruncatedSVD"]), ks=(2, 5, 10),
                  seeds=2, progress=False)
    summ = summary(results.table)
    pca = summ[summ["reducer"] == "PCA"].sort_values("k")
    assert (np.diff(pca["mse_mean"]) < 0).all()
    assert (summ["seeds"] == 2).all() and summ["mse_std"].notna().all()
    # Pretend TruncatedSVD is a skae reducer: the comparison divides its MSE by PCA's.
    summ.loc[summ["reducer"] == "TruncatedSVD", "family"] = "skae"
    comp = comparison(summ)
    svd = summ[summ["reducer"] == "TruncatedSVD"].set_index("k")["mse_mean"]
    expected = svd / pca.set_index("k")["mse_mean"]
    np.testing.assert_allclose(comp.set_index("k")["MSE ratio"], expected.loc[comp["k"]])
    holds = targets(comp).set_index("target")["holds"]
    assert list(holds.index) == ["MSE ratio < 1 at k=2", "MSE ratio < 1 at k=10"]
    assert holds.tolist() == list(expected.loc[[2, 10]] < 1)


def test_every_exported_autoencoder_is_benchmarked():
    names = [r.name for r in rd.skae_reducers(deep=False)]
    expected = [n for n in rd.AUTOENCODER_NAMES if getattr(skae, n, None) is not None]
    assert names == expected and "AutoencoderTransformer" in names
    reducer = rd.skae_reducers(deep=False)[0]
    estimator = reducer.make(3, 7)
    assert estimator.n_components == 3 and estimator.random_state == 7
    assert estimator.early_stopping is True


def test_skips_and_split():
    big = Dataset("big", np.zeros((6000, 3)), np.arange(6000) % 2)
    kpca = rd.available_reducers(["KernelPCA"])[0]
    assert "too large" in kpca.skip(big, 2, 4800)
    assert kpca.skip(big, 2, 100) is None
    deep = [r for r in rd.skae_reducers() if r.name.endswith("[deep]")][0]
    pixels = Dataset("pix", np.zeros((10, 784)), np.zeros(10), scaling="minmax")
    assert deep.skip(pixels, 30, 8) is None
    assert deep.skip(pixels, 2, 8).startswith("not applicable")
    assert code_sizes(13, (2, 5, 10, 30)) == [2, 5, 10]
    wine = [d for d in builtin_datasets() if d.name == "wine"][0]
    X_train, X_test, y_train, y_test = split_and_scale(wine, 0)
    assert len(X_test) == 36 and len(X_train) == 142
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-10)
    assert set(np.unique(y_test)) == set(np.unique(wine.y))


def test_speed_hook_passes_arguments(monkeypatch):
    import benchmarks.speed as speed

    seen = {}

    def fake_main(argv=None):
        seen["argv"] = argv
        print("speed table")

    monkeypatch.setattr(speed, "main", fake_main)
    assert "speed table" in run_speed(["--quick"])
    assert seen["argv"] == ["--quick"]
    monkeypatch.delattr(speed, "main")
    assert "no main()" in run_speed()


def test_time_budget_stops_training():
    from sklearn.datasets import load_digits

    X = load_digits().data[:300] / 16
    ae = skae.AutoencoderTransformer(2, hidden_layer_sizes=(16,), max_iter=1000,
                                     random_state=0, callbacks=[rd.TimeBudget(0.0)])
    with pytest.warns(RuntimeWarning, match="interrupted"):
        ae.fit(X)
    assert ae.n_iter_ == 1


def test_report_from_merges_runs_without_duplicates(tmp_path):
    base = ["--datasets", "wine", "--seeds", "1", "--quiet", "--jobs", "1", "--no-deep"]
    main([*base, "--ks", "2", "--reducers", "PCA", "--out", str(tmp_path / "a")])
    main([*base, "--ks", "2,5", "--reducers", "PCA,TruncatedSVD", "--out", str(tmp_path / "b")])
    out = tmp_path / "merged"
    assert main(["--report-from", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == 0
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 4  # PCA k=2 ran twice and counts once
    assert not table.duplicated(["dataset", "seed", "k", "reducer"]).any()
    report = (out / "report.md").read_text()
    assert "--out " + str(tmp_path / "a") in report and "--out " + str(tmp_path / "b") in report
