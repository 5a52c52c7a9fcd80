"""DBSCAN through a KD-tree or ball tree, one bounded chunk of queries at a time.

The path for more than :data:`~._grid.GRID_MAX_FEATURES` features, for the
metrics scikit-learn's trees take (a ball tree also takes callables), and for
data whose grid keys would overflow.  The trees answer the queries of the
shared driver (:mod:`._chunked`):

1. neighbour counts (``count_only``, no indices at all when unweighted);
2. a tree over the core points only, queried by chunks of core points for
   their core-core pairs and by chunks of the other points for their smallest
   core neighbour's label.

Memory is O(n) plus one chunk per thread (tree queries release the GIL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.neighbors import BallTree, KDTree

from ._chunked import Neighbourhoods, chunked_dbscan, chunks_by_counts, csr_of, map_chunks, segment_sums
from ._plan import SearchPlan, resolve_metric

#: Query rows per chunk of the counting pass (``count_only`` holds no neighbours).
_COUNT_ROWS = 16384


def make_tree(
    X: np.ndarray,
    metric: Any,
    p: float | None,
    leaf_size: int,
    metric_params: dict | None = None,
    kind: str | None = None,
) -> Any:
    """A KD-tree when the metric allows it (or ``kind="kd_tree"``), else a ball tree (both scikit-learn's)."""
    name, params = resolve_metric(metric, p, metric_params)
    if kind is None:
        usable = not callable(name) and name in KDTree.valid_metrics and "w" not in params
        kind = "kd_tree" if usable else "ball_tree"
    cls = KDTree if kind == "kd_tree" else BallTree
    return cls(X, leaf_size=leaf_size, metric=name, **params)


class TreeNeighbours:
    """:class:`~._chunked.NeighbourSource` of a KD-tree or ball tree over dense ``X``."""

    threaded = True

    def __init__(self, X: np.ndarray, eps: float, plan: SearchPlan) -> None:
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.n = self.X.shape[0]
        self.eps = eps
        self.plan = plan
        self.tree = self._tree(self.X)

    def _tree(self, points: np.ndarray) -> Any:
        cls = KDTree if self.plan.kind == "kd_tree" else BallTree
        return cls(points, leaf_size=self.plan.leaf_size, metric=self.plan.metric, **self.plan.params)

    def counts(self, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        X, tree, eps = self.X, self.tree, self.eps
        parts = [slice(a, min(a + _COUNT_ROWS, self.n)) for a in range(0, self.n, _COUNT_ROWS)]
        counts = np.concatenate(
            list(map_chunks(self, lambda s: tree.query_radius(X[s], eps, count_only=True), parts))
        ).astype(np.int64)
        if weights is None:
            return counts, None
        w = np.asarray(weights, dtype=np.float64)

        def weighted(s: slice) -> np.ndarray:
            sizes, flat = csr_of(tree.query_radius(X[s], eps))
            return segment_sums(w[flat], sizes)

        return counts, np.concatenate(list(map_chunks(self, weighted, list(chunks_by_counts(counts)))))

    def among(self, core_index: np.ndarray) -> Callable[[np.ndarray], Neighbourhoods]:
        core_tree = self._tree(self.X[core_index])
        X, eps = self.X, self.eps
        return lambda query: csr_of(core_tree.query_radius(X[query], eps))


def tree_dbscan(
    X: np.ndarray,
    weights: np.ndarray | None,
    eps: float,
    min_samples: float,
    *,
    metric: Any = "euclidean",
    p: float | None = None,
    leaf_size: int = 30,
    plan: SearchPlan | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN of dense ``X`` through tree queries: ``(labels, core mask)``.

    ``plan`` (a tree kind and a resolved metric) wins over ``metric``, ``p``
    and ``leaf_size``; without it, a KD-tree when the metric allows it, else
    a ball tree.
    """
    if plan is None:
        name, params = resolve_metric(metric, p, None)
        usable = not callable(name) and name in KDTree.valid_metrics and "w" not in params
        plan = SearchPlan("kd_tree" if usable else "ball_tree", name, params, leaf_size)
    return chunked_dbscan(TreeNeighbours(X, eps, plan), weights, min_samples)
