"""KMeans' CPU kernels (numba): the nearest centre of each row, and the sums, in one sweep.

Why numba: assigning n rows to k centres with NumPy alone needs an (rows × k)
distance block, an ``argmin`` over it, and then a scatter-add of every row into
its centre's sum (``np.add.at``), which NumPy cannot vectorise.  Here one loop
does it all: rows are taken in tiles of ``TILE`` rows, transposed so that every
inner loop runs over the rows of the tile (LLVM turns those into SIMD
instructions: FMAs for the distances, compare-and-blend for the running
argmin), then each row is added to its centre's sum in the same sweep.
Nothing of size rows × k is ever allocated; the temporaries are a few tiles.

Every kernel works on one contiguous row range and is compiled
``nogil=True``: :mod:`._ops_cpu` runs ranges on the shared thread pool, and
Dask tasks call the same kernels from their worker threads, so the kernels never
start threads themselves (no nested parallelism, no numba threading layer).

The distance used to *choose* the nearest centre is
``||c - s||^2 - 2 <x - s, c - s>`` with ``s`` a shift (the mean of the
centres): scikit-learn's expansion, but centred, so that a large offset in the
data does not cancel away the precision.  The distance *reported* for the
chosen centre is the exact ``sum((x - c)^2)``, accumulated in float64.
"""

from __future__ import annotations

import numba
import numpy as np

from ..._common.tiles import FAST, TILE, add_dot_rows


@numba.njit(inline="always", fastmath=FAST)
def _tile_nearest(X, start, m, shift, centers_t, centers_norm, xt, acc, best, lab, best_next, lab_next):
    """Fill ``lab[:m]`` with the nearest centre of rows ``start .. start + m``."""
    d = X.shape[1]
    k = centers_t.shape[1]
    for r in range(m):
        for f in range(d):
            xt[f, r] = X[start + r, f] - shift[f]
    for r in range(m, TILE):
        for f in range(d):
            xt[f, r] = 0
    for r in range(TILE):
        best[r] = np.inf
        lab[r] = 0
    for j in range(k):
        c = centers_norm[j]
        for r in range(TILE):
            acc[r] = c
        add_dot_rows(acc, centers_t, j, xt, d)
        # The running argmin reads one pair of buffers and writes the other.
        # Written in place, "keep the old value" lets LLVM turn the store into
        # a masked store, which is very slow on some CPUs (AMD Zen); into a
        # different buffer it stays a blend and a plain store.
        for r in range(TILE):
            a = acc[r]
            b = best[r]
            better = a < b
            best_next[r] = a if better else b
            lab_next[r] = j if better else lab[r]
        best, best_next = best_next, best
        lab, lab_next = lab_next, lab
    if k % 2 == 1:  # the result is in the caller's second pair: copy it back
        for r in range(TILE):
            best_next[r] = best[r]
            lab_next[r] = lab[r]


@numba.njit(inline="always")
def _tile_buffers(d, centers_t):
    """Scratch space of one tile: transposed rows, running scores, two (best, label) pairs."""
    dtype = centers_t.dtype
    return (
        np.empty((d, TILE), dtype=dtype),
        np.empty(TILE, dtype=dtype),
        np.empty(TILE, dtype=dtype),
        np.empty(TILE, dtype=np.int32),
        np.empty(TILE, dtype=dtype),
        np.empty(TILE, dtype=np.int32),
    )


@numba.njit(inline="always")
def _exact_sq_dist(X, i, centers, j):
    s = 0.0
    for f in range(X.shape[1]):
        t = np.float64(X[i, f]) - np.float64(centers[j, f])
        s += t * t
    return s


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def assign_rows(
    X, weights, shift, centers_t, centers_norm, centers, labels, sums, weight_sums, want_labels, want_sums, want_inertia
):
    """Assign each row of ``X`` to its nearest centre.

    Parameters
    ----------
    X : ndarray of shape (b, d), float32 or float64
        A contiguous range of rows.
    weights : ndarray of shape (b,), float64
    shift : ndarray of shape (d,)
        The shift ``s`` (same dtype as ``X``).
    centers_t : ndarray of shape (d, k)
        ``-2 (c - s)``, transposed (same dtype as ``X``).
    centers_norm : ndarray of shape (k,)
        ``||c - s||^2`` (same dtype as ``X``).
    centers : ndarray of shape (k, d), float64
        The centres, for the exact distance.
    labels : ndarray of shape (b,), int32
        Written when ``want_labels``.
    sums : ndarray of shape (k, d), float64
    weight_sums : ndarray of shape (k,), float64
        ``sum(w * x)`` and ``sum(w)`` per centre, accumulated when ``want_sums``.

    Returns
    -------
    inertia : float
        ``sum(w * ||x - c_label||^2)`` over the rows.
    """
    n, d = X.shape
    xt, acc, best, lab, best_next, lab_next = _tile_buffers(d, centers_t)
    inertia = 0.0
    for start in range(0, n, TILE):
        m = min(TILE, n - start)
        _tile_nearest(X, start, m, shift, centers_t, centers_norm, xt, acc, best, lab, best_next, lab_next)
        for r in range(m):
            i = start + r
            j = lab[r]
            w = weights[i]
            if want_inertia:
                inertia += w * _exact_sq_dist(X, i, centers, j)
            if want_labels:
                labels[i] = j
            if want_sums:
                weight_sums[j] += w
                for f in range(d):
                    sums[j, f] += w * X[i, f]
    return inertia


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def update_nearest_rows(X, weights, shift, centers_t, centers_norm, centers, offset, min_sq_dist, nearest):
    """Lower each row's distance to its nearest centre using new centres.

    ``min_sq_dist`` and ``nearest`` hold, for every row, the squared distance to
    and the index of the nearest centre seen so far (``inf`` and ``-1`` before
    the first call); the new centres get indices ``offset .. offset + k - 1``.

    Returns
    -------
    potential : float
        ``sum(w * min_sq_dist)`` after the update.
    """
    n, d = X.shape
    xt, acc, best, lab, best_next, lab_next = _tile_buffers(d, centers_t)
    potential = 0.0
    for start in range(0, n, TILE):
        m = min(TILE, n - start)
        _tile_nearest(X, start, m, shift, centers_t, centers_norm, xt, acc, best, lab, best_next, lab_next)
        for r in range(m):
            i = start + r
            d2 = _exact_sq_dist(X, i, centers, lab[r])
            if d2 < min_sq_dist[i]:
                min_sq_dist[i] = d2
                nearest[i] = offset + lab[r]
            potential += weights[i] * min_sq_dist[i]
    return potential
