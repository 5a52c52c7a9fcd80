"""DBSCAN through scikit-learn's brute-force radius queries: any metric it accepts, callables, sparse rows.

The path for metrics no tree takes (``"cosine"``, ``"correlation"`` …), for
``algorithm="brute"``, for Minkowski with ``p < 1``, and for SciPy sparse
input (scikit-learn's DBSCAN also runs sparse data by brute force).  The
queries come from :class:`sklearn.neighbors.NearestNeighbors` with
``algorithm="brute"``: its distances are scikit-learn's own, so the labels
are those of scikit-learn's DBSCAN.  They answer the queries of the shared
driver (:mod:`._chunked`) a chunk of rows at a time:

* counting: chunks whose size adapts to the neighbours seen so far (the
  counts are not known yet), so that a chunk's neighbourhoods stay near the
  working-memory budget;
* then a second model over the core rows only, queried by chunks sized from
  the counts.

Inside a query scikit-learn computes distances in blocks under its own
``working_memory`` setting, set here to scalecluster's; chunks run one after
another (scikit-learn parallelises each query over its own threads).  Memory:
O(n) plus one chunk's neighbourhoods and one block of distances.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import sklearn
from sklearn.neighbors import NearestNeighbors

from ..._config import get_config
from ._chunked import MAX_CHUNK_ROWS, Neighbourhoods, csr_of, neighbour_budget, segment_sums
from ._plan import SearchPlan

#: Most rows of the first counting chunk, before any neighbour count is known.
_FIRST_ROWS = 256


class BruteNeighbours:
    """:class:`~._chunked.NeighbourSource` of scikit-learn's brute force over dense or sparse ``X``."""

    threaded = False

    def __init__(self, X: Any, eps: float, plan: SearchPlan) -> None:
        self.X = X
        self.n = X.shape[0]
        self.eps = eps
        self.plan = plan
        self.model = self._model(X)

    def _model(self, points: Any) -> NearestNeighbors:
        params = dict(self.plan.params)
        p = params.pop("p", 2)
        with sklearn.config_context(working_memory=get_config()["working_memory"]), warnings.catch_warnings():
            # The plan already said so, once (scikit-learn would repeat it for the core rows' model).
            warnings.filterwarnings("ignore", message="Mind that for 0 < p < 1")
            return NearestNeighbors(
                radius=self.eps,
                algorithm="brute",
                metric=self.plan.metric,
                p=p,
                metric_params=params or None,
                n_jobs=None,
            ).fit(points)

    def _query(self, model: NearestNeighbors, rows: Any) -> Neighbourhoods:
        with sklearn.config_context(working_memory=get_config()["working_memory"]):
            return csr_of(model.radius_neighbors(rows, return_distance=False))

    def counts(self, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        counts = np.empty(self.n, dtype=np.int64)
        weighted = None if weights is None else np.empty(self.n, dtype=np.float64)
        budget = neighbour_budget()
        # The first chunk as if every point were a neighbour of every other: within budget whatever eps.
        start, rows = 0, int(min(_FIRST_ROWS, max(1, budget // self.n)))
        while start < self.n:
            stop = min(self.n, start + rows)
            sizes, flat = self._query(self.model, self.X[start:stop])
            counts[start:stop] = sizes
            if weighted is not None:
                weighted[start:stop] = segment_sums(weights[flat], sizes)
            # The next chunk from the mean neighbours so far (twice, against denser rows ahead).
            mean = max(1.0, counts[:stop].mean())
            rows = int(min(MAX_CHUNK_ROWS, max(1, budget // (2 * mean))))
            start = stop
        return counts, weighted

    def among(self, core_index: np.ndarray) -> Callable[[np.ndarray], Neighbourhoods]:
        core_model = self._model(self.X[core_index])
        return lambda query: self._query(core_model, self.X[query])
