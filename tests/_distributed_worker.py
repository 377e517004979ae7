"""One rank of the data-parallel tests (tests/test_distributed.py), run as a subprocess.

``python _distributed_worker.py OUT_DIR SCENARIO [SCENARIO ...]`` with ``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set: joins a gloo process
group (with a timeout, so that a bug hangs for seconds, not forever), runs
each scenario on this rank's rows and pickles ``{scenario: result}`` to
``OUT_DIR/rank{RANK}.pkl``. A scenario that raises records the error's type
and message instead.
"""

import datetime
import os
import pickle
import sys

import numpy as np
import torch
import torch.distributed as dist

import skae
from skorch.callbacks import Callback

N_TRAIN = 1800
# Unequal shares: the gradient average must weight ranks by their rows.
SPLIT = 1000


def make_data(n_rows=2000, n_features=12, seed=0):
    """Rows near a 3-dimensional curved surface, with noise."""
    rng = np.random.RandomState(seed)
    latent = rng.normal(size=(n_rows, 3))
    mixing = rng.normal(size=(6, n_features))
    features = np.hstack([latent, np.tanh(latent)]) @ mixing
    return (features + 0.1 * rng.normal(size=features.shape)).astype(np.float32)


def rows_of(rank, X):
    """This rank's training rows: 1000 on rank 0, 800 on rank 1."""
    return X[:SPLIT] if rank == 0 else X[SPLIT:N_TRAIN]


def settings(**params):
    defaults = dict(n_components=3, hidden_layer_sizes=(16,), max_iter=15, random_state=0, n_jobs=1)
    return {**defaults, **params}


def weights(estimator):
    """Every weight and buffer (batch normalization's running statistics too), flattened."""
    state = estimator.module_.state_dict().values()
    return torch.cat([t.detach().reshape(-1).double() for t in state]).numpy()


def summary(estimator, X_test):
    return {
        "weights": weights(estimator),
        "n_iter": estimator.n_iter_,
        "loss_curve": list(estimator.loss_curve_),
        "test_mse": float(np.mean((estimator.inverse_transform(estimator.transform(X_test)) - X_test) ** 2)),
    }


def scenario_fit(rank, X):
    model = skae.AutoencoderTransformer(distributed=True, **settings())
    first = summary(model.fit(rows_of(rank, X)), X[N_TRAIN:])
    again = summary(model.fit(rows_of(rank, X)), X[N_TRAIN:])
    return {"first": first, "again": again}


def scenario_autograd(rank, X):
    # VariationalAE trains with autograd; SparseAE with its penalty by hand.
    out = {}
    for cls in (skae.VariationalAE, skae.SparseAE, skae.DenoisingAE):
        out[cls.__name__] = summary(
            cls(distributed=True, **settings(max_iter=3)).fit(rows_of(rank, X)), X[N_TRAIN:]
        )
    # Batch normalization and dropout: autograd, running statistics averaged over ranks.
    model = skae.AutoencoderTransformer(
        distributed=True, **settings(max_iter=3, batch_norm=True, dropout=0.1)
    )
    out["batch_norm"] = summary(model.fit(rows_of(rank, X)), X[N_TRAIN:])
    return out


def scenario_small(rank, X):
    # 150 rows in all: the "auto" budget cross-validates the training length.
    model = skae.AutoencoderTransformer(distributed=True, **settings(max_iter=5))
    return summary(model.fit(X[:80] if rank == 0 else X[80:150]), X[N_TRAIN:])


def scenario_memmap(rank, X, out_dir):
    path = os.path.join(out_dir, f"rows{rank}.dat")
    rows = rows_of(rank, X)
    stored = np.memmap(path, dtype=np.float32, mode="w+", shape=rows.shape)
    stored[:] = rows
    stored.flush()
    model = skae.AutoencoderTransformer(distributed=True, **settings(max_iter=3))
    return summary(model.fit(np.memmap(path, dtype=np.float32, mode="r", shape=rows.shape)), X[N_TRAIN:])


def scenario_partial_fit(rank, X):
    model = skae.AutoencoderTransformer(distributed=True, **settings(batch_size=64))
    rows = rows_of(rank, X)
    for chunk in np.array_split(rows, 3):
        model.partial_fit(chunk)
    return summary(model, X[N_TRAIN:])


def scenario_local(rank, X):
    # distributed=False under a process group: each rank trains alone, as before.
    model = skae.AutoencoderTransformer(**settings(max_iter=3))
    return summary(model.fit(rows_of(rank, X)), X[N_TRAIN:])


def scenario_mismatch(rank, X):
    rows = rows_of(rank, X)
    skae.AutoencoderTransformer(distributed=True, **settings()).fit(rows if rank == 0 else rows[:, :-1])


def scenario_bad_rows(rank, X):
    rows = rows_of(rank, X).copy()
    if rank == 1:
        rows[5, 2] = np.nan
    skae.AutoencoderTransformer(distributed=True, **settings()).fit(rows)


def make_table(rank, n_rows=None):
    """This rank's rows of a mixed table with holes; rank 1 alone sees the level "d"."""
    import pandas as pd

    rng = np.random.RandomState(10 + rank)
    n_rows = n_rows or (120 if rank == 0 else 90)
    levels = ["a", "b", "c"] + (["d"] if rank == 1 else [])
    size = rng.normal(loc=rank, size=n_rows)
    table = pd.DataFrame({
        "size": size,
        "weight": 2 * size + rng.normal(size=n_rows),
        "color": rng.choice(levels, size=n_rows).astype(object),
        "ok": size > 0.5,
    })
    table.loc[rng.rand(n_rows) < 0.1, "weight"] = np.nan
    return table


def table_settings(**params):
    defaults = dict(n_components=2, hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                    missing="learn", n_jobs=1)
    return {**defaults, **params}


def codec_summary(codec):
    return {
        "mean": codec.mean_, "scale": codec.scale_,
        "categories": [levels.tolist() for levels in codec.categories_],
        "column_weights": codec.column_weights_, "log_priors": codec.log_priors_,
    }


def scenario_tabular(rank, X):
    model = skae.TabularAE(distributed=True, **table_settings()).fit(make_table(rank))
    return {"weights": weights(model), "loss_curve": list(model.loss_curve_),
            "codec": codec_summary(model.codec_)}


def scenario_tabular_types(rank, X):
    # Rank 1's "ok" column holds 0/1 integers: numeric there, boolean on rank 0.
    table = make_table(rank)
    if rank == 1:
        table["ok"] = table["ok"].astype(int)
    skae.TabularAE(distributed=True, **table_settings()).fit(table)


def scenario_layerwise(rank, X):
    model = skae.AutoencoderTransformer(
        distributed=True, pretraining="layerwise", pretraining_max_iter=2,
        **settings(hidden_layer_sizes=(16, 8), max_iter=3, init="random"),
    ).fit(rows_of(rank, X))
    return {**summary(model, X[N_TRAIN:]), "pretraining": model.pretraining_loss_curves_}


def module_weights(module):
    state = module.state_dict().values()
    return torch.cat([t.detach().reshape(-1).double() for t in state]).numpy()


def targets_of(rank, X):
    """A target of the rows, half of them labeled (NaN marks the others)."""
    rows = rows_of(rank, X)
    y = rows[:, 0] - 0.5 * rows[:, 1]
    y[1::2] = np.nan
    return y


def small_autoencoder(**params):
    return skae.AutoencoderTransformer(**settings(max_iter=3, random_state=None, **params))


def scenario_regressor(rank, X):
    # random_state=None: each rank draws other seeds; rank 0's must win everywhere.
    model = skae.AutoencoderRegressor(
        small_autoencoder(), freeze_epochs=2, max_iter=2, distributed=True, n_jobs=1
    ).fit(rows_of(rank, X), targets_of(rank, X))
    return {"weights": module_weights(model.module_), "loss_curve": list(model.loss_curve_),
            "y": (model.y_mean_, model.y_scale_), "predictions": model.predict(X[N_TRAIN:])}


def class_labels(rank, X):
    """Rank 0 sees classes 0 and 1, rank 1 also 2; every third row unlabeled (-1)."""
    rows = rows_of(rank, X)
    labels = (rows[:, 0] > 0).astype(int)
    if rank == 1:
        labels[rows[:, 1] > 1.0] = 2
    labels[::3] = -1
    return labels


def scenario_classifier(rank, X):
    model = skae.AutoencoderClassifier(
        small_autoencoder(), freeze_epochs=2, max_iter=2, n_neighbors=None, distributed=True,
        random_state=0, n_jobs=1,
    ).fit(rows_of(rank, X), class_labels(rank, X))
    return {"weights": module_weights(model.module_), "loss_curve": list(model.loss_curve_),
            "classes": model.classes_.tolist(), "proba": model.predict_proba(X[N_TRAIN:])}


def scenario_classifier_graph(rank, X):
    skae.AutoencoderClassifier(small_autoencoder(), distributed=True).fit(
        rows_of(rank, X), class_labels(rank, X)
    )


def scenario_imputer(rank, X):
    table = make_table(rank).drop(columns="color")
    imputer = skae.AutoencoderImputer(
        n_components=2, hidden_layer_sizes=(8,), max_iter=3, random_state=0, n_jobs=1,
        distributed=True,
    ).fit(table)
    return {"weights": weights(imputer.estimator_),
            "filled": imputer.transform(make_table(0, 20).drop(columns="color")).to_numpy()}


def scenario_outlier(rank, X):
    detector = skae.AutoencoderOutlierDetector(random_state=0, distributed=True)
    detector.fit(rows_of(rank, X))
    wrapped = skae.AutoencoderOutlierDetector(
        small_autoencoder(), contamination=0.05, distributed=True
    ).fit(rows_of(rank, X))
    return {
        "weights": np.concatenate([weights(member) for member in detector.estimators_]),
        "mean": detector.mean_, "scale": detector.scale_,
        "statistics": detector.member_statistics_, "medians": detector.view_medians_,
        "offset": detector.offset_, "scores": detector.score_samples(X[N_TRAIN:]),
        "wrapped": (weights(wrapped.estimator_), wrapped.offset_),
    }


def member_arrays(rank):
    """One rank's share of made-up codes and errors of an outlier detector's member."""
    rng = np.random.RandomState(rank)
    n_rows = 300 if rank == 0 else 200
    return rng.normal(size=(n_rows, 3)), rng.exponential(size=(n_rows, 5))


def scenario_member_statistics(rank, X):
    from skae._distributed import check_process_group
    from skae.outlier import fit_member_statistics

    return fit_member_statistics("latent", *member_arrays(rank), check_process_group(True))


def scenario_empty(rank, X):
    rows = rows_of(rank, X)
    skae.AutoencoderTransformer(distributed=True, **settings()).fit(rows if rank == 0 else rows[:0])


def start_of(cls, X, parallel=None):
    """The network ``cls`` builds from ``X`` (its PCA start), every weight flattened."""
    from skae._distributed import data_parallel
    from skae._random import seeded_torch

    with data_parallel(parallel), seeded_torch(0):
        module = cls(**settings())._build_module(X)
    state = module.state_dict().values()
    return torch.cat([t.detach().reshape(-1).double() for t in state]).numpy()


def scenario_start(rank, X):
    from skae._distributed import check_process_group

    parallel = check_process_group(True)
    return {
        cls.__name__: start_of(cls, rows_of(rank, X), parallel)
        for cls in (skae.AutoencoderTransformer, skae.VariationalAE)
    }


class DieAtSecondEpoch(Callback):
    """Rank 1's process exits in the middle of training, as a crashed node would."""

    def on_epoch_end(self, net, **kwargs):
        if dist.get_rank() == 1 and len(net.history) == 2:
            os._exit(3)


def scenario_rank_dies(rank, X):
    model = skae.AutoencoderTransformer(
        distributed=True, callbacks=[DieAtSecondEpoch()], **settings(max_iter=20)
    )
    model.fit(rows_of(rank, X))


def dask_task(rank, world_size, port, group_timeout=60):
    """One dask worker's share: join a gloo group at ``127.0.0.1:port`` and fit its rows."""
    import datetime

    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
        timeout=datetime.timedelta(seconds=group_timeout),
    )
    try:
        model = skae.AutoencoderTransformer(distributed=True, **settings(max_iter=3))
        model.fit(rows_of(rank, make_data()))
        return {"weights": weights(model), "loss_curve": list(model.loss_curve_),
                "rank": dist.get_rank()}
    finally:
        dist.destroy_process_group()


def main(out_dir, scenarios):
    timeout = float(os.environ.get("SKAE_TEST_TIMEOUT", 60))
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout))
    rank = dist.get_rank()
    X = make_data()
    results = {}
    for name in scenarios:
        function = globals()[f"scenario_{name}"]
        try:
            args = (rank, X, out_dir) if name == "memmap" else (rank, X)
            results[name] = function(*args)
        except Exception as error:  # recorded: the test asserts on it
            results[name] = {"error": type(error).__name__, "message": str(error)}
        if name == "rank_dies":  # no other rank left to wait for
            break
        dist.barrier()
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as file:
        pickle.dump(results, file)
    if "rank_dies" in scenarios:
        os._exit(0)  # the group cannot be shut down cleanly without the dead rank
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
