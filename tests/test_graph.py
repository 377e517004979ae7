"""skae._graph: k-NN affinities, label spreading and induction."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from skae._graph import induce, neighbor_affinity, spread_labels, unit_rows


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


def test_a_row_no_label_reaches_gets_the_class_shares():
    rows = np.array([[0.0], [0.1], [0.2], [50.0], [50.1]])
    W = neighbor_affinity(rows[:3], 1)
    W = np.pad(W.toarray(), ((0, 2), (0, 2)))  # rows 3 and 4: no edge at all
    import scipy.sparse as sp

    labels = np.array([0, 1, 1, -1, -1])
    F = spread_labels(sp.csr_matrix(W), labels, 2, 0.9)
    np.testing.assert_allclose(F[3:], [[1 / 3, 2 / 3]] * 2)


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
