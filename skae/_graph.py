"""Label spreading over k-nearest-neighbour graphs, and its extension to new rows.

The graph links each training row to its ``k`` nearest rows, with a
self-tuning Gaussian weight: ``exp(-4 d^2 / s^2)``, ``s`` the distance of the
row to its ``k``-th neighbour, so the weights adapt to the local density
(Zelnik-Manor & Perona, 2004); the larger of the two directed weights links a
pair. Several graphs of the same rows (e.g. over the inputs and over the codes
of an encoder) are summed. Labels spread over the sum as in Zhou et al.
(2004): with ``S = D^{-1/2} W D^{-1/2}``, ``F = (I - alpha S)^{-1} Y``,
solved by conjugate gradients, one column per class; each class's column is
then rescaled to the class's prior (class mass normalization, Zhu et al.,
2003), and each row to a distribution. The priors are the classes' shares of
the labeled rows, or given: :func:`class_priors` shrinks those shares toward
equal shares by positive-part James-Stein shrinkage, for labels drawn as they
come (not stratified), whose shares stray from the true ones by sampling
noise alone. A new row takes the weighted mean of the distributions of its
``k`` nearest training rows, in each space, averaged over the spaces.

Only NumPy, SciPy and scikit-learn: no estimator, no torch.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import cg
from sklearn.neighbors import NearestNeighbors

__all__ = ["class_priors", "induce", "neighbor_affinity", "spread_labels", "unit_rows"]

# Rows of new data whose neighbours are looked up at once (memory ~ rows x training rows).
QUERY_BATCH_ROWS = 1024


def unit_rows(X):
    """A float64 copy of ``X`` with every row scaled to unit Euclidean norm (zero rows stay zero).

    Examples
    --------
    >>> unit_rows([[3.0, 4.0], [0.0, 0.0]])
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    X = np.array(X, dtype=np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)


def _weights(distances):
    """Self-tuning Gaussian weights of ``(n, k)`` neighbour distances (scale: each row's k-th)."""
    scale = np.maximum(distances[:, -1:], np.finfo(np.float64).tiny)
    return np.exp(-4.0 * (distances / scale) ** 2)


def neighbor_affinity(rows, n_neighbors):
    """The symmetric k-NN affinity of ``rows``, a sparse ``(n, n)`` matrix.

    Parameters
    ----------
    rows : ndarray of shape (n_samples, n_features)
        The points (``n_samples >= 2``).
    n_neighbors : int
        Neighbours of each row, not counting itself (at most ``n_samples - 1``).

    Returns
    -------
    affinity : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        ``max(w_ij, w_ji)``, zero on the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> W = neighbor_affinity(np.array([[0.0], [1.0], [3.0]]), 1)
    >>> W.toarray().round(3)
    array([[0.   , 0.018, 0.   ],
           [0.018, 0.   , 0.018],
           [0.   , 0.018, 0.   ]])
    """
    n = len(rows)
    distances, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(rows).kneighbors()
    weights = _weights(distances)
    starts = np.arange(0, n * n_neighbors + 1, n_neighbors)
    W = sp.csr_matrix((weights.ravel(), indices.ravel(), starts), shape=(n, n))
    return W.maximum(W.T).tocsr()


def class_priors(counts):
    """Class priors from the labeled rows' class counts, shrunk toward equal shares.

    The labeled shares ``s = counts / n`` estimate the priors with a sampling
    variance ``sum_c s_c (1 - s_c) / n = (1 - sum_c s_c^2) / n`` in all; their
    spread around equal shares ``u = 1 / K`` is ``sum_c (s_c - u)^2``. The
    estimate moves toward ``u`` by the share of that spread the noise alone
    explains (positive-part James-Stein shrinkage; Efron & Morris, 1973):
    ``w = min(1, noise / spread)``, priors ``w u + (1 - w) s``. Balanced
    classes seen through few labels get equal priors; classes whose labeled
    shares differ by more than their noise keep most of their difference,
    and more of it the more labels there are. No threshold is tuned.

    Parameters
    ----------
    counts : array-like of shape (n_classes,)
        Labeled rows of each class (every one may be 0 but not all).

    Returns
    -------
    priors : ndarray of shape (n_classes,)
        Positive, summing to one.

    Examples
    --------
    >>> class_priors([9, 11, 10])  # as balanced as 30 random labels get: equal priors
    array([0.33333333, 0.33333333, 0.33333333])
    >>> class_priors([900, 100]).round(3)  # far apart on 1,000 labels: about the shares
    array([0.9, 0.1])
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_classes, n_labeled = len(counts), counts.sum()
    shares = counts / n_labeled
    equal = np.full(n_classes, 1.0 / n_classes)
    spread = float(((shares - equal) ** 2).sum())
    noise = (1.0 - float((shares**2).sum())) / n_labeled
    weight = 1.0 if spread <= noise else noise / spread
    return weight * equal + (1.0 - weight) * shares


def spread_labels(affinity, labels, n_classes, alpha, *, priors=None, tol=1e-6, max_iter=1000):
    """Label distributions of every row, spread from the labeled ones over ``affinity``.

    Parameters
    ----------
    affinity : sparse matrix of shape (n_samples, n_samples)
        Symmetric, non-negative (e.g. a sum of ``neighbor_affinity``).
    labels : ndarray of shape (n_samples,) of int
        Class index of each labeled row, ``-1`` for an unlabeled one.
    n_classes : int
        Number of classes; every class has a labeled row.
    alpha : float in [0, 1)
        How far labels travel: the weight of the neighbours against the
        row's own label.
    priors : array-like of shape (n_classes,) or None, default=None
        Each class's total mass (summing to one); ``None``: the classes'
        shares of the labeled rows. E.g. :func:`class_priors` for labels
        drawn at random.
    tol, max_iter
        Relative tolerance and iteration cap of the conjugate gradients.

    Returns
    -------
    distributions : ndarray of shape (n_samples, n_classes)
        Rows sum to one; a labeled row is its label, a row no label reaches
        the priors.

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> W = neighbor_affinity(rows, 2)
    >>> spread_labels(W, np.array([0, -1, -1, -1, -1, 1]), 2, 0.9).argmax(axis=1)
    array([0, 0, 0, 1, 1, 1])
    """
    n = affinity.shape[0]
    labeled = labels >= 0
    Y = np.zeros((n, n_classes))
    Y[labeled, labels[labeled]] = 1.0
    priors = Y[labeled].mean(axis=0) if priors is None else np.asarray(priors, dtype=np.float64)
    degree = np.asarray(affinity.sum(axis=1)).ravel()
    scale = 1.0 / np.sqrt(np.maximum(degree, np.finfo(np.float64).tiny))
    S = sp.diags(scale) @ affinity @ sp.diags(scale)
    A = (sp.eye(n) - alpha * S).tocsr()
    F = np.column_stack(
        [cg(A, Y[:, c], rtol=tol, atol=0.0, maxiter=max_iter)[0] for c in range(n_classes)]
    )
    F = np.maximum(F, 0.0)
    F *= priors / np.maximum(F.sum(axis=0), np.finfo(np.float64).tiny)  # class mass
    mass = F.sum(axis=1, keepdims=True)
    F = np.where(mass > 0, F / np.where(mass > 0, mass, 1.0), priors)
    F[labeled] = Y[labeled]
    return F


def induce(reference, distributions, queries, n_neighbors):
    """Label distributions of ``queries``: weighted mean over their nearest ``reference`` rows.

    Parameters
    ----------
    reference : ndarray of shape (n_reference, n_features)
        The training rows, in one space.
    distributions : ndarray of shape (n_reference, n_classes)
        Their label distributions.
    queries : ndarray of shape (n_queries, n_features)
        New rows in the same space, looked up ``QUERY_BATCH_ROWS`` at a time.
    n_neighbors : int
        Neighbours of each query (at most ``n_reference``).

    Returns
    -------
    distributions : ndarray of shape (n_queries, n_classes)
        Rows sum to one.

    Examples
    --------
    >>> import numpy as np
    >>> reference = np.array([[0.0], [1.0], [10.0]])
    >>> F = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> induce(reference, F, np.array([[0.4], [9.0]]), 2).argmax(axis=1)
    array([0, 1])
    """
    index = NearestNeighbors(n_neighbors=n_neighbors).fit(reference)
    out = np.empty((len(queries), distributions.shape[1]))
    for start in range(0, len(queries), QUERY_BATCH_ROWS):
        distances, indices = index.kneighbors(queries[start : start + QUERY_BATCH_ROWS])
        weighted = np.einsum("qk,qkc->qc", _weights(distances), distributions[indices])
        out[start : start + QUERY_BATCH_ROWS] = weighted / weighted.sum(axis=1, keepdims=True)
    return out
