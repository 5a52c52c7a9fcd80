"""The silhouette's CPU kernel (numba): sums of distances from queries to the rows of each label.

Why numba: the sampled silhouette compares s query rows with all n rows
(s · n distances, e.g. 10^10) and needs, per query, the sum over each label.
With NumPy that is a (queries × block) distance matrix, a square root over it,
and a product with a one-hot matrix per block: three passes over memory for
every distance.  Here the rows are visited in label order (so a tile of rows
holds a few runs of one label, each summed by a plain SIMD reduction), a tile is transposed
once and reused by every query while it sits in L1 cache, and each distance is
computed, square-rooted and summed in registers.

Distances use the expansion ``||x - c||² = ||x||² + ||q||² - 2 <x, q>`` around a
shift (the queries' mean), in the data's dtype; a query's distance to itself
is exactly 0.  The expansion's rounding error is up to about
``(d + 3) · eps · (||x - s||² + ||q - s||²)``: a squared distance below twice
that bound (:func:`._operands.exact_below`) cannot be told from 0 by the expansion, so it
is recomputed from the centred differences — exactly 0 for identical rows
(scikit-learn's silhouette of a cluster of identical points is exactly 1),
and more accurate for near-duplicates.  The flag is a compare inside the
SIMD loop; the recomputation runs only for the (rare) pairs flagged.
"""

from __future__ import annotations

import numba
import numpy as np

from ..._common.tiles import FAST, TILE, add_dot_rows


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def label_distance_sums(
    X,
    order,
    sorted_labels,
    seg_ptr,
    seg_start,
    seg_stop,
    queries_t,
    q_norms,
    shift,
    query_pos,
    tol,
    out,
):
    """Add to ``out[q, label]`` the distances from query ``q`` to the rows of each label.

    The rows are visited in label order, ``TILE`` at a time; a tile may hold
    several runs of one label (segments), each summed as a plain reduction,
    so many small labels do not leave tiles mostly empty.

    Parameters
    ----------
    X : (n, d) float32/float64, the data (rows in any order).
    order : (n,) int64, row indices sorted by label.
    sorted_labels : (n,) int64, the label of each row of ``order``.
    seg_ptr : (t + 1,) int64, tile ``t`` (rows ``t * TILE`` to ``(t + 1) * TILE``
        of ``order``) holds segments ``seg_ptr[t]`` to ``seg_ptr[t + 1]``.
    seg_start, seg_stop : int64, positions in ``order`` of each segment, a run
        of one label inside one tile.
    queries_t : (d, s) ``-2 (q - shift)`` transposed, dtype of ``X``.
    q_norms : (s,) ``||q - shift||²``, dtype of ``X``.
    shift : (d,) dtype of ``X``.
    query_pos : (s,) position of each query's own row in ``order`` (-1 if not in ``X``).
    tol : dtype of ``X``, relative bound of the expansion's rounding (:func:`._operands.exact_below`): a
        squared distance below ``tol * (||x - shift||² + ||q - shift||²)`` is
        recomputed as the sum of the squared differences.
    out : (s, k) float64, accumulated into.
    """
    n, d = X.shape
    s = queries_t.shape[1]
    dtype = queries_t.dtype
    xt = np.zeros((d, TILE), dtype=dtype)
    xn = np.zeros(TILE, dtype=dtype)
    acc = np.empty(TILE, dtype=dtype)
    near = np.zeros(TILE, dtype=np.bool_)
    for t in range(seg_ptr.shape[0] - 1):
        a = t * TILE
        m = min(TILE, n - a)
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
            # Squared distances within the expansion's rounding of 0 are flagged
            # (a compare per pair, in the SIMD loop) and recomputed from the
            # differences: identical rows are exactly 0 apart, not 1e-8.
            flagged = 0
            for r in range(m):
                v = max(acc[r], 0.0)
                small = v <= tol * (xn[r] + qn)
                near[r] = small
                flagged += small
                acc[r] = np.sqrt(v)
            if flagged:
                for r in range(m):
                    if near[r]:
                        # In float64: the difference of two values of the dtype is exact.
                        exact = 0.0
                        for f in range(d):
                            diff = xt[f, r] + 0.5 * queries_t[f, q]
                            exact += diff * diff
                        acc[r] = np.sqrt(exact)
            for g in range(seg_ptr[t], seg_ptr[t + 1]):
                total = 0.0
                for r in range(seg_start[g] - a, seg_stop[g] - a):
                    total += acc[r]
                out[q, sorted_labels[seg_start[g]]] += total
            own = query_pos[q] - a
            if 0 <= own < m:
                out[q, sorted_labels[a + own]] -= acc[own]
    return out


@numba.njit(nogil=True, cache=True)
def leave_group_out(sums, total, group_counts, total_counts, own, self_pos, alone, out):
    """The silhouette of every query with each jackknife group of the reference left out.

    The sampled estimator's reference error (:mod:`._sampled`) needs, for every
    group ``g`` and query ``i``, the silhouette computed from the distance sums
    without the group's rows: (groups × queries × k) divisions.  These are host
    arrays whatever the data's backend.  One pass, with no (groups × queries × k)
    temporaries; every operation is the one of
    :func:`._exact.silhouettes_from` on the same numbers (IEEE division and
    compares, no fast-math), so the values are the same to the bit, NaN and
    infinities included (as ``np.nan_to_num`` maps them).

    Parameters
    ----------
    sums : (q, G + 1, k) float64, the distance sums per group (``G``: taken whole) and label.
    total : (q, k) float64, ``sums`` added over the groups.
    group_counts : (G + 1, k) int64, reference rows per group and label.
    total_counts : (k,) int64, reference rows per label.
    own : (q,) int64, each query's label.
    self_pos : (q,) int64, the group holding the query itself (-1: not in the reference).
    alone : (q,) bool, queries alone in their cluster (they score 0).
    out : (G, q) float64, written.
    """
    q, k = total.shape
    groups = out.shape[0]
    big = np.finfo(np.float64).max
    for i in range(q):
        c0 = own[i]
        for g in range(groups):
            if alone[i]:
                out[g, i] = 0.0
                continue
            n_own = np.float64(total_counts[c0] - group_counts[g, c0])
            if self_pos[i] >= 0 and self_pos[i] != g:
                n_own -= 1.0
            intra = (total[i, c0] - sums[i, g, c0]) / n_own
            inter = np.inf
            for c in range(k):
                if c != c0:
                    m = (total[i, c] - sums[i, g, c]) / np.float64(total_counts[c] - group_counts[g, c])
                    if m < inter or np.isnan(m):
                        inter = m
                        if np.isnan(m):
                            break
            den = intra if intra > inter else inter
            if np.isnan(intra) or np.isnan(inter):
                v = 0.0
            else:
                v = (inter - intra) / den
                if np.isnan(v):
                    v = 0.0
                elif v == np.inf:
                    v = big
                elif v == -np.inf:
                    v = -big
            out[g, i] = v
    return out
