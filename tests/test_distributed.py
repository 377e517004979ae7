"""Data-parallel training over a torch.distributed process group (distributed=True).

Two CPU ranks over gloo, each a subprocess running ``tests/_distributed_worker.py``
(one thread each, a timeout on the process group and on the subprocesses, so
that a hang fails the test instead of blocking it). The ranks run every
scenario in one launch (starting Python, torch and a process group costs
seconds); the tests read what each rank recorded.
"""

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import skae

torch_distributed = pytest.importorskip("torch.distributed")
if not torch_distributed.is_available():
    pytest.skip("torch is built without torch.distributed", allow_module_level=True)

sys.path.insert(0, str(Path(__file__).parent))
import _distributed_worker as worker  # noqa: E402

WORKER = Path(__file__).with_name("_distributed_worker.py")
SCENARIOS = (
    "fit",
    "autograd",
    "small",
    "memmap",
    "partial_fit",
    "local",
    "mismatch",
    "bad_rows",
    "start",
    "tabular",
    "tabular_types",
    "layerwise",
    "regressor",
    "classifier",
    "classifier_graph",
    "imputer",
    "outlier",
    "member_statistics",
    "empty",
)
WORLD_SIZE = 2


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(out_dir, scenarios, world_size=WORLD_SIZE, timeout=300, group_timeout=60, expected=None):
    """Run the worker on ``world_size`` ranks; return each rank's results.

    ``expected``: each rank's return code (0 for all by default); a rank
    whose code is not 0 has no results (None).
    """
    expected = expected or [0] * world_size
    port = str(_free_port())
    processes = []
    for rank in range(world_size):
        env = {
            **os.environ,
            "RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "SKAE_TEST_TIMEOUT": str(group_timeout),
            "PYTHONPATH": os.pathsep.join(
                [str(Path(skae.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
            ),
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(out_dir), *scenarios],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=timeout)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for rank, (process, output) in enumerate(zip(processes, outputs)):
        assert process.returncode == expected[rank], f"rank {rank}:\n{output[-3000:]}"
    results = []
    for rank in range(world_size):
        if expected[rank]:
            results.append(None)
            continue
        with open(Path(out_dir) / f"rank{rank}.pkl", "rb") as file:
            results.append(pickle.load(file))
    return results


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return launch(tmp_path_factory.mktemp("distributed"), SCENARIOS)


def test_distributed_without_process_group_raises():
    X = worker.make_data(50)
    with pytest.raises(ValueError, match="distributed=True needs an initialized torch.distributed"):
        skae.AutoencoderTransformer(distributed=True, max_iter=1).fit(X)
    with pytest.raises(ValueError, match="torchrun"):
        skae.DenoisingAE(distributed=True, max_iter=1).partial_fit(X)


ESTIMATORS = (
    skae.AutoencoderTransformer,
    skae.DenoisingAE,
    skae.SparseAE,
    skae.ContractiveAE,
    skae.VariationalAE,
    skae.TabularAE,
    skae.AutoencoderOutlierDetector,
    skae.AutoencoderImputer,
    skae.AutoencoderClassifier,
    skae.AutoencoderRegressor,
)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_every_estimator_takes_distributed(cls):
    assert cls().get_params()["distributed"] is False
    assert "distributed : bool, default=False" in cls.__doc__


@pytest.mark.parametrize("cls", ESTIMATORS[6:], ids=lambda cls: cls.__name__)
def test_wrappers_distributed_without_process_group_raise(cls):
    X = worker.make_data(50)
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="distributed=True needs an initialized torch.distributed"):
        cls(distributed=True).fit(X, y)


@pytest.mark.slow
def test_ranks_end_with_identical_weights(ranks):
    first, second = ranks[0]["fit"]["first"], ranks[1]["fit"]["first"]
    np.testing.assert_array_equal(first["weights"], second["weights"])
    assert first["n_iter"] == second["n_iter"] > 0
    assert first["loss_curve"] == second["loss_curve"]


@pytest.mark.slow
def test_same_seed_reproduces(ranks):
    for rank in ranks:
        np.testing.assert_array_equal(rank["fit"]["first"]["weights"], rank["fit"]["again"]["weights"])


@pytest.mark.slow
def test_held_out_error_close_to_one_process(ranks):
    X = worker.make_data()
    single = skae.AutoencoderTransformer(**worker.settings()).fit(X[: worker.N_TRAIN])
    reference = worker.summary(single, X[worker.N_TRAIN :])["test_mse"]
    distributed = ranks[0]["fit"]["first"]["test_mse"]
    assert distributed == pytest.approx(reference, rel=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["small", "memmap", "partial_fit"])
def test_other_paths_identical_on_ranks(ranks, scenario):
    first, second = ranks[0][scenario], ranks[1][scenario]
    assert "error" not in first, first
    np.testing.assert_array_equal(first["weights"], second["weights"])
    assert first["loss_curve"] == second["loss_curve"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["VariationalAE", "SparseAE", "DenoisingAE", "batch_norm"])
def test_autograd_and_penalties_identical_on_ranks(ranks, name):
    first, second = ranks[0]["autograd"][name], ranks[1]["autograd"][name]
    np.testing.assert_array_equal(first["weights"], second["weights"])
    assert np.isfinite(first["test_mse"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["AutoencoderTransformer", "VariationalAE"])
def test_pca_start_is_that_of_every_ranks_rows(ranks, name):
    X = worker.make_data()
    alone = worker.start_of(getattr(skae, name), X[: worker.N_TRAIN])
    np.testing.assert_array_equal(ranks[0]["start"][name], ranks[1]["start"][name])
    np.testing.assert_allclose(ranks[0]["start"][name], alone, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_not_distributed_under_a_process_group_trains_alone(ranks):
    X = worker.make_data()
    for rank, result in enumerate(ranks):
        alone = skae.AutoencoderTransformer(**worker.settings(max_iter=3))
        alone.fit(worker.rows_of(rank, X))
        np.testing.assert_allclose(result["local"]["weights"], worker.weights(alone), rtol=1e-6, atol=1e-7)
    assert not np.array_equal(ranks[0]["local"]["weights"], ranks[1]["local"]["weights"])


@pytest.mark.slow
def test_mismatched_features_raise_on_every_rank(ranks):
    for result in (rank["mismatch"] for rank in ranks):
        assert result["error"] == "ValueError"
        assert "same number of features on every rank" in result["message"]
        assert "rank 0: 12, rank 1: 11" in result["message"]


@pytest.mark.slow
def test_a_rank_with_bad_rows_stops_every_rank(ranks):
    failing, other = ranks[1]["bad_rows"], ranks[0]["bad_rows"]
    assert failing["error"] == "ValueError" and "NaN" in failing["message"]
    assert other["error"] == "ValueError" and "failed on rank(s) 1" in other["message"]


@pytest.mark.slow
def test_a_rank_that_dies_stops_the_others_with_an_error(tmp_path):
    # Rank 1 exits at its second epoch: rank 0 gets an error from its next
    # collective call (the connection closes, or the group's timeout expires),
    # not a deadlock.
    survivor, _ = launch(tmp_path, ["rank_dies"], group_timeout=20, timeout=200, expected=[0, 3])
    assert survivor["rank_dies"]["error"] in ("RuntimeError", "DistBackendError")


def _assert_same(first, second):
    """Equal to the last bit: arrays, floats, and lists, tuples and dicts of them."""
    if isinstance(first, dict):
        assert first.keys() == second.keys()
        for key in first:
            _assert_same(first[key], second[key])
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second)
        for a, b in zip(first, second):
            _assert_same(a, b)
    else:
        np.testing.assert_array_equal(first, second)


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario", ["tabular", "layerwise", "regressor", "classifier", "imputer", "outlier"]
)
def test_every_estimator_identical_on_ranks(ranks, scenario):
    first, second = ranks[0][scenario], ranks[1][scenario]
    assert "error" not in first, first
    _assert_same(first, second)


@pytest.mark.slow
def test_tabular_column_encoding_is_that_of_every_ranks_rows(ranks):
    import pandas as pd
    from skae._columns import TableCodec

    table = pd.concat([worker.make_table(0), worker.make_table(1)], ignore_index=True)
    alone = worker.codec_summary(TableCodec(missing="learn").fit(table))
    merged = ranks[0]["tabular"]["codec"]
    assert merged["categories"] == alone["categories"] == [["a", "b", "c", "d"]]  # "d": rank 1's
    for key in ("mean", "scale", "column_weights", "log_priors"):
        np.testing.assert_allclose(merged[key], alone[key], rtol=1e-10)


@pytest.mark.slow
def test_tabular_columns_of_other_types_raise_on_every_rank(ranks):
    for result in (rank["tabular_types"] for rank in ranks):
        assert result["error"] == "ValueError"
        assert "same columns, of the same types, on every rank" in result["message"]
        assert "('ok', 'binary')" in result["message"] and "('ok', 'numeric')" in result["message"]


@pytest.mark.slow
def test_layerwise_pretraining_runs_on_every_ranks_rows(ranks):
    first, second = ranks[0]["layerwise"], ranks[1]["layerwise"]
    assert len(first["pretraining"]) == 3  # two hidden layers and the code (init="random")
    assert first["pretraining"] == second["pretraining"]
    assert np.isfinite(first["test_mse"])


@pytest.mark.slow
def test_supervised_targets_come_from_every_rank(ranks):
    X = worker.make_data()
    y = np.concatenate([worker.targets_of(0, X), worker.targets_of(1, X)])
    y = y[~np.isnan(y)].astype(np.float64)
    np.testing.assert_allclose(ranks[0]["regressor"]["y"], (y.mean(), y.std()), rtol=1e-6)
    assert ranks[0]["classifier"]["classes"] == [0, 1, 2]  # class 2 is on rank 1 only


@pytest.mark.slow
def test_classifier_graph_cannot_be_distributed(ranks):
    for rank in ranks:
        assert rank["classifier_graph"]["error"] == "ValueError"
        assert "needs n_neighbors=None" in rank["classifier_graph"]["message"]


@pytest.mark.slow
def test_outlier_statistics_are_those_of_every_ranks_rows(ranks):
    from skae.outlier import fit_member_statistics

    X = worker.make_data()[: worker.N_TRAIN].astype(np.float64)
    np.testing.assert_allclose(ranks[0]["outlier"]["mean"], X.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["outlier"]["scale"], X.std(axis=0), rtol=1e-10)
    codes, errors = (np.concatenate(part) for part in zip(*map(worker.member_arrays, (0, 1))))
    alone = fit_member_statistics("latent", codes, errors)
    _assert_same(ranks[0]["member_statistics"], ranks[1]["member_statistics"])
    for key, value in alone.items():
        if key != "view":
            np.testing.assert_allclose(ranks[0]["member_statistics"][key], value, rtol=1e-9)


@pytest.mark.slow
def test_a_rank_without_rows_stops_every_rank(ranks):
    empty, other = ranks[1]["empty"], ranks[0]["empty"]
    assert empty["error"] == "ValueError" and "0 sample(s)" in empty["message"]
    assert other["error"] == "ValueError" and "failed on rank(s) 1" in other["message"]


@pytest.mark.slow
def test_one_model_over_the_workers_of_a_dask_cluster():
    # Two worker processes of one thread; each runs one task that joins a gloo
    # group (rank = its place in the sorted worker list) and fits its rows.
    dask_distributed = pytest.importorskip("dask.distributed")
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(Path(skae.__file__).parents[1]), str(Path(__file__).parent),
         os.environ.get("PYTHONPATH", "")])}
    with dask_distributed.LocalCluster(
        n_workers=WORLD_SIZE, threads_per_worker=1, processes=True, dashboard_address=None,
        env=env,
    ) as cluster, dask_distributed.Client(cluster) as client:
        workers = sorted(client.scheduler_info()["workers"])
        port = _free_port()
        futures = [
            client.submit(worker.dask_task, rank, len(workers), port, workers=[address],
                          allow_other_workers=False, pure=False)
            for rank, address in enumerate(workers)
        ]
        dask_distributed.wait(futures, timeout=240)
        first, second = client.gather(futures)
    assert (first["rank"], second["rank"]) == (0, 1)
    np.testing.assert_array_equal(first["weights"], second["weights"])
    assert first["loss_curve"] == second["loss_curve"]


@pytest.mark.slow
def test_the_launcher_example_runs_under_torchrun(tmp_path):
    # examples/distributed_train.py as a user launches it (tiny settings): two ranks over
    # gloo read their halves of a memmap, end with identical weights, and rank 0 saves.
    example = Path(skae.__file__).parents[1] / "examples" / "distributed_train.py"
    if not example.is_file():
        pytest.skip("examples/ is not in this checkout")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(example), "--rows", "2000", "--features", "20", "--hidden", "16",
        "--components", "4", "--epochs", "2", "--data", str(tmp_path / "rows.f32"),
        "--model", str(tmp_path / "model.skae"), "--backend", "gloo",
    ]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 rank(s): 2 epochs" in run.stdout
    assert "weights identical on every rank: True" in run.stdout
    model = skae.load(tmp_path / "model.skae")
    rows = np.memmap(tmp_path / "rows.f32", dtype=np.float32, mode="r", shape=(2000, 20))
    assert model.transform(np.asarray(rows[:5])).shape == (5, 4)
