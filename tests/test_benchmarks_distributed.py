"""The ``distributed`` benchmark slice (``python -m benchmarks.distributed``) on tiny settings."""

import pandas as pd
import pytest

from benchmarks import distributed
from benchmarks.record import SLICES

TINY = {"rows": 200, "features": 10, "hidden": [8], "components": 2, "epochs": 1,
        "batch_size": 64}


def test_distributed_is_a_slice_of_the_report():
    assert "distributed" in SLICES
    for name in ("plan", "run_one", "report", "main"):
        assert callable(getattr(distributed, name))
    assert distributed.SEQUENTIAL  # timings: one run at a time


def test_plan_pairs_one_process_and_two_ranks_for_each_engine_batch_and_seed():
    full = distributed.plan({"quick": False, "seeds": 5})
    assert [(run["seed"], run["batch_size"], run["engine"], run["ranks"]) for run in full] == [
        (seed, batch, engine, ranks) for seed in range(100, 105) for batch in (256, 1024, 4096)
        for engine in ("skae", "torch DDP") for ranks in (1, 2)
    ]  # report rows: seeds 100, 101, ...
    assert {(run["rows"], run["features"], tuple(run["hidden"])) for run in full} == {
        (20_000, 200, (512, 256))
    }
    quick = distributed.plan({"quick": True, "seeds": 1, "rows": "design"})
    assert [(run["seed"], run["engine"], run["ranks"], run["rows"]) for run in quick] == [
        (0, "skae", 1, 2_000), (0, "skae", 2, 2_000), (0, "torch DDP", 1, 2_000),
        (0, "torch DDP", 2, 2_000),
    ]


def test_summary_pairs_the_speed_up_seed_by_seed():
    seconds = {(100, 1): 1.0, (100, 2): 0.5, (101, 1): 3.0, (101, 2): 2.0, (102, 1): 2.0,
               (102, 2): 2.0}
    rows = pd.DataFrame([
        {**TINY, "engine": engine, "seed": seed, "ranks": ranks,
         "epoch_seconds": value * (1 if engine == "skae" else 2),
         "test_mse": 0.1 * ranks if engine == "skae" else float("nan"),
         "load_average": 1.0 + ranks, "cpu_count": 2}
        for engine in ("skae", "torch DDP") for (seed, ranks), value in seconds.items()
    ])
    table = distributed.summary(rows).set_index(["engine", "processes"])
    two = table.loc[("skae", "2 ranks (gloo)")]
    assert two["speed-up"] == 1.5  # median of 2, 1.5 and 1 (the medians' ratio would be 1.0)
    assert two["efficiency"] == 0.75
    assert two["MSE / 1 process"] == pytest.approx(2.0)
    assert table.loc[("skae", "1 process"), "s/epoch (median)"] == 2.0
    assert table.loc[("torch DDP", "1 process"), "s/epoch (median)"] == 4.0
    assert table.loc[("torch DDP", "2 ranks (gloo)"), "speed-up"] == 1.5
    section = distributed.report(rows, None)
    assert section.startswith("## Distributed") and "load average 2.0 to 3.0" in section
    assert "torch DDP" in section and "report rows" in section
    figure = distributed.doc_figure(rows)
    assert "     - 1.50x\n     - 2.000\n" in figure  # skae's 2 ranks: speed-up, MSE ratio
    assert "(not measured)" in figure and "report rows" in figure


@pytest.mark.slow
def test_run_one_trains_on_one_process_and_on_two_ranks():
    one = distributed.run_one({**TINY, "seed": 0, "ranks": 1})
    two = distributed.run_one({**TINY, "seed": 0, "ranks": 2})
    for result in (one, two):
        assert result["epochs"] == 1 and result["epoch_seconds"] > 0
        assert 0 < result["test_mse"] < 10
    # The same rows and seed: the two trainings reach a similar held-out error.
    assert two["test_mse"] == pytest.approx(one["test_mse"], rel=0.5)
    for ranks in (1, 2):  # the reference: plain torch, DistributedDataParallel on 2 ranks
        ddp = distributed.run_one({**TINY, "engine": "torch DDP", "seed": 0, "ranks": ranks})
        assert ddp["epochs"] == 1 and ddp["epoch_seconds"] > 0
