"""The KMeans operations for any in-memory array module with NumPy's API (what CuPy runs).

Each row block computes its (rows × k) distance block with one GEMM, which
is what a GPU is good at, then an ``argmin`` and the per-centre sums.  The
block size comes from the working-memory budget
(:func:`scalecluster._config.rows_per_block`), so no step holds more than one
block's temporaries and nothing of size n × k exists at once.

The NumPy backend reuses this class and replaces the hot loops with numba
kernels (:mod:`._ops_cpu`); running this class on NumPy arrays is how the
tests check the code path CuPy takes.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..._common.centred import CentredPoints
from ..._config import ELEMENTWISE_MAX_ROWS, rows_per_block
from ...backends._random import row_uniforms
from ._ops import Accumulated, KMeansOps, NearestState


class _DeviceCentres:
    """Centres in the form the distance blocks need, on the data's device."""

    def __init__(self, xp: Any, centers: np.ndarray, dtype: Any) -> None:
        prepared = CentredPoints.of(centers)
        shift, minus_two_t, norms = prepared.kernel_operands(dtype)
        self.k = prepared.k
        self.centers64 = xp.asarray(prepared.points)
        self.shift = xp.asarray(shift)
        self.minus_two_t = xp.asarray(minus_two_t)
        self.norms = xp.asarray(norms)


class GenericOps(KMeansOps):
    """KMeans operations in row blocks of GEMMs, for the array module of the backend."""

    @property
    def xp(self) -> Any:
        return self.backend.xp

    def to_host(self, a: Any) -> np.ndarray:
        return self.backend.to_host(a)

    # --- blocks ----------------------------------------------------------------
    def _blocks(self, X: Any, k: int) -> Iterator[tuple[int, int]]:
        n, d = X.shape
        # Per row: the distance row (k) and weighted one-hot row (k) in float64,
        # the shifted row and its float64 copy (d each).
        step = rows_per_block((2 * k + 2 * d) * 8, n)
        for start in range(0, n, step):
            yield start, min(start + step, n)

    def _row_ranges(self, n: int, bytes_per_row: int) -> list[tuple[int, int]]:
        step = rows_per_block(bytes_per_row, n, max_rows=ELEMENTWISE_MAX_ROWS)
        return [(start, min(start + step, n)) for start in range(0, n, step)]

    def _nearest_block(self, Xb: Any, prepared: _DeviceCentres) -> tuple[Any, Any]:
        """Nearest centre (int32) and the exact squared distance to it (float64)."""
        xp = self.xp
        scores = prepared.norms[None, :] + (Xb - prepared.shift) @ prepared.minus_two_t
        labels = xp.argmin(scores, axis=1).astype(xp.int32)
        diff = Xb.astype(xp.float64) - prepared.centers64[labels]
        return labels, (diff * diff).sum(axis=1)

    def _block_sums(self, Xb: Any, labels: Any, wb: Any, k: int) -> tuple[Any, Any]:
        xp = self.xp
        one_hot = xp.where(labels[:, None] == xp.arange(k)[None, :], wb[:, None], 0.0)
        return one_hot.T @ Xb.astype(xp.float64), one_hot.sum(axis=0)

    def _sweep(
        self, X: Any, weights: Any, centers: np.ndarray, want_labels: bool, want_inertia: bool = True
    ) -> tuple[Any, Accumulated]:
        # The inertia costs little next to the GEMM here, so it is always computed.
        xp = self.xp
        prepared = _DeviceCentres(xp, centers, X.dtype)
        k, d = centers.shape
        sums = xp.zeros((k, d), dtype=xp.float64)
        weight_sums = xp.zeros(k, dtype=xp.float64)
        inertia = xp.zeros((), dtype=xp.float64)
        labels = xp.empty(X.shape[0], dtype=xp.int32) if want_labels else None
        for start, stop in self._blocks(X, k):
            wb = weights[start:stop]
            lab, d2 = self._nearest_block(X[start:stop], prepared)
            s, ws = self._block_sums(X[start:stop], lab, wb, k)
            sums += s
            weight_sums += ws
            inertia += (wb * d2).sum()
            if want_labels:
                labels[start:stop] = lab
        return labels, Accumulated(self.to_host(sums), self.to_host(weight_sums), float(inertia))

    # --- Lloyd ---------------------------------------------------------------
    def accumulate(self, X: Any, weights: Any, centers: np.ndarray, want_inertia: bool = True) -> Accumulated:
        return self._sweep(X, weights, centers, want_labels=False, want_inertia=want_inertia)[1]

    def assign(self, X: Any, weights: Any, centers: np.ndarray) -> tuple[Any, Accumulated]:
        return self._sweep(X, weights, centers, want_labels=True)

    def labels(self, X: Any, centers: np.ndarray) -> Any:
        xp = self.xp
        prepared = _DeviceCentres(xp, centers, X.dtype)
        labels = xp.empty(X.shape[0], dtype=xp.int32)
        for start, stop in self._blocks(X, prepared.k):
            labels[start:stop] = self._nearest_block(X[start:stop], prepared)[0]
        return labels

    def distances(self, X: Any, centers: np.ndarray) -> Any:
        xp = self.xp
        prepared = _DeviceCentres(xp, centers, X.dtype)
        out = xp.empty((X.shape[0], prepared.k), dtype=X.dtype)
        for start, stop in self._blocks(X, prepared.k):
            shifted = X[start:stop] - prepared.shift
            sq = (shifted * shifted).sum(axis=1)[:, None] + prepared.norms[None, :] + shifted @ prepared.minus_two_t
            block = xp.sqrt(xp.maximum(sq, 0))
            # The expansion above loses the digits that cancel; the distance to
            # the nearest centre, the one that matters most, is measured exactly
            # (so a row equal to a centre, a centre itself, is at distance 0).
            nearest = xp.argmin(sq, axis=1)
            diff = X[start:stop].astype(xp.float64) - prepared.centers64[nearest]
            block[xp.arange(stop - start), nearest] = xp.sqrt((diff * diff).sum(axis=1))
            out[start:stop] = block
        return out

    def farthest(self, X: Any, weights: Any, centers: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Row block by row block, keeping the m farthest of each: the per-row
        # distances of the whole data are never held at once.
        xp = self.xp
        index, dist, owner = [], [], []
        for start, stop in self._row_ranges(X.shape[0], 3 * 8):
            min_sq, nearest = self.update_nearest(X[start:stop], weights[start:stop], None, centers, 0).rows
            far = xp.argpartition(-min_sq, m - 1)[:m] if m < stop - start else xp.arange(stop - start)
            index.append(self.to_host(far) + start)
            dist.append(self.to_host(min_sq[far]))
            owner.append(self.to_host(nearest[far]))
        if not index:  # no rows (an empty block of a Dask array)
            return np.empty((0, X.shape[1])), np.empty(0, dtype=np.int32), np.empty(0)
        index, dist, owner = np.concatenate(index), np.concatenate(dist), np.concatenate(owner)
        order = np.lexsort((index, -dist))[:m]  # farthest first; ties by row order
        chosen = index[order]
        return self.take_rows(X, chosen), owner[order], self.to_host(weights[xp.asarray(chosen)])

    # --- seeding -----------------------------------------------------------------
    def update_nearest(
        self, X: Any, weights: Any, state: NearestState | None, centers: np.ndarray, offset: int
    ) -> NearestState:
        xp = self.xp
        n = X.shape[0]
        if state is None:
            min_sq, nearest = xp.full(n, xp.inf), xp.full(n, -1, dtype=xp.int32)
        else:
            min_sq, nearest = state.rows
        prepared = _DeviceCentres(xp, centers, X.dtype)
        for start, stop in self._blocks(X, prepared.k):
            lab, d2 = self._nearest_block(X[start:stop], prepared)
            closer = d2 < min_sq[start:stop]
            min_sq[start:stop] = xp.where(closer, d2, min_sq[start:stop])
            nearest[start:stop] = xp.where(closer, lab + offset, nearest[start:stop])
        return NearestState((min_sq, nearest), float((weights * min_sq).sum()))

    def sample_rows(
        self, X: Any, weights: Any, state: NearestState | None, size: int, rng: np.random.RandomState
    ) -> np.ndarray:
        # Two levels, so that no temporary has a value per row: the total of
        # each row block, then a cumulative sum inside the blocks drawn from.
        xp = self.xp
        ranges = self._row_ranges(X.shape[0], 3 * 8)

        def values(start: int, stop: int) -> Any:
            w = weights[start:stop]
            return w if state is None else w * state.rows[0][start:stop]

        totals = np.array([float(values(a, b).sum()) for a, b in ranges])
        cumulative = np.cumsum(totals)
        targets = rng.uniform(size=size) * cumulative[-1]
        last = int(np.flatnonzero(totals > 0)[-1]) if np.any(totals > 0) else len(ranges) - 1
        which = np.minimum(np.searchsorted(cumulative, targets, side="right"), last)
        picks = np.empty(size, dtype=np.int64)
        for i in np.unique(which):
            start, stop = ranges[i]
            local = targets[which == i] - (cumulative[i - 1] if i > 0 else 0.0)
            block = values(start, stop)
            found = self.to_host(xp.searchsorted(xp.cumsum(block), xp.asarray(local), side="right"))
            over = found >= stop - start
            if over.any():  # a target rounded up to the total: the last row with any mass
                positive = xp.nonzero(block > 0)[0]
                found[over] = int(positive[-1]) if positive.size else stop - start - 1
            picks[which == i] = start + found
        return picks

    def bernoulli_rows(
        self, X: Any, weights: Any, state: NearestState, scale: float, seed: int, stream: int, row_offset: int = 0
    ) -> np.ndarray:
        return self.bernoulli_candidates(X, weights, state, scale, seed, stream, row_offset)[0]

    def bernoulli_candidates(
        self, X: Any, weights: Any, state: NearestState, scale: float, seed: int, stream: int, row_offset: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`bernoulli_rows`, with each kept row's uniform draw, weight and squared distance (host float64).

        A row is kept when ``u < scale * w * d²``, which only grows with
        ``scale``: the rows kept with a larger scale hold those kept with a
        smaller one, and the values returned let the caller apply the smaller
        scale exactly (the same float64 operations) without another pass.
        """
        xp = self.xp
        kept, draws, kept_w, kept_d2 = [], [], [], []
        for start, stop in self._row_ranges(X.shape[0], 3 * 8):
            u = xp.asarray(row_uniforms(seed, stream, row_offset + start, row_offset + stop))
            w, d2 = weights[start:stop], state.rows[0][start:stop]
            local = xp.nonzero(u < scale * w * d2)[0]
            kept.append(self.to_host(local).astype(np.int64) + row_offset + start)
            if local.shape[0]:
                draws.append(self.to_host(u[local]))
                kept_w.append(self.to_host(w[local]))
                kept_d2.append(self.to_host(d2[local]))
        empty = np.empty(0, dtype=np.float64)
        return (
            np.concatenate(kept) if kept else np.empty(0, dtype=np.int64),
            *(np.concatenate(v).astype(np.float64, copy=False) if v else empty for v in (draws, kept_w, kept_d2)),
        )

    def weight_per_nearest(self, weights: Any, state: NearestState, n_centers: int) -> np.ndarray:
        counts = self.xp.bincount(state.rows[1], weights=weights, minlength=n_centers)
        return self.to_host(counts).astype(np.float64)
