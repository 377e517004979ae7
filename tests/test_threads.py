"""Thread control: fit and inference use ``n_jobs`` torch threads and restore the caller's count."""

import numpy as np
import pytest
import torch
from joblib import Parallel, cpu_count, delayed
from sklearn.model_selection import cross_validate
from skorch.callbacks import Callback

from skae import AutoencoderTransformer
from skae._threads import resolve_n_threads, torch_threads

# early_stopping=False: on the noise of ``X`` cross-validation would keep the PCA start
# (0 epochs), and the recorder would see no training batch.
SMALL = dict(hidden_layer_sizes=(8,), n_components=2, max_iter=2, batch_size=32, random_state=0,
             early_stopping=False)


class ThreadRecorder(Callback):
    """Records torch's thread count at every training batch."""

    def initialize(self):
        self.seen = set()
        return self

    def on_batch_begin(self, net, **kwargs):
        self.seen.add(torch.get_num_threads())


def recorded(ae):
    return dict(ae.net_.callbacks_)["threads"].seen


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)


@pytest.fixture
def restore_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("n_jobs, caller_threads", [(None, 3), (1, 3), (-1, 1), (2, 1)])
def test_fit_and_inference_leave_thread_count_as_found(X, n_jobs, caller_threads, restore_torch_threads):
    torch.set_num_threads(caller_threads)
    ae = AutoencoderTransformer(n_jobs=n_jobs, **SMALL).fit(X)
    assert torch.get_num_threads() == caller_threads
    codes = ae.transform(X)
    assert torch.get_num_threads() == caller_threads
    ae.inverse_transform(codes)
    ae.score_samples(X)
    ae.partial_fit(X)
    assert torch.get_num_threads() == caller_threads


@pytest.mark.parametrize(
    "n_jobs, env, expected",
    [(1, None, 1), (2, "1", 2), (None, "3", 3), (None, None, 1), (None, "junk", 1)],
)
def test_n_jobs_is_respected_inside_fit(X, n_jobs, env, expected, monkeypatch, restore_torch_threads):
    if env is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    torch.set_num_threads(4 if expected != 4 else 5)  # the caller's count differs from the wanted one
    ae = AutoencoderTransformer(n_jobs=n_jobs, callbacks=[("threads", ThreadRecorder())], **SMALL)
    ae.fit(X)
    assert recorded(ae) == {expected}


def test_n_jobs_is_respected_inside_transform(X, restore_torch_threads):
    ae = AutoencoderTransformer(n_jobs=1, **SMALL).fit(X)
    seen = []
    encode = ae.module_.encode

    def recording_encode(batch):
        seen.append(torch.get_num_threads())
        return encode(batch)

    ae.module_.encode = recording_encode
    torch.set_num_threads(3)
    ae.transform(X)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 3


def test_thread_count_restored_when_fit_fails(X, restore_torch_threads):
    class Boom(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise RuntimeError("boom")

    torch.set_num_threads(3)
    with pytest.raises(RuntimeError, match="boom"):
        AutoencoderTransformer(n_jobs=1, callbacks=[Boom()], **SMALL).fit(X)
    assert torch.get_num_threads() == 3


def test_resolve_n_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    physical = cpu_count(only_physical_cores=True)
    assert resolve_n_threads(None) == 1
    assert resolve_n_threads(5) == 5
    assert resolve_n_threads(-1) == physical
    assert resolve_n_threads(-2) == max(1, physical - 1)
    assert resolve_n_threads(-1000) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert resolve_n_threads(None) == 2
    assert resolve_n_threads(1) == 1  # an explicit value wins over the environment
    with pytest.raises(ValueError, match="n_jobs == 0"):
        resolve_n_threads(0)


def test_torch_threads_nested_restores_each_level(restore_torch_threads):
    torch.set_num_threads(3)
    with torch_threads(1):
        assert torch.get_num_threads() == 1
        with torch_threads(2):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 3


def _worker_report(X):
    import os

    import torch

    from skae import AutoencoderTransformer

    at_start = torch.get_num_threads()
    ae = AutoencoderTransformer(callbacks=[("threads", ThreadRecorder())], **SMALL).fit(X)
    return os.environ.get("OMP_NUM_THREADS"), at_start, recorded(ae), torch.get_num_threads()


@pytest.mark.slow
def test_loky_workers_use_the_thread_budget_the_parent_sets(X, monkeypatch):
    # loky passes the parent's OMP_NUM_THREADS on to its workers (when unset, it
    # gives each its share of the cores); torch in the worker and skae's fit
    # honour it. 2, not 1: one thread is also skae's fallback, so a fit that
    # ignored the environment would pass with 1.
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    reports = Parallel(n_jobs=2, backend="loky")(delayed(_worker_report)(X) for _ in range(2))
    for env, at_start, inside, after in reports:
        assert env == "2"
        assert inside == {2}
        assert after == at_start  # the worker's own count, restored


def test_cross_validate_with_n_jobs_2_fits_with_the_worker_budget(X, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # what loky passes on when the parent sets it
    ae = AutoencoderTransformer(callbacks=[("threads", ThreadRecorder())], **SMALL)
    result = cross_validate(ae, X, cv=2, n_jobs=2, return_estimator=True)
    assert np.all(np.isfinite(result["test_score"]))
    for fitted in result["estimator"]:
        assert recorded(fitted) == {2}
