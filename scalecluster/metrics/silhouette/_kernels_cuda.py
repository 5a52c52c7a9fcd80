"""The silhouette's CUDA kernels (numba.cuda): sums of distances from queries to the rows of each label.

The twin of :mod:`._kernels_cpu` for CuPy data.  The generic path builds a
(queries × block) distance matrix with a GEMM, square-roots it and multiplies
it by a one-hot matrix: three passes over memory per distance.  Here each
distance is computed, square-rooted and summed in registers.

One call
--------
1. :func:`_prepare` (a thread per row): the rows gathered in label order,
   centred on the shift, in the data's dtype (a copy the size of ``X``), with
   their squared norms, their labels, and each row's position in that order.
2. :func:`_sums_kernel` on a 2-D grid: ``blockIdx.x`` picks a tile of
   ``threads × per_thread`` queries, ``blockIdx.y`` a chunk of the
   label-sorted rows.  Each thread keeps ``per_thread`` queries in registers
   (consecutive threads hold consecutive queries, so their loads coalesce).
   The block stages ``tile`` rows at a time in shared memory; every thread
   walks them in order (all threads read the same row: a broadcast, no bank
   conflict), adding each distance to a running sum in the data's dtype (at
   most ``tile`` terms), folded into a float64 sum at the end of each tile.
   When the label changes, and at the end of the chunk, the float64 sum goes
   into ``out[label, query]`` with one atomic add: atomics only at label
   boundaries, and consecutive threads add to consecutive addresses.  Blocks
   over other chunks of rows add into the same entries, hence the atomics.
   Only tiles that hold a query's own row (a block-wide vote) check each
   pair for it.

Distances use the centred expansion of :mod:`scalecluster._common.centred`,
``||x - s||² + ||q - s||² - 2 <x - s, q - s>`` in the data's dtype, then
its square root; a query's distance to its own row is exactly 0.  A squared
distance within the expansion's rounding of 0 (:mod:`._operands`) is
recomputed from the centred differences, as on the CPU: identical rows are
exactly 0 apart.  The test costs a multiply and a compare per pair; the
recomputation runs only for the pairs it flags (a divergent branch, rare).

Roofline (float32, d features, the default launch: 128 threads × 4 queries)
---------------------------------------------------------------------------
Per (query, row) pair: d FMAs and 3 other flops (2 d + 4 flops), one square
root (special-function unit, 16 per SM and clock, beside the FMAs).  A tile
of rows (4 d + 8 bytes per row with its norm and label) is read from L2/HBM
once per block and serves 512 queries: (4 d + 8) / 512 bytes per pair, 0.14
at d = 16, about 250 flops per byte against the H200's balance of ~12.5
(60 TFLOP/s fp32, 4.8 TB/s).  So the kernel is bound by instruction issue,
not memory: the compiled loop (PTX for sm_90, d = 16) spends about 125
instructions per row and 4 queries, 31 per pair, of which 16 are FMAs (the
rest: 4.5 shared-memory broadcast loads, compare, select, square root, sums,
loop).  For the exact silhouette of 200 000 × 16 (4·10¹⁰ pairs) that is
about 0.037 s at the H200's 3.4·10¹³ thread instructions per second, against an
arithmetic floor (FMAs and square roots alone) of ~0.03 s.  (Counted before
the test for distances too small for the expansion was added: an add, a
multiply and a compare more per pair, about +10 % by this count; not yet
measured on a GPU.)  The sums in the
data's dtype within a tile keep float64 conversions (16 per SM and clock)
out of the per-pair loop.  float64 data runs on the FP64 units (half the
fp32 rate).  Each call also sorts the labels and copies ``X`` once (O(n d)
bytes, a fraction of a millisecond at 200 000 × 16); the exact silhouette
makes one call per block of a few thousand queries.

The kernels run unchanged in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``),
which is how CI tests them: block-level primitives only (a barrier's vote,
atomics; no warp shuffles, which the simulator lacks), and comparisons
instead of ``min``/``max``, whose overloads numba 0.68's built-in CUDA target
fails to compile.

Queries of more than 64 four-byte words (d > 64 in float32, d > 32 in
float64) do not fit in registers: :func:`fits` is false and the caller takes
the generic GEMM path, which suits wide data better.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import cuda

from ._operands import exact_below, query_operands

#: 32-bit registers a thread may spend on its queries' coordinates; beyond
#: that they spill to local memory and the generic path is faster.
QUERY_WORDS = 64


@dataclass(frozen=True)
class Launch:
    """Launch shape of the kernels; the defaults suit a large GPU.

    ``threads``, ``per_thread`` and ``tile`` (``None``: chosen from d and the
    dtype) are compile-time constants of :func:`_sums_kernel`; ``blocks`` is
    the grid size it aims at (about 16 blocks per SM of a 132-SM H200, so the
    last wave is short), reached by cutting the rows into chunks, and the
    most blocks of :func:`_prepare`, of ``prepare_threads`` threads each.
    Tests in numba's simulator use small ones (each simulated thread is a
    Python thread).
    """

    threads: int = 128
    per_thread: int | None = None
    tile: int | None = None
    blocks: int = 2048
    prepare_threads: int = 256

    def shape(self, d: int, dtype: np.dtype, queries: int) -> tuple[int, int, int]:
        """``(threads, queries per thread, rows per tile)`` for ``queries`` of d features of ``dtype``."""
        words = max(1, d * dtype.itemsize // 4)
        # Up to 4 queries per thread: each shared-memory read then feeds 4 FMAs.
        # One when a block has more threads than queries, so none is wasted
        # (two variants per (d, dtype) at most, each compiled once).
        per_thread = self.per_thread or max(1, min(4, QUERY_WORDS // words))
        if queries <= self.threads:
            per_thread = 1
        # A tile of at most 16 KiB of rows, so several blocks share an SM.
        tile = self.tile or min(128, 4096 // words)
        return self.threads, per_thread, tile


LAUNCH = Launch()


def fits(d: int, dtype: Any) -> bool:
    """Whether the kernel takes d features of ``dtype``: float32 or float64, a query in registers.

    Otherwise the caller takes the generic path.
    """
    dtype = np.dtype(dtype)
    return dtype in (np.float32, np.float64) and d * dtype.itemsize // 4 <= QUERY_WORDS


@cuda.jit
def _prepare(X, order, labels, shift, rows, norms, sorted_labels, position):
    """Row ``i`` of the label order: centred copy, squared norm, label, and its position."""
    # A grid-stride loop: any grid covers all the rows.
    for i in range(cuda.grid(1), rows.shape[0], cuda.gridsize(1)):
        src = order[i]
        # float64 like the CPU kernel, rounded once to the data's dtype.
        total = 0.0
        for f in range(rows.shape[1]):
            v = X[src, f] - shift[f]
            rows[i, f] = v
            total += v * v
        norms[i] = total
        sorted_labels[i] = labels[src]
        position[src] = i


@functools.lru_cache(maxsize=None)
def _sums_kernel(d: int, dtype: str, threads: int, per_thread: int, tile: int) -> Any:
    """The distance-sums kernel for d features of ``dtype``, compiled on first launch.

    Shared and local arrays need constant shapes, and constant loop counts let
    the compiler unroll the feature loops and keep the queries in registers.
    """
    D, T, P, R = d, threads, per_thread, tile
    Q = T * P
    DT = numba.from_dtype(np.dtype(dtype))
    # A typed zero: an integer literal would widen float32 sums to float64.
    ZERO = np.dtype(dtype).type(0)
    HALF = np.dtype(dtype).type(0.5)
    TOL = np.dtype(dtype).type(exact_below(d, dtype))

    @cuda.jit(device=True, inline=True, fastmath=True)
    def add_row(qv, qn, own, part, xs, xn, r, position, check):
        """``part[j] += ||q_j - x_r||`` for the thread's queries; ``check``: the tile holds an own row."""
        for j in range(P):
            acc = qn[j] + xn[r]
            for f in range(D):
                acc += qv[j, f] * xs[r, f]
            if acc <= TOL * (qn[j] + xn[r]):
                # Within the expansion's rounding of 0 (rarely): the differences
                # themselves, exactly 0 for a row identical to the query.
                acc = ZERO
                for f in range(D):
                    diff = xs[r, f] + HALF * qv[j, f]
                    acc += diff * diff
            if check and position == own[j]:
                acc = ZERO
            part[j] += math.sqrt(acc)

    @cuda.jit(fastmath=True)
    def kernel(rows, norms, labels, position, queries_t, q_norms, local, chunk, out):
        """Add to ``out[label, q]`` the distances from query ``q`` to one chunk of rows.

        rows (n, D), norms (n,), labels (n,) int32: label-sorted, centred (:func:`_prepare`);
        position (n,): each row's place in that order; queries_t (D, s) ``-2 (q - shift)``;
        q_norms (s,); local (s,) int64, each query's own row in ``X`` (outside: not a row);
        chunk: rows per chunk; out (k, s) float64.
        """
        n = rows.shape[0]
        s = q_norms.shape[0]
        tid = cuda.threadIdx.x
        xs = cuda.shared.array((R, D), DT)
        xn = cuda.shared.array(R, DT)
        xl = cuda.shared.array(R, numba.int32)
        qv = cuda.local.array((P, D), DT)
        qn = cuda.local.array(P, DT)
        own = cuda.local.array(P, numba.int64)
        part = cuda.local.array(P, DT)
        total = cuda.local.array(P, numba.float64)
        first = cuda.blockIdx.x * Q + tid
        for j in range(P):
            q = first + j * T
            own[j] = -1
            part[j] = ZERO
            total[j] = 0.0
            if q < s:
                for f in range(D):
                    qv[j, f] = queries_t[f, q]
                qn[j] = q_norms[q]
                row = local[q]
                if 0 <= row < n:
                    own[j] = position[row]
            else:
                for f in range(D):
                    qv[j, f] = ZERO
                qn[j] = ZERO
        start = cuda.blockIdx.y * chunk
        stop = start + chunk
        if stop > n:
            stop = n
        current = labels[start]
        for a in range(start, stop, R):
            m = stop - a
            if m > R:
                m = R
            # Coalesced: consecutive threads copy consecutive elements of the tile.
            for e in range(tid, m * D, T):
                r = e // D
                xs[r, e - r * D] = rows[a + r, e - r * D]
            for r in range(tid, m, T):
                xn[r] = norms[a + r]
                xl[r] = labels[a + r]
            hit = 0
            for j in range(P):
                if a <= own[j] < a + m:
                    hit = 1
            # The barrier after loading; and whether any query's own row is in the
            # tile (rarely: only then is each pair checked for it).
            check = cuda.syncthreads_or(hit)
            # Threads without a query (the last query tile) only help load.
            if first < s:
                for r in range(m):
                    label = xl[r]
                    if label != current:
                        for j in range(P):
                            q = first + j * T
                            if q < s:
                                cuda.atomic.add(out, (current, q), total[j] + part[j])
                            total[j] = 0.0
                            part[j] = ZERO
                        current = label
                    # A constant flag per call: the common call has no own-row test.
                    if check:
                        add_row(qv, qn, own, part, xs, xn, r, a + r, True)
                    else:
                        add_row(qv, qn, own, part, xs, xn, r, a + r, False)
                for j in range(P):
                    total[j] += part[j]
                    part[j] = ZERO
            # The tile is read by every thread before the next overwrites it.
            cuda.syncthreads()
        for j in range(P):
            q = first + j * T
            if q < s:
                cuda.atomic.add(out, (current, q), total[j])

    return kernel


def _on_device(xp: Any, arrays: list) -> tuple[list, Any]:
    """The kernel arguments as numba device arrays, and the stream to launch on.

    CuPy arrays are wrapped without numba's synchronisation on their stream;
    the kernels run on CuPy's current stream instead, ordered after the CuPy
    operations that made their inputs.  In numba's simulator the arrays are
    NumPy's and pass as they are.
    """
    if not hasattr(arrays[0], "__cuda_array_interface__"):
        return arrays, 0
    ptr = xp.cuda.get_current_stream().ptr
    stream = cuda.external_stream(ptr) if ptr else cuda.default_stream()
    wrapped = [
        cuda.as_cuda_array(a, sync=False) if hasattr(a, "__cuda_array_interface__") else a
        for a in arrays
    ]
    return wrapped, stream


def label_sums(
    backend: Any,
    offset: int,
    X: Any,
    labels: Any,
    queries: np.ndarray,
    query_index: np.ndarray,
    k: int,
    shift: np.ndarray | None = None,
    *,
    presorted: bool = False,
    launch: Launch = LAUNCH,
) -> np.ndarray:
    """:func:`._distance_sums.distance_sums` through the CUDA kernels; a (q × k) float64 host array.

    ``X`` (float32 or float64, d features with :func:`fits`) and ``labels``
    are arrays of ``backend.xp`` (CuPy; NumPy in numba's simulator).
    ``presorted``: the labels are already in order (reference rows sorted by
    code), so no sort is needed.
    """
    xp = backend.xp
    n, d = X.shape
    s = len(queries)
    if n == 0 or s == 0:
        return np.zeros((s, k))
    # Contiguous rows (a copy only of strided data): each thread of _prepare
    # reads a row in one piece, and numba's simulator takes no strided arrays.
    X = xp.ascontiguousarray(X)
    dtype = np.dtype(X.dtype)
    shift_d, queries_t, q_norms = query_operands(queries, shift, dtype)
    labels = xp.ascontiguousarray(xp.asarray(labels))
    order = xp.arange(n, dtype=xp.int64) if presorted else xp.argsort(labels, kind="stable")
    rows = xp.empty((n, d), dtype=dtype)
    norms = xp.empty(n, dtype=dtype)
    sorted_labels = xp.empty(n, dtype=xp.int32)
    position = xp.empty(n, dtype=xp.int64)
    local = np.asarray(query_index, dtype=np.int64) - offset
    out = xp.zeros((k, s), dtype=xp.float64)
    args, stream = _on_device(
        xp,
        [X, order, labels, xp.asarray(shift_d), rows, norms, sorted_labels, position,
         xp.asarray(queries_t), xp.asarray(q_norms), xp.asarray(local), out],
    )
    X_, order_, labels_, shift_, rows_, norms_, sorted_, position_, qt_, qn_, local_, out_ = args
    prepare_blocks = min(-(-n // launch.prepare_threads), launch.blocks)
    _prepare[prepare_blocks, launch.prepare_threads, stream](
        X_, order_, labels_, shift_, rows_, norms_, sorted_, position_
    )

    threads, per_thread, tile = launch.shape(d, dtype, s)
    query_tiles = -(-s // (threads * per_thread))
    # Chunks of whole tiles, enough of them that the grid fills the GPU.
    chunks = max(1, launch.blocks // query_tiles)
    chunk = -(-n // chunks)
    chunk = -(-chunk // tile) * tile
    kernel = _sums_kernel(d, dtype.str, threads, per_thread, tile)
    kernel[(query_tiles, -(-n // chunk)), threads, stream](
        rows_, norms_, sorted_, position_, qt_, qn_, local_, chunk, out_
    )
    return np.ascontiguousarray(backend.to_host(out).T)


def code_sums(
    backend: Any,
    ref_rows: Any,
    ref_codes: np.ndarray,
    queries: np.ndarray,
    query_pos: np.ndarray,
    n_codes: int,
    shift: np.ndarray,
    *,
    launch: Launch = LAUNCH,
) -> np.ndarray:
    """:func:`._distance_sums.code_sums` through the CUDA kernels: the reference rows are already sorted by code."""
    xp = backend.xp
    return label_sums(
        backend,
        0,
        xp.asarray(ref_rows),
        xp.asarray(ref_codes),
        queries,
        query_pos,
        n_codes,
        shift,
        presorted=True,
        launch=launch,
    )
