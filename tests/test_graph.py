"""skae._graph: k-NN affinities, label spreading and induction."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from skae._graph import class_priors, induce, neighbor_affinity, spread_labels, unit_rows


@pytest.fixture(scope="module")
def three_blobs():
    X, y = make_blobs(n_samples=150, centers=3, n_features=4, cluster_std=0.5, random_state=0)
    return X, y


def test_affinity_is_symmetric_non_negative_with_an_empty_diagonal(three_blobs):
    X, _ = three_blobs
    W = neighbor_affinity(X, 5)
    dense = W.toarray()
    np.testing.assert_array_equal(dense, dense.T)
    assert (dense >= 0).all() and not dense.diagonal().any()
    assert ((dense > 0).sum(axis=1) >= 5).all()  # every row keeps its own neighbours


def test_spreading_keeps_labels_and_fills_every_row(three_blobs):
    X, y = three_blobs
    labels = np.full(len(y), -1)
    first = [np.flatnonzero(y == c)[0] for c in range(3)]
    labels[first] = y[first]
    F = spread_labels(neighbor_affinity(X, 5), labels, 3, 0.99)
    np.testing.assert_allclose(F.sum(axis=1), 1.0)
    np.testing.assert_array_equal(F[first], np.eye(3))
    assert np.mean(F.argmax(axis=1) == y) > 0.95


def test_a_row_no_label_reaches_gets_the_class_priors():
    rows = np.array([[0.0], [0.1], [0.2], [50.0], [50.1], [50.2]])
    W = neighbor_affinity(rows[:4], 1)
    W = np.pad(W.toarray(), ((0, 2), (0, 2)))  # rows 4 and 5: no edge at all
    import scipy.sparse as sp

    W, labels = sp.csr_matrix(W), np.array([0, 1, 1, -1, -1, -1])
    np.testing.assert_allclose(spread_labels(W, labels, 2, 0.9)[4:], [[1 / 3, 2 / 3]] * 2)
    # One label against two: no more apart than chance, equal priors.
    F = spread_labels(W, labels, 2, 0.9, priors=class_priors([1, 2]))
    np.testing.assert_allclose(F[4:], [[0.5, 0.5]] * 2)
    np.testing.assert_allclose(F[:3], np.eye(2)[[0, 1, 1]])  # labeled rows keep their label


def test_class_priors_shrink_chance_differences_and_keep_real_ones():
    np.testing.assert_allclose(class_priors([8, 12, 10]), 1 / 3)  # chance: equal priors
    np.testing.assert_allclose(class_priors([3, 3, 3]), 1 / 3)
    for counts in ([1, 5], [30, 10, 5], [700, 200, 100], [4, 0, 6]):
        priors = class_priors(counts)
        assert (priors > 0).all() and np.isclose(priors.sum(), 1.0)
        shares = np.asarray(counts) / np.sum(counts)
        # Between the shares and equal shares, class by class.
        assert ((priors - shares) * (1 / len(counts) - shares) >= -1e-12).all()
    # The same shares on more labels: less shrinkage (closer to the shares).
    gaps = [abs(class_priors([3 * m, m])[0] - 0.75) for m in (2, 20, 200)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01


def test_chance_counts_of_labels_do_not_become_the_class_sizes():
    # Four overlapping classes of 100 rows with 6, 2, 3 and 5 labels (as
    # labels drawn at random come): normalizing the classes' masses to those
    # shares gave class 0 a third of the rows (0.86 accuracy at alpha=0.9,
    # 0.55 at 0.99); the shrunk priors are equal and each class gets its own.
    # (spread_labels without priors: the shares, as before.)
    X, y = make_blobs(n_samples=400, centers=4, n_features=4, cluster_std=2.0, random_state=2)
    labels = np.full(len(y), -1)
    chosen = np.concatenate([np.flatnonzero(y == c)[:k] for c, k in enumerate((6, 2, 3, 5))])
    labels[chosen] = y[chosen]
    np.testing.assert_allclose(class_priors(np.bincount(labels[chosen])), 0.25)
    W = neighbor_affinity(X, 10)
    for alpha, least in ((0.9, 0.875), (0.99, 0.85)):
        F = spread_labels(W, labels, 4, alpha, priors=class_priors(np.bincount(labels[chosen])))
        assert np.mean(F.argmax(axis=1) == y) > least, alpha


def test_induction_follows_the_nearest_training_rows(three_blobs):
    X, y = three_blobs
    F = np.eye(3)[y]
    shifted = X + 0.01
    np.testing.assert_array_equal(induce(X, F, shifted, 5).argmax(axis=1), y)
    np.testing.assert_allclose(induce(X, F, shifted, 5).sum(axis=1), 1.0)


def test_unit_rows_does_not_modify_its_input():
    X = np.array([[3.0, 4.0], [0.0, 0.0]])
    unit_rows(X)
    np.testing.assert_array_equal(X, [[3.0, 4.0], [0.0, 0.0]])
