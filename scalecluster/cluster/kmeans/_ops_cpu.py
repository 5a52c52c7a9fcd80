"""The KMeans operations on the NumPy backend: numba kernels for dense rows, SciPy for CSR.

Everything not listed here is the generic blocked implementation of
:class:`~._ops_generic.GenericOps`.  Dense rows go through the fused kernels
of :mod:`._kernels_cpu`, run over contiguous row ranges on the shared thread
pool (the kernels release the GIL).  Sums from the ranges are added up in
range order, so a result depends on the thread count only through the order
of float64 additions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..._common.centred import CentredPoints
from ..._common.parallel import run_ranges
from . import _kernels_cpu as kernels
from ._ops import Accumulated, NearestState
from ._ops_generic import GenericOps

#: Below this many rows per thread, starting threads costs more than it saves.
_MIN_ROWS_PER_THREAD = 8192


class _KernelCentres:
    """Centres laid out for :mod:`._kernels_cpu` (see its docstring)."""

    def __init__(self, centers: np.ndarray, dtype: np.dtype) -> None:
        prepared = CentredPoints.of(centers)
        self.k, self.d = prepared.points.shape
        self.centers = prepared.points
        self.shift, self.centers_t, self.norms = prepared.kernel_operands(dtype)


class CpuOps(GenericOps):
    """KMeans on NumPy arrays (dense, or SciPy CSR)."""

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

    # --- dense: the fused numba kernels --------------------------------------
    def _sweep(
        self, X: Any, weights: Any, centers: np.ndarray, want_labels: bool, want_inertia: bool = True
    ) -> tuple[Any, Accumulated]:
        if sp.issparse(X):
            return super()._sweep(X, weights, centers, want_labels, want_inertia)
        kc = _KernelCentres(centers, X.dtype)
        labels = np.empty(X.shape[0], dtype=np.int32)

        def work(start: int, stop: int) -> Accumulated:
            sums = np.zeros((kc.k, kc.d))
            weight_sums = np.zeros(kc.k)
            inertia = kernels.assign_rows(
                X[start:stop], weights[start:stop], kc.shift, kc.centers_t, kc.norms, kc.centers,
                labels[start:stop], sums, weight_sums, want_labels, True, want_inertia,
            )
            return Accumulated(sums, weight_sums, inertia)

        parts = run_ranges(X.shape[0], work, min_per_thread=_MIN_ROWS_PER_THREAD)
        return (labels if want_labels else None), Accumulated.total(parts)

    def labels(self, X: Any, centers: np.ndarray) -> Any:
        if sp.issparse(X):
            return super().labels(X, centers)
        kc = _KernelCentres(centers, X.dtype)
        labels = np.empty(X.shape[0], dtype=np.int32)
        ones = np.ones(X.shape[0])
        dummy_sums, dummy_weights = np.zeros((kc.k, kc.d)), np.zeros(kc.k)
        run_ranges(
            X.shape[0],
            lambda a, b: kernels.assign_rows(
                X[a:b], ones[a:b], kc.shift, kc.centers_t, kc.norms, kc.centers,
                labels[a:b], dummy_sums, dummy_weights, True, False, False,
            ),
            min_per_thread=_MIN_ROWS_PER_THREAD,
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
        kc = _KernelCentres(centers, X.dtype)
        parts = run_ranges(
            n,
            lambda a, b: kernels.update_nearest_rows(
                X[a:b], weights[a:b], kc.shift, kc.centers_t, kc.norms, kc.centers,
                offset, min_sq[a:b], nearest[a:b],
            ),
            min_per_thread=_MIN_ROWS_PER_THREAD,
        )
        return NearestState((min_sq, nearest), float(sum(parts)))
