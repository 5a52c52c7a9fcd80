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
* Sums: a thread accumulates ``w·x`` of consecutive rows that share a centre
  in registers and adds them to the block's partial sums only when the
  centre changes (data sorted by time or key, where neighbours share a
  centre, thus costs one flush per run instead of one per row).  The
  partials live in shared memory when ``k (d + 1)`` float64 fit
  (``SHARED_SUMS_BYTES``), each block writing its own row of ``partial``
  at the end; otherwise the flushes go straight to the block's row of
  ``partial`` in global memory.  Either way, no two blocks add into the
  same address: there is no global hot spot, and ``partial`` is reduced
  over blocks once, after the kernel.
* The inertia is reduced over the block in shared memory and written once
  per block.

Cost per row and centre: ``2 d`` flops in the data's dtype and one compare;
per row: ``d`` loads of the row (``4 d`` bytes in float32), the exact
distance (``3 d`` float64 flops) and at most ``d + 1`` shared-memory adds.
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
      float64, each block writes (or adds into) its own row.
    * ``partial_changed`` (blocks,) int64: rows whose label differs from the one
      ``labels`` held before (bit 4), for Lloyd's strict convergence.
    * ``flags``: bit 0 labels, bit 1 sums, bit 2 inertia, bit 3 squared distances,
      bit 4 count changed labels.
    """
    typ = float32 if dtype_name == "float32" else float64
    tile_k = tile_rows(d, 4 if dtype_name == "float32" else 8)
    D = d  # closure constants: fixed when the kernel is compiled

    @cuda.jit(device=True, inline=True)
    def flush(acc, run_w, lab, sh_sums, sh_w, partial, partial_w, b):
        if shared_sums:
            cuda.atomic.add(sh_w, lab, run_w)
            for f in range(D):
                cuda.atomic.add(sh_sums, lab * D + f, acc[f])
        else:
            cuda.atomic.add(partial_w, (b, lab), run_w)
            for f in range(D):
                cuda.atomic.add(partial, (b, lab, f), acc[f])

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
        red = cuda.shared.array(THREADS, float64)
        red_changed = cuda.shared.array(THREADS, int64)
        # The block's partial sums, when they fit (dynamic shared memory: k (d + 1) float64).
        dyn = cuda.shared.array(0, float64)
        sh_sums = dyn[: k * D] if shared_sums else dyn[:0]
        sh_w = dyn[k * D : k * D + k] if shared_sums else dyn[:0]
        if shared_sums and want_sums:
            for j in range(t, k * (D + 1), THREADS):
                dyn[j] = 0.0
        cuda.syncthreads()

        best = cuda.local.array(RUN, typ)
        best_j = cuda.local.array(RUN, int32)
        xs = cuda.local.array(D, typ)
        acc = cuda.local.array(D, float64)
        for f in range(D):
            acc[f] = 0.0
        run_w = 0.0
        run_lab = -1
        inertia = 0.0
        changed = 0

        start = b * rows_per_block
        # Conditionals, not min(): numba 0.68's CUDA target fails to compile the builtin.
        stop = start + rows_per_block if start + rows_per_block < n else n
        n_tiles = (k + tile_k - 1) // tile_k
        for base in range(start, stop, THREADS * RUN):
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
                if i < stop:
                    j = best_j[r]
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
                        if j != run_lab:
                            if run_lab >= 0:
                                flush(acc, run_w, run_lab, sh_sums, sh_w, partial, partial_w, b)
                            for f in range(D):
                                acc[f] = 0.0
                            run_w = 0.0
                            run_lab = j
                        wi = w[i]
                        run_w += wi
                        for f in range(D):
                            acc[f] += wi * float64(X[i, f])
        if want_sums and run_lab >= 0:
            flush(acc, run_w, run_lab, sh_sums, sh_w, partial, partial_w, b)

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
                partial[b, c, j - c * D] = sh_sums[j]
            for c in range(t, k, THREADS):
                partial_w[b, c] = sh_w[c]

    return kernel
