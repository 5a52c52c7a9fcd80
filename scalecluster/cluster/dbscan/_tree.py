"""DBSCAN through a KD-tree (or ball tree), one bounded chunk of queries at a time.

The path for more than :data:`~._grid.GRID_MAX_FEATURES` features, for
metrics other than Euclidean, and for data whose grid keys would overflow.
scikit-learn's DBSCAN asks its tree for every neighbourhood at once and keeps
them all; here the same tree queries run over chunks of points sized so that
one chunk's neighbourhoods fit the working-memory budget, and only per-point
results survive a chunk:

1. neighbour counts (``count_only``, no indices at all when unweighted);
2. a tree over the core points only; each chunk of core points yields its
   core-core pairs, folded into a union-find and dropped;
3. each non-core point takes the smallest cluster label among its core
   neighbours (scikit-learn's order, as in the grid path).

Memory is O(n) plus one chunk.  Time is that of the tree queries; with huge
eps every point has O(n) neighbours and the time grows as n², as it does for
any exact DBSCAN without a grid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.neighbors import BallTree, KDTree

from ..._common.disjoint_set import roots, union_pairs
from ..._common.parallel import map_in_order
from ..._config import effective_n_threads, get_config

_MiB = 2**20


def make_tree(X: np.ndarray, metric: str, p: float | None, leaf_size: int) -> Any:
    """A KD-tree when the metric allows it, else a ball tree (both from scikit-learn)."""
    name, params = _tree_metric(metric, p)
    cls = KDTree if name in KDTree.valid_metrics else BallTree
    return cls(X, leaf_size=leaf_size, metric=name, **params)


def _tree_metric(metric: str, p: float | None) -> tuple[str, dict[str, Any]]:
    if metric == "minkowski":
        p = 2.0 if p is None else float(p)
        if p == 2:
            return "euclidean", {}
        if p == 1:
            return "manhattan", {}
        return "minkowski", {"p": p}
    return metric, {}


def _chunks(counts: np.ndarray) -> Iterator[slice]:
    """Slices of consecutive points whose neighbourhoods fit the working memory."""
    # Per neighbour: an int64 index, and its share of the pairs built from it.
    budget = max(1, int(get_config()["working_memory"] * _MiB) // 32)
    n = counts.shape[0]
    start = 0
    cumulative = np.cumsum(counts, dtype=np.int64)
    while start < n:
        before = cumulative[start - 1] if start else 0
        stop = int(np.searchsorted(cumulative, before + budget, side="right"))
        stop = min(n, max(stop, start + 1), start + 65536)
        yield slice(start, stop)
        start = stop


def _map_chunks(fn: Any, chunks: list[slice]) -> Iterator[Any]:
    """``fn(chunk)`` for every chunk, on threads (tree queries release the GIL), in order.

    A bounded window of chunks is in flight, so memory stays a few chunks' neighbourhoods.
    """
    return map_in_order(fn, chunks, window=effective_n_threads())


def _count_chunks(tree: Any, X: np.ndarray, eps: float) -> np.ndarray:
    step = 16384
    parts = [slice(a, min(a + step, X.shape[0])) for a in range(0, X.shape[0], step)]
    return np.concatenate(list(_map_chunks(lambda s: tree.query_radius(X[s], eps, count_only=True), parts)))


def tree_dbscan(
    X: np.ndarray,
    weights: np.ndarray | None,
    eps: float,
    min_samples: float,
    *,
    metric: str = "euclidean",
    p: float | None = None,
    leaf_size: int = 30,
) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN of ``X`` through tree queries: ``(labels, core mask)``."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    tree = make_tree(X, metric, p, leaf_size)
    counts = _count_chunks(tree, X, eps)
    if weights is None:
        core = counts >= min_samples
    else:
        w = np.asarray(weights, dtype=np.float64)

        def weighted(s: slice) -> np.ndarray:
            return np.array([w[ind].sum() for ind in tree.query_radius(X[s], eps)])

        core = np.concatenate(list(_map_chunks(weighted, list(_chunks(counts))))) >= min_samples

    labels = np.full(n, -1, dtype=np.int64)
    core_index = np.flatnonzero(core)
    if core_index.size == 0:
        return labels, core
    X_core = X[core_index]
    core_tree = make_tree(X_core, metric, p, leaf_size)

    def core_pairs(s: slice) -> tuple[np.ndarray, np.ndarray]:
        neighbours = core_tree.query_radius(X_core[s], eps)
        sizes = np.fromiter((len(a) for a in neighbours), dtype=np.int64, count=len(neighbours))
        left = np.repeat(np.arange(s.start, s.stop, dtype=np.int64), sizes)
        right = np.concatenate(neighbours).astype(np.int64) if len(neighbours) else np.zeros(0, np.int64)
        keep = right > left  # each pair once
        return left[keep], right[keep]

    # Smaller index wins every union, so a cluster's root is its first core point.
    parent = np.arange(core_index.size, dtype=np.int64)
    for left, right in _map_chunks(core_pairs, list(_chunks(counts[core_index]))):
        union_pairs(parent, left, right)
    root = roots(parent)
    is_root = root == np.arange(root.size)
    core_label = (np.cumsum(is_root) - 1)[root]
    labels[core_index] = core_label

    border_index = np.flatnonzero(~core)
    X_border = X[border_index]

    def smallest_label(s: slice) -> np.ndarray:
        neighbours = core_tree.query_radius(X_border[s], eps)
        return np.array(
            [core_label[ind].min() if len(ind) else -1 for ind in neighbours],
            dtype=np.int64,
        )

    if border_index.size:
        parts = list(_map_chunks(smallest_label, list(_chunks(counts[border_index]))))
        labels[border_index] = np.concatenate(parts)
    return labels, core
