"""KMeans' CUDA kernels (numba.cuda): nearest centre, exact distance and per-centre sums in one pass.

One kernel, :func:`nearest_kernel`, serves every KMeans operation on a GPU:
a Lloyd iteration (sums and inertia, no labels), the last E-step (labels
too), ``predict`` (labels only), ``score`` (inertia only), the k-means‖
rounds and k-means++ trials (each row's nearest new centre and its exact
squared distance) and MiniBatchKMeans' steps.  It never builds an n × k
matrix: each row's scores live in registers.

Layout of the work
------------------
* A block of ``THREADS`` threads takes a contiguous range of rows; each
  thread takes ``RUN`` consecutive rows of it at a time.
* The centres go through shared memory in tiles of ``tile_k`` rows of
  ``-2 (c - s)`` and ``||c - s||²`` (the centred expansion of
  :mod:`scalecluster._common.centred`, in the data's dtype, as on the CPU).
  When all centres fit in one tile (k ≤ 240 for 16 float32 features) they are
  loaded once per block; beyond, the tiles stream through shared memory and
  every thread keeps the running best of its ``RUN`` rows in registers, so
  k = 1024 and beyond is the same loop with more tiles, not a cliff.
* The chosen centre's distance is recomputed exactly, ``sum((x - c)²)`` in
  float64, as the CPU kernel reports it.
* Sums, without atomics: after each pass the block's labels sit in shared
  memory, and the thread that owns a centre (centre ``c`` belongs to thread
  ``c mod THREADS``) adds that centre's rows of the pass, in row order, to
  the block's partial sums — in shared memory when ``k (d + 1)`` float64 fit
  (``SHARED_SUMS_BYTES``), else in the block's own row of ``partial`` in
  global memory.  No two threads ever add into the same address, so there is
  no hot spot, and the sums come out bit for bit the same on every run (what
  lets Lloyd see exactly unchanged centres once the labels stop changing, on
  a GPU as on the CPU).  ``partial`` is reduced over the blocks once, after
  the kernel, in block order.  The scan costs ``RUN · THREADS`` shared-memory
  reads per owned centre and pass, a few percent of the distance work for
  k ≥ 16; for k = 1 one thread adds a block's rows alone (about 0.15 ms per
  10M × 16 rows on 528 blocks).
* The inertia is reduced over the block in shared memory and written once
  per block.

Cost per row and centre: ``2 d`` flops in the data's dtype and one compare;
per row: ``d`` loads of the row (``4 d`` bytes in float32, read again from
L1 by the thread that adds it to its centre's sums), the exact distance
(``3 d`` float64 flops) and ``d + 1`` float64 adds.
So a Lloyd iteration is ``2 n k d`` flops over ``4 n d`` bytes: at
10M × 16 float32 and k = 64, 20 GFLOP over 0.64 GB — about 0.35 ms of an
H200's FP32 rate and 0.15 ms of its bandwidth.

Every kernel runs unchanged in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``),
which is how CI tests them; only block-level primitives are used (no warp
shuffles, which the simulator lacks).
"""

from __future__ import annotations

import math
from functools import lru_cache

from numba import cuda, float32, float64, int32, int64

#: Threads per block.
THREADS = 128
#: Consecutive rows per thread and pass: the registers that hold their running best.
RUN = 8
#: Shared memory for one tile of centres (``-2 (c - s)ᵀ`` and norms).
TILE_BYTES = 16 * 1024
#: Shared memory for a block's partial sums; larger ``k (d + 1)`` uses global partials.
#: With the centre tile (16 KiB) and the reductions (2 KiB), a block stays under the
#: 48 KiB a kernel may use without opting in to more.
SHARED_SUMS_BYTES = 24 * 1024


def tile_rows(d: int, itemsize: int) -> int:
    """Centres per shared-memory tile for ``d`` features of ``itemsize`` bytes."""
    return max(16, TILE_BYTES // ((d + 1) * itemsize))


def sums_in_shared(k: int, d: int) -> bool:
    """Whether a block's partial sums (k (d + 1) float64) fit its shared memory."""
    return k * (d + 1) * 8 <= SHARED_SUMS_BYTES


@lru_cache(maxsize=None)
def nearest_kernel(d: int, dtype_name: str, shared_sums: bool):
    """The fused kernel for ``d`` features of ``dtype_name`` ("float32"/"float64").

    ``d``, the dtype and the tile size are compile-time constants (local and
    shared arrays need them), so one kernel is compiled per combination.

    Signature of the returned kernel::

        kernel(X, w, shift, centers_t, norms, centers64, rows_per_block,
               labels, sq_dist, partial, partial_w, partial_inertia, partial_changed, flags)

    * ``X`` (n, d) data dtype; ``w`` (n,) float64.
    * ``shift`` (d,), ``centers_t`` (d, k) = ``-2 (c - s)ᵀ``, ``norms`` (k,): data dtype.
    * ``centers64`` (k, d) float64: for the exact distance.
    * ``rows_per_block``: rows of each block's contiguous range.
    * ``labels`` (n,) int32 and ``sq_dist`` (n,) float64: written when flags say so.
    * ``partial`` (blocks, k, d), ``partial_w`` (blocks, k), ``partial_inertia`` (blocks,):
      float64, each block writes (or adds into) its own row; zeroed by the caller.
    * ``partial_changed`` (blocks,) int64: rows whose label differs from the one
      ``labels`` held before (bit 4), for Lloyd's strict convergence.
    * ``flags``: bit 0 labels, bit 1 sums, bit 2 inertia, bit 3 squared distances,
      bit 4 count changed labels.
    """
    typ = float32 if dtype_name == "float32" else float64
    tile_k = tile_rows(d, 4 if dtype_name == "float32" else 8)
    D = d  # closure constants: fixed when the kernel is compiled
    PASS = THREADS * RUN

    @cuda.jit
    def kernel(X, w, shift, centers_t, norms, centers64, rows_per_block,
               labels, sq_dist, partial, partial_w, partial_inertia, partial_changed, flags):
        n = X.shape[0]
        k = norms.shape[0]
        t = cuda.threadIdx.x
        b = cuda.blockIdx.x
        want_labels = (flags & 1) != 0
        want_sums = (flags & 2) != 0
        want_inertia = (flags & 4) != 0
        want_sq = (flags & 8) != 0
        want_changes = (flags & 16) != 0

        tile_c = cuda.shared.array((D, tile_k), typ)
        tile_norm = cuda.shared.array(tile_k, typ)
        pass_labels = cuda.shared.array(PASS, int32)
        red = cuda.shared.array(THREADS, float64)
        red_changed = cuda.shared.array(THREADS, int64)
        # The block's partial sums, when they fit (dynamic shared memory: k (d + 1) float64).
        dyn = cuda.shared.array(0, float64)
        if shared_sums and want_sums:
            for j in range(t, k * (D + 1), THREADS):
                dyn[j] = 0.0
        cuda.syncthreads()

        best = cuda.local.array(RUN, typ)
        best_j = cuda.local.array(RUN, int32)
        xs = cuda.local.array(D, typ)
        acc = cuda.local.array(D, float64)
        inertia = 0.0
        changed = 0

        start = b * rows_per_block
        # Conditionals, not min(): numba 0.68's CUDA target fails to compile the builtin.
        stop = start + rows_per_block if start + rows_per_block < n else n
        n_tiles = (k + tile_k - 1) // tile_k
        for base in range(start, stop, PASS):
            first = base + t * RUN  # this thread's RUN consecutive rows
            for r in range(RUN):
                best[r] = math.inf
                best_j[r] = 0
            for tile in range(n_tiles):
                c0 = tile * tile_k
                m = tile_k if tile_k < k - c0 else k - c0
                # Reload only when the tile changes: with one tile, once per block.
                if n_tiles > 1 or base == start:
                    cuda.syncthreads()
                    for j in range(t, m * D, THREADS):
                        f = j // m
                        c = j - f * m
                        tile_c[f, c] = centers_t[f, c0 + c]
                    for c in range(t, m, THREADS):
                        tile_norm[c] = norms[c0 + c]
                    cuda.syncthreads()
                for r in range(RUN):
                    i = first + r
                    if i < stop:
                        for f in range(D):
                            xs[f] = X[i, f] - shift[f]
                        b_val = best[r]
                        b_j = best_j[r]
                        for c in range(m):
                            s = tile_norm[c]
                            for f in range(D):
                                s += xs[f] * tile_c[f, c]
                            if s < b_val:
                                b_val = s
                                b_j = c0 + c
                        best[r] = b_val
                        best_j[r] = b_j
            for r in range(RUN):
                i = first + r
                j = best_j[r]
                pass_labels[t * RUN + r] = j if i < stop else -1
                if i < stop:
                    if want_labels:
                        if want_changes and labels[i] != j:
                            changed += 1
                        labels[i] = j
                    if want_inertia or want_sq:
                        d2 = 0.0
                        for f in range(D):
                            diff = float64(X[i, f]) - centers64[j, f]
                            d2 += diff * diff
                        if want_sq:
                            sq_dist[i] = d2
                        inertia += w[i] * d2
            if want_sums:
                # Each centre's sums belong to one thread, which adds this pass's
                # rows of that centre in row order: no atomics, the same bits on
                # every run (so a converged Lloyd sees exactly unchanged centres).
                cuda.syncthreads()
                for c in range(t, k, THREADS):
                    for f in range(D):
                        acc[f] = 0.0
                    cw = 0.0
                    for q in range(PASS):
                        if pass_labels[q] == c:
                            i = base + q
                            wi = w[i]
                            cw += wi
                            for f in range(D):
                                acc[f] += wi * float64(X[i, f])
                    if cw != 0.0:
                        if shared_sums:
                            dyn[k * D + c] += cw
                            for f in range(D):
                                dyn[c * D + f] += acc[f]
                        else:
                            partial_w[b, c] += cw
                            for f in range(D):
                                partial[b, c, f] += acc[f]
                cuda.syncthreads()  # the next pass overwrites pass_labels

        # The block's inertia and changes: tree reductions in shared memory, one write each.
        red[t] = inertia
        red_changed[t] = changed
        cuda.syncthreads()
        step = THREADS // 2
        while step > 0:
            if t < step:
                red[t] += red[t + step]
                red_changed[t] += red_changed[t + step]
            cuda.syncthreads()
            step //= 2
        if t == 0:
            partial_inertia[b] = red[0]
            partial_changed[b] = red_changed[0]
        if shared_sums and want_sums:
            for j in range(t, k * D, THREADS):
                c = j // D
                partial[b, c, j - c * D] = dyn[j]
            for c in range(t, k, THREADS):
                partial_w[b, c] = dyn[k * D + c]

    return kernel
