"""The silhouette under any metric scikit-learn accepts, or from precomputed distances (NumPy data).

The fast kernels (:mod:`._distance_sums`) compute Euclidean distances on every
backend (sparse rows of few features densified a block at a time).  Every
other metric — a name :func:`sklearn.metrics.pairwise_distances` accepts, a
callable, ``"precomputed"`` — and wide sparse rows go through
:class:`PairwiseDistances`: blocks of distances from a few query rows to all
rows (or to the reference rows of the sampled estimate), each block summed
per label and dropped.  A block holds ``rows × n`` distances, its rows chosen
so that it fits the working-memory budget, as scikit-learn's
``pairwise_distances_chunked`` does; the only n × n array is a precomputed
matrix the user gave.

Conventions are scikit-learn's: a precomputed matrix is read as it is (its
diagonal must be 0 within ``100 · eps``; a sparse matrix's missing entries
are distances of 0); a named metric's distance from a row to itself is 0 (as
in scikit-learn's distances of ``X`` to itself, which it computes whenever
the data fits one block), a callable is asked for it; the parameters
``seuclidean`` and ``mahalanobis`` derive from the data (``V``, ``VI``) are
computed once from all rows, as scikit-learn does, not per block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import pairwise_distances

from ..._config import rows_per_block

#: Metric names the fast Euclidean kernels run (with no keyword arguments).
EUCLIDEAN = ("euclidean", "l2")


@dataclass(frozen=True)
class PairwiseDistances:
    """Distances between rows of NumPy ``X`` (dense or CSR) under ``metric``, or read from a precomputed ``X``.

    Trusts its input: ``X`` validated (and, when precomputed, square with a zero diagonal).
    """

    X: Any
    metric: Any
    kwds: dict = field(default_factory=dict)
    n_jobs: int | None = None

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def precomputed(self) -> bool:
        return isinstance(self.metric, str) and self.metric == "precomputed"

    def block(self, rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """Dense float64 distances from the rows at ``rows`` to those at ``cols`` (None: all)."""
        if self.precomputed:
            if sp.issparse(self.X):
                D = (self.X[rows] if cols is None else self.X[rows][:, cols]).toarray()
            else:  # only the block asked for, never the queries' whole rows
                D = self.X[rows] if cols is None else self.X[np.ix_(rows, cols)]
            return np.asarray(D, dtype=np.float64)
        Y = self.X if cols is None else self.X[cols]
        D = pairwise_distances(self.X[rows], Y, metric=self.metric, n_jobs=self.n_jobs, **self.kwds)
        D = np.asarray(D, dtype=np.float64)
        if isinstance(self.metric, str):
            # As scikit-learn computes the distances of X to itself (pdist, or the
            # functions' X-is-Y case): a row is 0 from itself, not rounding noise
            # (nor 1 for an all-zero row under cosine).  Callables are asked, as there.
            if cols is None:
                D[np.arange(len(rows)), rows] = 0.0
            else:
                order = np.argsort(cols, kind="stable")
                at = np.clip(np.searchsorted(cols, rows, sorter=order), 0, len(cols) - 1)
                hit = np.flatnonzero(cols[order[at]] == rows)
                D[hit, order[at[hit]]] = 0.0
        return D

    def query_blocks(self, queries: np.ndarray, n_cols: int, extra_per_row: int = 0) -> Iterator[np.ndarray]:
        """``queries`` cut into blocks whose distance rows (``n_cols`` each) fit the working memory."""
        # Per query: its distance row, and as much again for the metric's temporaries.
        step = rows_per_block(2 * 8 * n_cols + extra_per_row, len(queries))
        for a in range(0, len(queries), step):
            yield queries[a : a + step]

    def label_sums(self, queries: np.ndarray, codes: np.ndarray, n_codes: int, cols: np.ndarray | None = None) -> np.ndarray:
        """(q × n_codes) sums of the distances from each query to the rows (``cols``, or all) of each code."""
        one_hot = indicator(codes, n_codes)
        n_cols = self.n if cols is None else len(cols)
        out = np.empty((len(queries), n_codes))
        a = 0
        for block in self.query_blocks(queries, n_cols, extra_per_row=8 * n_codes):
            out[a : a + len(block)] = np.asarray(self.block(block, cols) @ one_hot)
            a += len(block)
        return out


def indicator(codes: np.ndarray, n_codes: int) -> sp.csr_matrix:
    """The (len(codes) × n_codes) sparse one-hot matrix of ``codes``: summing a block per code is one product."""
    m = len(codes)
    return sp.csr_matrix(
        (np.ones(m), np.asarray(codes, dtype=np.int64), np.arange(m + 1, dtype=np.int64)), shape=(m, n_codes)
    )


def check_precomputed_distances(D: Any) -> None:
    """scikit-learn's checks of a precomputed matrix for the silhouette: square, zero diagonal."""
    if D.shape[0] != D.shape[1]:
        raise ValueError(
            f"With metric='precomputed', X must be a square matrix of distances (n_samples, n_samples); "
            f"got shape {D.shape}. Pass the distances between every pair of samples, or the features "
            "themselves with another metric."
        )
    data = D.data if sp.issparse(D) else D
    if data.size and data.min() < 0:
        raise ValueError(
            "Negative values in data passed to the precomputed distance matrix: distances must be >= 0 "
            f"(smallest: {data.min()!r}). Check how the matrix was built."
        )
    diagonal = np.asarray(D.diagonal())
    atol = np.finfo(D.dtype).eps * 100 if D.dtype.kind == "f" else 0
    bad = np.flatnonzero(np.abs(diagonal) > atol)
    if bad.size:
        raise ValueError(
            "The precomputed distance matrix contains non-zero elements on the diagonal "
            f"({bad.size} of them, e.g. X[{bad[0]}, {bad[0]}] = {diagonal[bad[0]]!r}; at most {atol:.3g} "
            "is taken as 0): a sample's distance to itself must be 0. Use np.fill_diagonal(X, 0)."
        )


def data_params(X: Any, metric: Any, kwds: dict) -> dict:
    """The metric parameters scikit-learn derives from the data when not given (its ``_precompute_metric_params``)."""
    if metric == "seuclidean" and "V" not in kwds:
        return {"V": np.var(X, axis=0, ddof=1)}
    if metric == "mahalanobis" and "VI" not in kwds:
        return {"VI": np.linalg.inv(np.cov(np.asarray(X).T)).T}
    return {}


def split_kwds(kwds: dict) -> tuple[dict, int | None, float | None]:
    """``(metric keywords, n_jobs, working_memory)``: the last two are ``pairwise_distances_chunked``'s own."""
    kwds = dict(kwds)
    return kwds, kwds.pop("n_jobs", None), kwds.pop("working_memory", None)


#: Sparse rows of at most this many features run the Euclidean kernels, densified a
#: block of rows at a time (d multiply-adds per pair beat scikit-learn's sparse
#: products and their n-wide blocks), with the same numbers as the dense input;
#: wider sparse rows (text) take scikit-learn's sparse distances.
SPARSE_KERNEL_MAX_FEATURES = 64


def uses_kernels(X: Any, metric: Any, kwds: dict) -> bool:
    """Whether the fast Euclidean kernels run: Euclidean, no metric keywords, dense (or narrow sparse) rows."""
    if not (isinstance(metric, str) and metric in EUCLIDEAN and not kwds):
        return False
    return not sp.issparse(X) or X.shape[1] <= SPARSE_KERNEL_MAX_FEATURES


def require_host(X: Any, metric: Any, caller: str) -> None:
    """Other metrics and precomputed distances run on NumPy (or SciPy sparse) data only: else a ``TypeError``."""
    from ...backends import backend_name_of

    name = backend_name_of(X)
    if name == "numpy":
        return
    kind = {"cupy": "a CuPy array", "dask[numpy]": "a Dask array", "dask[cupy]": "a Dask array of CuPy chunks"}
    what = getattr(metric, "__name__", repr(metric)) if callable(metric) else repr(metric)
    raise TypeError(
        f"{caller}(metric={what}) runs on NumPy (or SciPy sparse) data only; X is {kind.get(str(name), name)}. "
        "Use metric='euclidean' (every backend, without metric keywords), or bring X to the host first "
        "(X.get() for CuPy, X.compute() for Dask)."
    )
