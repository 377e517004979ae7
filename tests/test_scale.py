"""Scale: memmaps, sliceable arrays and sparse input batch by batch; partial_fit over chunks; Dask; CUDA."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.decomposition import PCA

from skae import (
    AutoencoderImputer,
    AutoencoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
    TabularAE,
    VariationalAE,
)
from skae._data import SCAN_ROWS, CorruptedOnce, LazyRows, reused_pca, streamed_pca

SMALL = dict(n_components=2, hidden_layer_sizes=(16,), max_iter=4, batch_size=64, random_state=0)


def low_rank(n_samples, n_features=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3)) @ rng.normal(size=(3, n_features))
    return (X + 0.1 * rng.normal(size=(n_samples, n_features))).astype(np.float32)


@pytest.fixture
def memmap_of(tmp_path):
    def make(X, mode="r"):
        path = tmp_path / f"X{X.shape[0]}x{X.shape[1]}.dat"
        written = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
        written[:] = X
        written.flush()
        del written
        return np.memmap(path, dtype=X.dtype, mode=mode, shape=X.shape)

    return make


class RecordingArray:
    """A read-only 2-D array-like that records how many rows each read asks for."""

    def __init__(self, X):
        self.X, self.shape, self.dtype, self.reads = X, X.shape, X.dtype, []

    def __getitem__(self, key):
        rows = self.X[key]
        self.reads.append(len(rows))
        return rows.copy()


@pytest.mark.parametrize("early_stopping", [False, True])
def test_memmap_fit_and_transform_match_in_memory(memmap_of, early_stopping):
    # Same seed, same permutations, same batches: bit for bit the same network.
    X = low_rank(500)
    params = dict(SMALL, init="random", early_stopping=early_stopping)
    in_memory = AutoencoderTransformer(**params).fit(X)
    out_of_core = AutoencoderTransformer(**params).fit(memmap_of(X))
    assert out_of_core.loss_curve_ == in_memory.loss_curve_
    np.testing.assert_array_equal(out_of_core.transform(memmap_of(X)), in_memory.transform(X))
    np.testing.assert_array_equal(
        out_of_core.score_samples(memmap_of(X)), in_memory.score_samples(X)
    )


def test_memmap_fit_with_pca_init_is_the_in_memory_fit(memmap_of):
    # One PCA solver for both (skae._data.streamed_pca), over the same float32 blocks.
    X = low_rank(500)
    in_memory = AutoencoderTransformer(**SMALL).fit(X)
    out_of_core = AutoencoderTransformer(**SMALL).fit(memmap_of(X))
    assert out_of_core.loss_curve_ == in_memory.loss_curve_
    np.testing.assert_array_equal(out_of_core.transform(X), in_memory.transform(X))


def test_streamed_pca_matches_scikit_learn():
    X = low_rank(3000, n_features=20)
    components, mean = streamed_pca(LazyRows(X), 3)
    pca = PCA(3).fit(X.astype(np.float64))
    np.testing.assert_allclose(components, pca.components_, atol=1e-5)
    np.testing.assert_allclose(mean, pca.mean_, atol=1e-6)


def test_reused_pca_gives_each_start_its_own_diagonalization(monkeypatch):
    X = low_rank(400, n_features=12).astype(np.float32)
    alone = {k: streamed_pca(X, k) for k in (2, 5)}
    calls = []
    eigh = np.linalg.eigh
    monkeypatch.setattr(np.linalg, "eigh", lambda a: calls.append(a.shape) or eigh(a))
    with reused_pca():
        shared = {k: streamed_pca(X.copy(), k) for k in (5, 2)}  # equal rows, another array
        changed = X.copy()
        changed[0, 0] += 1.0
        streamed_pca(changed, 2)
    for k in (2, 5):
        np.testing.assert_array_equal(shared[k][0], alone[k][0])
        np.testing.assert_array_equal(shared[k][1], alone[k][1])
    assert len(calls) == 2  # once for X's rows, once for the changed rows
    streamed_pca(X, 2)
    assert len(calls) == 3  # outside the block nothing is kept


def test_nothing_reads_the_whole_dataset():
    X = low_rank(2 * SCAN_ROWS + 100, n_features=6)
    source = RecordingArray(X)
    ae = AutoencoderTransformer(**{**SMALL, "max_iter": 1, "batch_size": 256}).fit(source)
    codes = ae.transform(source)
    np.testing.assert_allclose(codes, ae.transform(X), atol=1e-6)
    assert max(source.reads) <= SCAN_ROWS < len(X)


def test_float64_memmap_and_read_only_rows_are_not_modified(memmap_of):
    X = low_rank(300).astype(np.float64)
    mm = memmap_of(X, mode="r+")
    before = np.array(mm)
    AutoencoderTransformer(**SMALL).fit(mm).transform(mm)
    np.testing.assert_array_equal(np.asarray(mm), before)


@pytest.mark.parametrize("where", ["fit", "transform"])
def test_nan_in_memmap_is_refused(memmap_of, where):
    X = low_rank(300)
    bad = X.copy()
    bad[123, 4] = np.nan
    ae = AutoencoderTransformer(**SMALL)
    with pytest.raises(ValueError, match="NaN"):
        if where == "fit":
            ae.fit(memmap_of(bad))
        else:
            ae.fit(X).transform(memmap_of(bad))


def test_memmap_too_few_rows_is_refused(memmap_of):
    with pytest.raises(ValueError, match="minimum of 2"):
        AutoencoderTransformer(**SMALL).fit(memmap_of(low_rank(1)))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_dense(fmt):
    X = low_rank(400)
    X[np.abs(X) < 1.0] = 0  # mostly zeros, like a TF-IDF table
    X_sparse = sp.csr_matrix(X).asformat(fmt)
    params = dict(SMALL, init="random")
    dense = AutoencoderTransformer(**params).fit(X)
    sparse = AutoencoderTransformer(**params).fit(X_sparse)
    np.testing.assert_array_equal(sparse.transform(X_sparse), dense.transform(X))
    sparse.partial_fit(X_sparse[:100])
    assert np.isfinite(sparse.transform(X_sparse)).all()


# Every autoencoder over numeric columns trains out of core; settings where its
# start has work beyond PCA's (idle units, a scaled sigmoid code, probabilistic PCA).
OUT_OF_CORE = {
    "AutoencoderTransformer": (AutoencoderTransformer, {}),
    "DenoisingAE": (DenoisingAE, dict(n_components=16, noise_level=0.1)),
    "SparseAE": (SparseAE, dict(n_components=16)),
    "ContractiveAE": (ContractiveAE, dict(code_activation="sigmoid")),
    "VariationalAE": (VariationalAE, {}),
    "TabularAE": (TabularAE, {}),
    "TabularAE missing": (TabularAE, dict(missing="learn", n_components=16)),
}


@pytest.mark.parametrize("name", list(OUT_OF_CORE))
def test_every_autoencoder_fits_a_memmap_as_it_fits_the_array(memmap_of, name):
    cls, params = OUT_OF_CORE[name]
    params = dict(SMALL, **params, early_stopping=False)
    X = low_rank(500)
    assert cls._lazy_fit
    assert isinstance(cls(**params)._validate_input(memmap_of(X), reset=True), LazyRows)
    in_memory = cls(**params).fit(X)
    out_of_core = cls(**params).fit(memmap_of(X))
    # The same batches; the start's statistics are accumulated in float64 over
    # blocks instead of float32 over the array, hence the tolerance.
    np.testing.assert_allclose(out_of_core.loss_curve_, in_memory.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(out_of_core.transform(X), in_memory.transform(X), atol=1e-4)


@pytest.mark.parametrize("name", list(OUT_OF_CORE))
def test_no_autoencoder_reads_the_whole_dataset_in_fit(name):
    cls, params = OUT_OF_CORE[name]
    X = low_rank(2 * SCAN_ROWS + 100, n_features=6)
    source = RecordingArray(X)
    params = dict(SMALL, **params, max_iter=1, batch_size=512, early_stopping=True)
    params["n_components"] = min(params["n_components"], 8)
    ae = cls(**params).fit(source)
    assert max(source.reads) <= SCAN_ROWS < len(X)
    assert np.isfinite(ae.transform(X[:100])).all()


def test_denoising_validation_rows_out_of_core_are_corrupted_once():
    X = low_rank(300)
    rows = LazyRows(X)
    ae = DenoisingAE(**SMALL, noise_level=0.3).fit(X)
    corrupted = CorruptedOnce(rows, ae._corrupt, seed=7)
    first, second = list(corrupted.batches(64)), list(corrupted.batches(64))
    assert len(first) == 5 and all(len(clean) <= 64 for _, clean in first)
    for (noisy, clean), (noisy_again, clean_again) in zip(first, second):
        assert torch.equal(noisy, noisy_again) and torch.equal(clean, clean_again)
        assert not torch.equal(noisy, clean)
    np.testing.assert_array_equal(torch.cat([clean for _, clean in first]).numpy(), X)


@pytest.mark.parametrize("cls", [DenoisingAE, SparseAE, ContractiveAE, VariationalAE, TabularAE])
def test_sparse_input_is_accepted_by_every_lazy_autoencoder(cls):
    X = low_rank(300)
    X[np.abs(X) < 1.0] = 0
    params = dict(SMALL, early_stopping=False)
    dense = cls(**params).fit(X)
    sparse = cls(**params).fit(sp.csr_matrix(X))
    assert cls().__sklearn_tags__().input_tags.sparse
    np.testing.assert_allclose(sparse.transform(X), dense.transform(X), atol=1e-4)


def mixed_numeric(n_samples, seed=0):
    """Numeric rows with an integer-coded column (3) and missing cells, like a table's."""
    X = low_rank(n_samples, seed=seed)
    X[:, 3] = np.random.default_rng(seed).integers(0, 4, n_samples)
    X[np.random.default_rng(seed + 1).random(X.shape) < 0.1] = np.nan
    return X


@pytest.mark.parametrize(
    "params",
    [
        {},  # cross-validated training length, PCA start
        dict(categorical_features=[3], init="random", early_stopping=True),
        dict(missing="learn", categorical_features=[3], early_stopping=False),
    ],
    ids=["default", "categorical", "missing"],
)
def test_tabular_ae_fits_a_memmap_as_it_fits_the_array(memmap_of, params):
    # The codec's statistics from the same row blocks, each batch encoded as the
    # whole array is: the same codec, the same network (to float rounding).
    X = mixed_numeric(500)
    if params.get("missing") != "learn":
        X = np.nan_to_num(X)
    params = dict(SMALL, **params)
    rows = TabularAE(**params)._validate_input(memmap_of(X), reset=True)
    assert isinstance(rows, LazyRows) and rows.shape == (500, rows.shape[1])
    in_memory = TabularAE(**params).fit(X)
    out_of_core = TabularAE(**params).fit(memmap_of(X))
    np.testing.assert_allclose(out_of_core.mean_, in_memory.mean_, rtol=1e-12)
    np.testing.assert_allclose(out_of_core.scale_, in_memory.scale_, rtol=1e-12)
    assert [c.tolist() for c in out_of_core.categories_] == [c.tolist() for c in in_memory.categories_]
    np.testing.assert_allclose(out_of_core.column_weights_, in_memory.column_weights_, rtol=1e-12)
    assert out_of_core.n_epochs_ == in_memory.n_epochs_
    np.testing.assert_allclose(out_of_core.loss_curve_, in_memory.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(out_of_core.transform(memmap_of(X)), in_memory.transform(X), atol=1e-4)
    np.testing.assert_allclose(
        out_of_core.score_samples(memmap_of(X)), in_memory.score_samples(X), atol=1e-4
    )


def test_tabular_ae_memmap_errors_are_the_in_memory_ones(memmap_of):
    X = mixed_numeric(300)
    with pytest.raises(ValueError, match="NaN.*missing='learn'"):
        TabularAE(**SMALL).fit(memmap_of(X))
    X = np.nan_to_num(X).astype(np.float64)
    X[7, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        TabularAE(**SMALL).fit(memmap_of(X))
    # Standardized in float64 first: a column of huge values fits, out of core too.
    X[7, 2] = 1e300
    ae = TabularAE(**dict(SMALL, max_iter=2)).fit(memmap_of(X))
    assert ae.scale_[2] > 1e298 and np.isfinite(ae.transform(memmap_of(X))).all()


def test_imputer_fits_a_nan_memmap_out_of_core(memmap_of):
    X = mixed_numeric(300)
    params = dict(n_components=2, hidden_layer_sizes=(16,), max_iter=3, early_stopping=False,
                  random_state=0)
    imputer = AutoencoderImputer(**params).fit(memmap_of(X))
    assert isinstance(imputer.estimator_._validate_input(memmap_of(X), reset=False), LazyRows)
    assert imputer.blend_weights_["network"] == 1.0  # the blend needs the rows in memory
    params["blend"] = False  # in memory too: the network alone
    np.testing.assert_allclose(
        imputer.transform(X), AutoencoderImputer(**params).fit(X).transform(X), atol=1e-4
    )


def test_a_training_hook_overridden_below_withdraws_lazy_fit_and_the_start_hook_does_not(memmap_of):
    class OwnTensors(AutoencoderTransformer):
        def _training_tensors(self, X_train, X_valid, generator):
            return super()._training_tensors(X_train, X_valid, generator)

    class OwnStart(AutoencoderTransformer):
        def _adjust_start(self, module, X):
            super()._adjust_start(module, X)

    X = low_rank(300)
    assert not OwnTensors._lazy_fit and OwnStart._lazy_fit
    assert isinstance(OwnTensors(**SMALL)._validate_input(memmap_of(X), reset=True), np.ndarray)
    assert isinstance(OwnStart(**SMALL)._validate_input(memmap_of(X), reset=True), LazyRows)
    np.testing.assert_array_equal(
        OwnTensors(**SMALL).fit(memmap_of(X)).transform(X), OwnTensors(**SMALL).fit(X).transform(X)
    )
    with pytest.raises(TypeError, match="[Ss]parse"):
        OwnTensors(**SMALL).fit(sp.csr_matrix(X))


@pytest.mark.parametrize("n_features", [20, 1100])  # the exact and the randomized solver
def test_streamed_pca_variances_are_scikit_learn_s(n_features):
    X = low_rank(300 if n_features > 1000 else 3000, n_features=n_features)
    components, mean, explained, total = streamed_pca(LazyRows(X), 3, return_variances=True)
    pca = PCA(3).fit(X.astype(np.float64))
    np.testing.assert_allclose(explained, pca.explained_variance_, rtol=1e-4)
    n_dims = min(X.shape)
    noise = (total - explained.sum()) / (n_dims - 3)
    np.testing.assert_allclose(noise, pca.noise_variance_, rtol=1e-3)
    np.testing.assert_allclose(np.abs(components @ pca.components_.T), np.eye(3), atol=1e-3)


def test_partial_fit_over_ten_chunks_approaches_fit():
    X = low_rank(2000)
    params = dict(n_components=3, hidden_layer_sizes=(32,), batch_size=64, random_state=0)
    full = AutoencoderTransformer(**params, max_iter=10, early_stopping=False, tol=0.0).fit(X)
    streamed = AutoencoderTransformer(**params)
    for _ in range(10):  # ten passes over the data, one chunk of 200 rows at a time
        for chunk in np.array_split(X, 10):
            streamed.partial_fit(chunk)
    full_error, streamed_error = -full.score(X), -streamed.score(X)
    pca_error = np.mean((PCA(3).fit(X).inverse_transform(PCA(3).fit(X).transform(X)) - X) ** 2)
    assert streamed_error <= 1.2 * full_error
    assert streamed_error <= 1.05 * pca_error  # and it learned the data's structure


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_fit_and_transform_match_cpu_closely():
    X = low_rank(500)
    cpu = AutoencoderTransformer(**SMALL, device="cpu").fit(X)
    gpu = AutoencoderTransformer(**SMALL, device="cuda").fit(X)
    assert gpu.module_.encoder.linear.weight.device.type == "cuda"
    assert gpu.score(X) == pytest.approx(cpu.score(X), rel=0.05)


@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("dask.array", reason="dask is not installed (pip install skae[dask])")
    distributed = pytest.importorskip("dask.distributed", reason="distributed is not installed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.slow
def test_dask_incremental_fit_and_lazy_transform_on_a_local_cluster(dask_client):
    import dask.array as da

    wrappers = pytest.importorskip("dask_ml.wrappers", reason="dask-ml is not installed")
    # Dask's nanny gives each worker process one OpenMP thread.
    assert set(dask_client.run(lambda: __import__("os").environ["OMP_NUM_THREADS"]).values()) == {"1"}
    X = low_rank(2000)
    dX = da.from_array(X, chunks=(500, X.shape[1]))
    incremental = wrappers.Incremental(AutoencoderTransformer(**SMALL), shuffle_blocks=False)
    incremental.fit(dX)
    model = incremental.estimator_
    assert model.n_iter_ == 4  # one partial_fit per block

    codes = model.transform(dX)  # skae's own transform: a lazy dask array
    assert isinstance(codes, da.Array)
    assert codes.shape == (2000, 2) and codes.chunks == ((500,) * 4, (2,))
    np.testing.assert_array_equal(codes.compute(), model.transform(X))

    post_fit = wrappers.ParallelPostFit(model).transform(dX)
    np.testing.assert_array_equal(post_fit.compute(), model.transform(X))


def test_torch_tensor_input_is_not_taken_for_a_lazy_array():
    # A tensor has a shape, a dtype and slicing, but not a NumPy dtype: it is validated
    # in memory as before.
    X = low_rank(200)
    params = dict(SMALL, init="random")
    from_tensor = AutoencoderTransformer(**params).fit(torch.from_numpy(X))
    np.testing.assert_array_equal(
        from_tensor.transform(torch.from_numpy(X)), AutoencoderTransformer(**params).fit(X).transform(X)
    )
