"""Tile helpers of the numba CPU distance kernels (KMeans, the silhouette).

The CPU kernels take rows in tiles of ``TILE`` rows, transposed so that every
inner loop runs over the rows of the tile: LLVM turns those loops into SIMD
instructions (FMAs for the distances, compare-and-blend for running minima).
:func:`add_dot_rows` is the dot product of one point against every row of a
tile, shared by the KMeans assignment and the silhouette's distance sums.
"""

from __future__ import annotations

import numba

#: Rows per tile: small enough that a transposed tile (d × TILE) and the running
#: distances stay in L1/L2 cache, large enough for long SIMD loops.  A property of
#: the CPU, not of the data, so a constant; memory use per call is a few tiles.
TILE = 256

#: LLVM may fuse multiply-adds and reorder sums, but not assume away NaN or
#: infinity: the running minimum starts at +inf.  These flags apply to every
#: kernel, since ``inline="always"`` helpers take the flags of their caller.
FAST = {"contract", "reassoc", "nsz", "arcp"}


@numba.njit(inline="always", fastmath=FAST)
def add_dot_rows(acc, coef_t, col, xt, d):
    """``acc[r] += sum_f coef_t[f, col] * xt[f, r]`` for every row ``r`` of a tile.

    Eight (then four, then one) features per sweep: several FMAs for each load
    and store of ``acc``, which would otherwise bound the loop.
    """
    f = 0
    while f + 8 <= d:
        a0 = coef_t[f, col]
        a1 = coef_t[f + 1, col]
        a2 = coef_t[f + 2, col]
        a3 = coef_t[f + 3, col]
        a4 = coef_t[f + 4, col]
        a5 = coef_t[f + 5, col]
        a6 = coef_t[f + 6, col]
        a7 = coef_t[f + 7, col]
        x0 = xt[f]
        x1 = xt[f + 1]
        x2 = xt[f + 2]
        x3 = xt[f + 3]
        x4 = xt[f + 4]
        x5 = xt[f + 5]
        x6 = xt[f + 6]
        x7 = xt[f + 7]
        for r in range(TILE):
            acc[r] += (a0 * x0[r] + a1 * x1[r] + a2 * x2[r] + a3 * x3[r]) + (
                a4 * x4[r] + a5 * x5[r] + a6 * x6[r] + a7 * x7[r]
            )
        f += 8
    while f + 4 <= d:
        a0 = coef_t[f, col]
        a1 = coef_t[f + 1, col]
        a2 = coef_t[f + 2, col]
        a3 = coef_t[f + 3, col]
        x0 = xt[f]
        x1 = xt[f + 1]
        x2 = xt[f + 2]
        x3 = xt[f + 3]
        for r in range(TILE):
            acc[r] += a0 * x0[r] + a1 * x1[r] + a2 * x2[r] + a3 * x3[r]
        f += 4
    while f < d:
        a0 = coef_t[f, col]
        x0 = xt[f]
        for r in range(TILE):
            acc[r] += a0 * x0[r]
        f += 1
