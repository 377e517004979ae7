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


def test_every_estimator_takes_distributed():
    for cls in (
        skae.AutoencoderTransformer,
        skae.DenoisingAE,
        skae.SparseAE,
        skae.ContractiveAE,
        skae.VariationalAE,
        skae.TabularAE,
    ):
        assert cls().get_params()["distributed"] is False
        assert "distributed : bool, default=False" in cls.__doc__


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
