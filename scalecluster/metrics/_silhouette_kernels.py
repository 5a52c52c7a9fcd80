"""numba kernel for the NumPy backend: sums of distances from queries to each label.

Why numba: the sampled silhouette compares s query rows with all n rows
(s · n distances, e.g. 10^10) and needs, per query, the sum over each label.
With NumPy that is a (queries × block) distance matrix, a square root over it,
and a product with a one-hot matrix per block: three passes over memory for
every distance.  Here the rows are visited in label order (so a tile of rows
shares one label and its sum is a plain SIMD reduction), a tile is transposed
once and reused by every query while it sits in L1 cache, and each distance is
computed, square-rooted and summed in registers.

Distances use the expansion ``||x - c||² = ||x||² + ||q||² - 2 <x, q>`` around a
shift (the queries' mean), in the data's dtype; a query's distance to itself
is exactly 0.
"""

from __future__ import annotations

import numba
import numpy as np

from ..backends._numpy_kernels import FAST, TILE, add_dot_rows


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def label_distance_sums(X, order, tile_start, tile_stop, tile_label, queries_t, q_norms, shift, query_pos, out):
    """Add to ``out[q, label]`` the distances from query ``q`` to the rows of each label.

    Parameters
    ----------
    X : (n, d) float32/float64, the data (rows in any order).
    order : (n,) int64, row indices sorted by label.
    tile_start, tile_stop, tile_label : (t,) tiles of ``order`` that never
        straddle two labels, and the label of each.
    queries_t : (d, s) ``-2 (q - shift)`` transposed, dtype of ``X``.
    q_norms : (s,) ``||q - shift||²``, dtype of ``X``.
    shift : (d,) dtype of ``X``.
    query_pos : (s,) position of each query's own row in ``order`` (-1 if not in ``X``).
    out : (s, k) float64, accumulated into.
    """
    n, d = X.shape
    s = queries_t.shape[1]
    dtype = queries_t.dtype
    xt = np.zeros((d, TILE), dtype=dtype)
    xn = np.zeros(TILE, dtype=dtype)
    acc = np.empty(TILE, dtype=dtype)
    for t in range(tile_start.shape[0]):
        a, b = tile_start[t], tile_stop[t]
        m = b - a
        label = tile_label[t]
        for r in range(m):
            row = order[a + r]
            norm = 0.0
            for f in range(d):
                v = X[row, f] - shift[f]
                xt[f, r] = v
                norm += v * v
            xn[r] = norm
        for q in range(s):
            qn = q_norms[q]
            for r in range(TILE):
                acc[r] = xn[r] + qn
            add_dot_rows(acc, queries_t, q, xt, d)
            total = 0.0
            for r in range(m):
                total += np.sqrt(max(acc[r], 0.0))
            own = query_pos[q] - a
            if 0 <= own < m:
                total -= np.sqrt(max(acc[own], 0.0))
            out[q, label] += total
    return out
