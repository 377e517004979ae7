"""How the deep MNIST configuration was chosen: candidates scored on validation rows only.

Each candidate (Hinton & Salakhutdinov's 784-1000-500-250-30 autoencoder with
cross-entropy on [0, 1] pixels, and variations of its regularization and
optimizer) is trained on 90% of the training rows of the reduction slice's
seed-0 split of mnist_test and scored on the other 10%: the validation rows.
No test row is read. ``benchmarks.reducers.DEEP_PARAMS`` should be the
candidate with the lowest validation MSE (the section says whether it is); the
reduction slice then reports it on its test rows.

    python -m benchmarks.tune_deep     # 8 runs, each at most DEEP_BUDGET_SECONDS of CPU
"""

import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from . import reducers as rd
from .reduction import load_dataset, split_and_scale

NAME = "tune_deep"
DEFAULT_SEEDS = 1
DATASET = "mnist_test"
K = 30
VALIDATION_FRACTION = 0.1
BASE = {"hidden_layer_sizes": (1000, 500, 250), "loss": "bce", "max_iter": 2000}
CANDIDATES = {
    "no dropout, lr 1e-3": {},
    "dropout 0.1, lr 1e-3": {"dropout": 0.1},
    "dropout 0.2, lr 1e-3": {"dropout": 0.2},
    "dropout 0.1, lr 1e-4": {"dropout": 0.1, "learning_rate_init": 1e-4},
    "dropout 0.1, lr 3e-4": {"dropout": 0.1, "learning_rate_init": 3e-4},
    "dropout 0.1, lr 3e-4, patience 25": {"dropout": 0.1, "learning_rate_init": 3e-4,
                                           "n_iter_no_change": 25},
    "dropout 0.1, lr 3e-4, batch 64": {"dropout": 0.1, "learning_rate_init": 3e-4,
                                        "batch_size": 64},
    "DenoisingAE masking 0.1, lr 3e-4": {"estimator": "DenoisingAE", "noise": "masking",
                                          "noise_level": 0.1, "learning_rate_init": 3e-4},
}


def plan(config):
    if not config.get("data_dir"):
        return []
    return [{"dataset": DATASET, "source": f"shared:{config['data_dir']}", "max_rows": 10_000,
             "n_generated": 2000, "candidate": name} for name in CANDIDATES]


def _fit_validation_rows(run):
    X_train, _, y_train, _ = split_and_scale(load_dataset(run), 0)  # the test rows stay unread
    return train_test_split(X_train, test_size=VALIDATION_FRACTION, random_state=0,
                            stratify=y_train)


def run_one(run):
    import skae

    X_fit, X_valid = _fit_validation_rows(run)
    params = {**BASE, **CANDIDATES[run["candidate"]]}
    cls = getattr(skae, params.pop("estimator", "AutoencoderTransformer"))
    budget = [("time_budget", rd.TimeBudget(rd.DEEP_BUDGET_SECONDS))]
    estimator = cls(n_components=K, random_state=0, callbacks=budget, **params)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X_fit)
    seconds = time.process_time() - start
    reconstruction = estimator.inverse_transform(estimator.transform(X_valid))
    pca = PCA(K, random_state=0).fit(X_fit)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(X_valid)) - X_valid) ** 2))
    mse = float(np.mean((np.asarray(reconstruction, dtype=float) - X_valid) ** 2))
    return {"validation_mse": mse, "pca_validation_mse": pca_mse, "ratio": mse / pca_mse,
            "epochs": len(estimator.loss_curve_), "fit_cpu_seconds": seconds}


def report(rows, out_dir):
    lines = ["## Tuning of the deep MNIST configuration (validation rows only)", ""]
    if rows.empty:
        return "\n".join(lines + ["(not run: the shared datasets are absent)"])
    best = rows.sort_values("ratio").iloc[0]["candidate"]
    agrees = chosen(rows) == rd.DEEP_PARAMS
    lines += [
        f"- Candidates trained on {1 - VALIDATION_FRACTION:.0%} of the training rows of "
        f"{DATASET}'s seed-0 split, scored on the other {VALIDATION_FRACTION:.0%}; k={K}; "
        f"{rd.DEEP_BUDGET_SECONDS:.0f} CPU s budget each. No test row was read.",
        f"- Rows: design rows. {rd.DEEP_TUNING}",
        f"- The lowest validation ratio: {best!r}. `benchmarks.reducers.DEEP_PARAMS` "
        + ("is that candidate" if agrees else "is NOT that candidate") + ": "
        + ", ".join(f"{k}={v!r}" for k, v in rd.DEEP_PARAMS.items()) + ".", "",
    ]
    table = rows[["candidate", "ratio", "validation_mse", "epochs", "fit_cpu_seconds"]]
    table = table.sort_values("ratio").rename(columns={"ratio": "validation MSE / PCA's"})
    lines += [table.to_markdown(index=False, floatfmt=".4g"), ""]
    return "\n".join(lines)


def chosen(rows):
    """The candidate with the lowest validation ratio, as constructor parameters."""
    best = pd.DataFrame(rows).sort_values("ratio").iloc[0]["candidate"]
    return {**BASE, **CANDIDATES[best]}


def main(argv=None):
    from .slices import main_for

    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
