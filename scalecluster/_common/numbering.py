"""Clusters numbered by their first member in input order, as scikit-learn numbers them; codes in stable order.

scikit-learn's DBSCAN expands clusters from core points in input order, so
cluster 0 is the one holding the first core point, cluster 1 the one holding
the first core point not in cluster 0, and so on.  Every DBSCAN path (grid,
tree, Dask slabs, CUDA) reaches the same numbering through this one function.
"""

from __future__ import annotations

import numpy as np

_NONE = np.iinfo(np.int64).max


def rank_by_first(root: np.ndarray, first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The number of every cluster, ranked by the smallest ``first`` of its members.

    Parameters
    ----------
    root : ndarray of shape (m,), int
        The cluster of each element, as an id in ``0 .. m - 1`` (a union-find root).
    first : ndarray of shape (m,), int64
        Each element's position in input order (its first core point).
    counts : ndarray of shape (m,), bool
        Which elements take part (e.g. runs holding a core point).

    Returns
    -------
    number : ndarray of shape (m,), int64
        ``number[r]`` is the label of the cluster whose id is ``r`` (``-1`` for
        ids that are no cluster's root, or whose members all were left out);
        an element's label is ``number[root[i]]``.
    """
    m = root.shape[0]
    cluster_first = np.full(m, _NONE, dtype=np.int64)
    np.minimum.at(cluster_first, root[counts], first[counts])
    clusters = np.flatnonzero(cluster_first != _NONE)
    ranked = clusters[np.argsort(cluster_first[clusters], kind="stable")]
    number = np.full(m, -1, dtype=np.int64)
    number[ranked] = np.arange(ranked.shape[0])
    return number


def stable_order(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` for integer codes in ``0 .. n_codes - 1``.

    NumPy's stable sort is a radix sort for integers of at most 16 bits and a
    merge sort otherwise (about 10× slower at 20,000 rows), so codes that fit
    are sorted as ``uint8`` or ``uint16``; the order is the same (a stable sort
    has one answer).
    """
    codes = np.asarray(codes)
    if n_codes <= 1 << 8:
        codes = codes.astype(np.uint8, copy=False)
    elif n_codes <= 1 << 16:
        codes = codes.astype(np.uint16, copy=False)
    return np.argsort(codes, kind="stable")
