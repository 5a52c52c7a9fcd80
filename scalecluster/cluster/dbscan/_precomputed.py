"""DBSCAN of precomputed distances: a dense n × n matrix, or a sparse radius-neighbours graph.

scikit-learn's semantics (``metric="precomputed"``):

* dense: ``j`` is a neighbour of ``i`` when ``X[i, j] <= eps`` (the diagonal
  counts like any other entry, so a point is its own neighbour when
  ``X[i, i] <= eps``);
* sparse: only *stored* entries are distances — a missing entry is no
  neighbour (a graph from ``radius_neighbors_graph`` or ``kneighbors_graph``
  built with a radius larger than eps is filtered to eps) — except the
  diagonal, which counts as stored (0 where missing), as scikit-learn's
  ``X.setdiag(X.diagonal())`` makes it.  The user's matrix is never modified.

Both answer the queries of the shared driver (:mod:`._chunked`) in row blocks
sized from the working-memory budget; the only n × n array is the one the user
gave.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..._config import rows_per_block
from ._chunked import Neighbourhoods, neighbour_budget, segment_sums


def check_precomputed(X: Any) -> None:
    """scikit-learn's checks of a precomputed distance matrix: square, no negative distances."""
    if X.shape[0] != X.shape[1]:
        raise ValueError(
            f"With metric='precomputed', X must be a square matrix of distances (n_samples, n_samples); "
            f"got shape {X.shape}. Pass the distances between every pair of samples, or the features "
            "themselves with another metric."
        )
    data = X.data if sp.issparse(X) else X
    if data.size and data.min() < 0:
        raise ValueError(
            "Negative values in data passed to precomputed distance matrix: distances must be >= 0 "
            f"(smallest: {data.min()!r}). Check how the matrix was built."
        )


class DensePrecomputed:
    """:class:`~._chunked.NeighbourSource` of a dense distance matrix."""

    threaded = False

    def __init__(self, D: np.ndarray, eps: float) -> None:
        self.D = D
        self.n = D.shape[0]
        self.eps = eps  # a Python float: compared in the matrix's dtype, as scikit-learn compares

    def counts(self, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        counts = np.empty(self.n, dtype=np.int64)
        weighted = None if weights is None else np.empty(self.n, dtype=np.float64)
        # Per row: its mask (1 byte per entry), and the weights' float64 copy of it.
        step = rows_per_block(self.n * (1 if weights is None else 9), self.n)
        for a in range(0, self.n, step):
            near = self.D[a : a + step] <= self.eps
            counts[a : a + step] = near.sum(axis=1)
            if weighted is not None:
                weighted[a : a + step] = near @ weights
        return counts, weighted

    def among(self, core_index: np.ndarray) -> Callable[[np.ndarray], Neighbourhoods]:
        # Per query row: the distances to the core points (a copy), and their mask.
        step = rows_per_block(core_index.size * (self.D.itemsize + 1), self.n)

        def search(query: np.ndarray) -> Neighbourhoods:
            sizes, flat = [], []
            for a in range(0, query.size, step):
                near = self.D[np.ix_(query[a : a + step], core_index)] <= self.eps
                rows, cols = np.nonzero(near)
                sizes.append(np.bincount(rows, minlength=near.shape[0]))
                flat.append(cols)
            return np.concatenate(sizes).astype(np.int64), np.concatenate(flat).astype(np.int64)

        return search


class SparsePrecomputed:
    """:class:`~._chunked.NeighbourSource` of a sparse (CSR) radius-neighbours graph."""

    threaded = False

    def __init__(self, G: sp.csr_matrix, eps: float) -> None:
        self.G = G
        self.n = G.shape[0]
        self.eps = eps
        # The diagonal is a distance even where not stored (0): a point is its own
        # neighbour unless a stored diagonal entry exceeds eps.
        self.self_near = np.asarray(G.diagonal() <= eps)

    def _rows(self, rows: np.ndarray, keep: np.ndarray | None) -> Neighbourhoods:
        """Neighbours of ``rows`` (global column indices), among the columns ``keep`` marks."""
        sub = self.G[rows]
        owner = np.repeat(np.arange(rows.size), np.diff(sub.indptr))
        # The stored diagonal is replaced by the point itself, added once below.
        near = (sub.data <= self.eps) & (sub.indices != rows[owner])
        itself = self.self_near[rows]
        if keep is not None:
            near &= keep[sub.indices]
            itself = itself & keep[rows]
        owners = np.concatenate((owner[near], np.flatnonzero(itself)))
        cols = np.concatenate((sub.indices[near], rows[itself])).astype(np.int64)
        order = np.argsort(owners, kind="stable")
        return np.bincount(owners, minlength=rows.size).astype(np.int64), cols[order]

    def _blocks(self, rows: np.ndarray) -> list[np.ndarray]:
        """``rows`` cut so that a block's stored entries fit the working memory."""
        stored = np.cumsum(np.diff(self.G.indptr)[rows])
        budget = neighbour_budget()
        cuts = np.searchsorted(stored, np.arange(budget, stored[-1] if stored.size else 0, budget))
        return np.split(rows, np.unique(cuts[(cuts > 0) & (cuts < rows.size)]))

    def counts(self, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        counts = np.empty(self.n, dtype=np.int64)
        weighted = None if weights is None else np.empty(self.n, dtype=np.float64)
        for rows in self._blocks(np.arange(self.n)):
            sizes, flat = self._rows(rows, None)
            counts[rows] = sizes
            if weighted is not None:
                weighted[rows] = segment_sums(weights[flat], sizes)
        return counts, weighted

    def among(self, core_index: np.ndarray) -> Callable[[np.ndarray], Neighbourhoods]:
        keep = np.zeros(self.n, dtype=bool)
        keep[core_index] = True
        position = np.full(self.n, -1, dtype=np.int64)
        position[core_index] = np.arange(core_index.size)

        def search(query: np.ndarray) -> Neighbourhoods:
            parts = [self._rows(rows, keep) for rows in self._blocks(query)]
            sizes = np.concatenate([p[0] for p in parts])
            return sizes, position[np.concatenate([p[1] for p in parts])]

        return search
