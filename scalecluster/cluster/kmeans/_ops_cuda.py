"""The KMeans operations on a GPU: the fused kernel of :mod:`._kernels_cuda` for the hot loop.

Everything that is not a sweep over the rows against the centres (drawing
rows, the farthest rows for empty clusters, ``transform``'s n × k output)
is the generic array-module code of :class:`~._ops_generic.GenericOps`,
which runs on CuPy as it is.  What is replaced here is the loop that
dominates a fit: the E-step with its sums (one kernel launch, then one
reduction of the blocks' partial sums), ``predict``, and the seedings'
"nearest new centre" update.

The array module comes from the backend (``xp``): CuPy on a GPU; in tests
without one, NumPy arrays go through numba's CUDA simulator unchanged.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from ..._common.centred import CentredPoints
from ..._config import rows_per_block
from ._ops import Accumulated, NearestState
from ._ops_generic import GenericOps

_LABELS, _SUMS, _INERTIA, _SQ, _CHANGES = 1, 2, 4, 8, 16


def _device_blocks(n: int) -> int:
    """Blocks for ``n`` rows: enough to fill the device a few times over, never idle threads."""
    from numba import cuda

    from ._kernels_cuda import RUN, THREADS

    try:
        sms = int(cuda.get_current_device().MULTIPROCESSOR_COUNT)
    except Exception:  # the simulator has no such attribute
        sms = 2
    return max(1, min(4 * sms, -(-n // (THREADS * RUN))))


class CudaOps(GenericOps):
    """KMeans on in-memory GPU arrays through one fused CUDA kernel per sweep."""

    def _launch(
        self, X: Any, weights: Any, centers: np.ndarray, flags: int, labels: Any = None, sq_dist: Any = None
    ) -> Accumulated:
        """Run the fused kernel once over ``X``; returns the reduced sums and inertia (host)."""
        from . import _kernels_cuda as kernels

        xp = self.xp
        n, d = X.shape
        k = centers.shape[0]
        prepared = CentredPoints.of(centers)
        shift, centers_t, norms = (xp.asarray(a) for a in prepared.kernel_operands(X.dtype))
        centers64 = xp.asarray(prepared.points)
        shared = kernels.sums_in_shared(k, d)
        n_blocks = _device_blocks(n)
        if flags & _SUMS and not shared:
            # Global partials: one (k, d) slab per block, capped by the working-memory budget.
            n_blocks = max(1, min(n_blocks, rows_per_block(k * (d + 1) * 8, n_blocks)))
        per_block = -(-n // n_blocks)
        want_partials = bool(flags & _SUMS)
        partial = xp.zeros((n_blocks, k, d) if want_partials else (1, 1, 1), dtype=xp.float64)
        partial_w = xp.zeros((n_blocks, k) if want_partials else (1, 1), dtype=xp.float64)
        partial_inertia = xp.zeros(n_blocks, dtype=xp.float64)
        partial_changed = xp.zeros(n_blocks, dtype=xp.int64)
        labels = xp.empty(1, dtype=xp.int32) if labels is None else labels
        sq_dist = xp.empty(1, dtype=xp.float64) if sq_dist is None else sq_dist
        kernel = kernels.nearest_kernel(d, np.dtype(X.dtype).name, shared)
        dynamic = k * (d + 1) * 8 if shared else 0
        kernel[n_blocks, kernels.THREADS, 0, dynamic](
            X, weights, shift, centers_t, norms, centers64, per_block,
            labels, sq_dist, partial, partial_w, partial_inertia, partial_changed, flags,
        )
        inertia = float(self.to_host(partial_inertia.sum())) if flags & _INERTIA else 0.0
        changed = int(self.to_host(partial_changed.sum())) if flags & _CHANGES else None
        if not want_partials:
            return Accumulated(np.zeros((k, d)), np.zeros(k), inertia, changed)
        # One reduction over the blocks, in block order on the device.
        return Accumulated(self.to_host(partial.sum(axis=0)), self.to_host(partial_w.sum(axis=0)), inertia, changed)

    @contextmanager
    def sweeps(self, X: Any, weights: Any) -> Iterator[Callable[..., Accumulated]]:
        """Lloyd's sweeps, each also counting the rows whose label changed (for strict convergence).

        One int32 label per row is kept on the device for the duration.
        """
        labels = self.xp.full(X.shape[0], -1, dtype=self.xp.int32)

        def sweep(centers: np.ndarray, want_inertia: bool = True) -> Accumulated:
            flags = _SUMS | _LABELS | _CHANGES | (_INERTIA if want_inertia else 0)
            return self._launch(X, weights, centers, flags, labels=labels)

        yield sweep

    def _sweep(
        self, X: Any, weights: Any, centers: np.ndarray, want_labels: bool, want_inertia: bool = True
    ) -> tuple[Any, Accumulated]:
        labels = self.xp.empty(X.shape[0], dtype=self.xp.int32) if want_labels else None
        flags = _SUMS | (_INERTIA if want_inertia else 0) | (_LABELS if want_labels else 0)
        return labels, self._launch(X, weights, centers, flags, labels=labels)

    def labels(self, X: Any, centers: np.ndarray) -> Any:
        labels = self.xp.empty(X.shape[0], dtype=self.xp.int32)
        self._launch(X, self.xp.ones(1), centers, _LABELS, labels=labels)
        return labels

    def update_nearest(
        self, X: Any, weights: Any, state: NearestState | None, centers: np.ndarray, offset: int
    ) -> NearestState:
        xp = self.xp
        n = X.shape[0]
        lab = xp.empty(n, dtype=xp.int32)
        d2 = xp.empty(n, dtype=xp.float64)
        self._launch(X, weights, centers, _LABELS | _SQ, labels=lab, sq_dist=d2)
        if state is None:
            min_sq, nearest = d2, lab + offset
        else:
            min_sq, nearest = state.rows
            closer = d2 < min_sq
            min_sq = xp.where(closer, d2, min_sq)
            nearest = xp.where(closer, lab + offset, nearest).astype(xp.int32)
        return NearestState((min_sq, nearest), float((weights * min_sq).sum()))
