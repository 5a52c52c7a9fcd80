"""The NumPy backend: dense data through numba kernels, sparse CSR through SciPy.

Everything not listed here is the generic blocked implementation of
:class:`~scalecluster.backends._generic.ArrayBackend`.  Dense rows go through
the fused kernels of :mod:`._numpy_kernels`, run over contiguous row ranges on
a thread pool (the kernels release the GIL).  Sums from the ranges are added
up in range order, so a result depends on the thread count only through the
order of float64 additions.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .._config import effective_n_threads
from . import _numpy_kernels as kernels
from ._base import Accumulated, NearestState
from ._generic import ArrayBackend

#: Below this many rows per thread, starting threads costs more than it saves.
_MIN_ROWS_PER_THREAD = 8192

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _thread_pool(n_threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != n_threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(n_threads, thread_name_prefix="scalecluster")
            _pool_size = n_threads
        return _pool


def _run_ranges(n: int, work: Callable[[int, int], Any]) -> list[Any]:
    """Run ``work(start, stop)`` over contiguous row ranges; results in range order."""
    n_ranges = max(1, min(effective_n_threads(), n // _MIN_ROWS_PER_THREAD))
    bounds = np.linspace(0, n, n_ranges + 1).astype(np.int64)
    ranges = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
    if n_ranges == 1:
        return [work(*ranges[0])]
    return list(_thread_pool(n_ranges).map(lambda r: work(*r), ranges))


class _KernelCenters:
    """Centres laid out for :mod:`._numpy_kernels` (see its docstring)."""

    def __init__(self, centers: np.ndarray, dtype: np.dtype) -> None:
        c64 = np.ascontiguousarray(centers, dtype=np.float64)
        shift = c64.mean(axis=0)
        shifted = c64 - shift
        self.k, self.d = c64.shape
        self.centers = c64
        self.shift = shift.astype(dtype)
        self.centers_t = np.ascontiguousarray((-2.0 * shifted).T, dtype=dtype)
        self.norms = (shifted**2).sum(axis=1).astype(dtype)


class NumpyBackend(ArrayBackend):
    """In-memory NumPy arrays (dense, or SciPy CSR)."""

    def __init__(self) -> None:
        super().__init__(np, "numpy")

    # --- sparse CSR: SciPy's sparse products in place of the dense GEMM -------
    def _nearest_block(self, Xb: Any, prepared: Any) -> tuple[Any, Any]:
        if not sp.issparse(Xb):
            return super()._nearest_block(Xb, prepared)
        # No shift here: subtracting it would densify the rows.
        centers = prepared.centers64
        scores = (centers**2).sum(axis=1)[None, :] - 2 * np.asarray(Xb @ centers.T)
        labels = np.argmin(scores, axis=1).astype(np.int32)
        row_norms = np.asarray(Xb.multiply(Xb).sum(axis=1)).ravel()
        d2 = np.maximum(row_norms + scores[np.arange(len(labels)), labels], 0.0)
        return labels, d2

    def _block_sums(self, Xb: Any, labels: Any, wb: Any, k: int) -> tuple[Any, Any]:
        if not sp.issparse(Xb):
            return super()._block_sums(Xb, labels, wb, k)
        indicator = sp.csr_matrix((wb, (labels, np.arange(len(labels)))), shape=(k, len(labels)))
        return np.asarray((indicator @ Xb).todense()), np.bincount(labels, weights=wb, minlength=k)

    def distances(self, X: Any, centers: np.ndarray) -> Any:
        if sp.issparse(X):
            from sklearn.metrics.pairwise import euclidean_distances

            return euclidean_distances(X, centers.astype(X.dtype))
        return super().distances(X, centers)

    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        if sp.issparse(X):
            return X[indices].toarray().astype(np.float64)
        return super().take_rows(X, indices)

    def describe(
        self, X: Any, weights: Any, need_variance: bool = True, persist: bool = True
    ) -> tuple[Any, Any, bool, float]:
        # Finiteness was checked at the door (sklearn's check_array).
        if not need_variance:
            return X, weights, True, float("nan")
        if sp.issparse(X):
            from sklearn.utils.sparsefuncs import mean_variance_axis

            return X, weights, True, float(mean_variance_axis(X, axis=0)[1].mean())
        return super().describe(X, weights, need_variance, persist)  # in row blocks: no copy of X

    # --- dense: the fused numba kernels --------------------------------------
    def _sweep(
        self, X: Any, weights: Any, centers: np.ndarray, want_labels: bool, want_inertia: bool = True
    ) -> tuple[Any, Accumulated]:
        if sp.issparse(X):
            return super()._sweep(X, weights, centers, want_labels, want_inertia)
        kc = _KernelCenters(centers, X.dtype)
        labels = np.empty(X.shape[0], dtype=np.int32)

        def work(start: int, stop: int) -> Accumulated:
            sums = np.zeros((kc.k, kc.d))
            weight_sums = np.zeros(kc.k)
            inertia = kernels.assign_rows(
                X[start:stop], weights[start:stop], kc.shift, kc.centers_t, kc.norms, kc.centers,
                labels[start:stop], sums, weight_sums, want_labels, True, want_inertia,
            )
            return Accumulated(sums, weight_sums, inertia)

        return (labels if want_labels else None), Accumulated.total(_run_ranges(X.shape[0], work))

    def labels(self, X: Any, centers: np.ndarray) -> Any:
        if sp.issparse(X):
            return super().labels(X, centers)
        kc = _KernelCenters(centers, X.dtype)
        labels = np.empty(X.shape[0], dtype=np.int32)
        ones = np.ones(X.shape[0])
        dummy_sums, dummy_weights = np.zeros((kc.k, kc.d)), np.zeros(kc.k)
        _run_ranges(
            X.shape[0],
            lambda a, b: kernels.assign_rows(
                X[a:b], ones[a:b], kc.shift, kc.centers_t, kc.norms, kc.centers,
                labels[a:b], dummy_sums, dummy_weights, True, False, False,
            ),
        )
        return labels

    def update_nearest(
        self, X: Any, weights: Any, state: NearestState | None, centers: np.ndarray, offset: int
    ) -> NearestState:
        if sp.issparse(X):
            return super().update_nearest(X, weights, state, centers, offset)
        n = X.shape[0]
        if state is None:
            min_sq, nearest = np.full(n, np.inf), np.full(n, -1, dtype=np.int32)
        else:
            min_sq, nearest = state.rows
        kc = _KernelCenters(centers, X.dtype)
        parts = _run_ranges(
            n,
            lambda a, b: kernels.update_nearest_rows(
                X[a:b], weights[a:b], kc.shift, kc.centers_t, kc.norms, kc.centers,
                offset, min_sq[a:b], nearest[a:b],
            ),
        )
        return NearestState((min_sq, nearest), float(sum(parts)))
