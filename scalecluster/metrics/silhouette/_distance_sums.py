"""Sums of distances from query rows to the rows of each label: the silhouette's one hot loop.

Both silhouettes need, for a set of query rows, the sum of the distances from
each query to the rows of each cluster.  Nothing here holds n × n: the data
is visited in row blocks (or tiles) against all the queries, and only a
(queries × labels) accumulator is kept.

One table per operation picks the implementation for the data's backend:

=============  =====================================================  ==========================
backend        :func:`distance_sums` (labels of the data)             :func:`code_sums` (codes of a sorted reference)
=============  =====================================================  ==========================
numpy          the fused numba kernel of :mod:`._kernels_cpu`         the same kernel
cupy           the CUDA kernels of :mod:`._kernels_cuda` (numba.cuda  the same kernels, with no
               imported on first use; rows too wide for registers     sort (already in code order)
               take the generic path)
anything else  distance blocks (GEMM) times a one-hot matrix          distance blocks, cumulative sums per code run
=============  =====================================================  ==========================

Dask data never reaches here whole: callers map these over its chunks
(:mod:`._dask`), with the chunks' backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..._common.centred import CentredPoints
from ..._common.numbering import stable_order
from ..._common.parallel import map_in_order, split_evenly
from ..._config import effective_n_threads, rows_per_block
from ._kernels_cpu import TILE, label_distance_sums
from ._operands import exact_below, query_operands


def query_sq_distances(
    backend: Any,
    offset: int,
    X: Any,
    queries: np.ndarray,
    query_index: np.ndarray,
    extra_bytes_per_row: int = 0,
    shift: np.ndarray | None = None,
) -> Iterator[tuple[int, Any]]:
    """Squared distances from the queries to ``X``, one row block at a time.

    Yields ``(start, sq)`` with ``sq`` of shape (q, rows in the block), float64,
    computed with the expansion around the queries' mean (so a common offset
    does not cancel the precision away; ``shift`` overrides that mean), and
    from the differences where the expansion cannot tell them from 0.
    ``query_index`` holds the global row index of each query (``offset`` is
    that of ``X``'s first row): a query's distance to itself is exactly 0, not
    rounding noise.
    """
    xp = backend.xp
    prepared = CentredPoints.of(queries, shift)
    q, q_norms, shift = xp.asarray(prepared.centred), xp.asarray(prepared.norms), xp.asarray(prepared.shift)
    tol = exact_below(X.shape[1], np.float64)
    # Per data row: a distance column, the norms' column and the product's (q float64
    # each), the flags (q bytes), its float64 copy (d), and the caller's extra.
    step = rows_per_block(q.shape[0] * 25 + X.shape[1] * 8 + extra_bytes_per_row, X.shape[0])
    own = xp.asarray(query_index) - offset
    for a in range(0, X.shape[0], step):
        block = X[a : a + step]
        if hasattr(block, "toarray"):  # a SciPy sparse block: dense, one block at a time
            block = block.toarray()
        block = block.astype(xp.float64) - shift
        norms = q_norms[:, None] + (block * block).sum(axis=1)[None, :]
        sq = norms - 2 * (q @ block.T)
        # Within the expansion's rounding of 0 (see ._operands): the differences
        # themselves, exactly 0 for a row identical to a query.
        rows, cols = xp.nonzero(sq <= tol * norms)
        del norms
        if rows.shape[0]:
            diff = block[cols] - q[rows]
            sq[rows, cols] = (diff * diff).sum(axis=1)
            del diff
        rows = xp.nonzero((own >= a) & (own < a + block.shape[0]))[0]
        sq[rows, own[rows] - a] = 0.0
        yield a, sq


def _label_sums_generic(
    backend: Any,
    offset: int,
    X: Any,
    labels: Any,
    queries: np.ndarray,
    query_index: np.ndarray,
    k: int,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`distance_sums` for any array module: distance blocks times a one-hot matrix."""
    xp = backend.xp
    out = xp.zeros((len(queries), k), dtype=xp.float64)
    for a, sq in query_sq_distances(
        backend, offset, X, queries, query_index, extra_bytes_per_row=k * 8, shift=shift
    ):
        one_hot = (labels[a : a + sq.shape[1], None] == xp.arange(k)[None, :]).astype(
            xp.float64
        )
        out += xp.sqrt(sq) @ one_hot
    return backend.to_host(out)


def _label_sums_cpu(
    backend: Any,
    offset: int,
    X: np.ndarray,
    labels: np.ndarray,
    queries: np.ndarray,
    query_index: np.ndarray,
    k: int,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`distance_sums` for NumPy data, through the fused kernel of :mod:`._kernels_cpu`.

    ``shift`` (default: the queries' mean) is the origin of the distance
    expansion; pass the same one to get the same rounding for every part of a
    query set.
    """
    X = np.ascontiguousarray(X)
    dtype = X.dtype
    s = len(queries)
    if X.shape[0] == 0 or s == 0:  # an empty chunk of a Dask array adds nothing
        return np.zeros((s, k))
    order = stable_order(labels, k)
    sorted_labels = labels[order]
    # Tiles of TILE label-sorted rows, cut into segments where the label changes.
    n_rows = len(order)
    cuts = np.union1d(
        np.flatnonzero(np.diff(sorted_labels)) + 1, np.arange(0, n_rows, TILE)
    )
    seg_start = cuts.astype(np.int64)
    seg_stop = np.append(cuts[1:], n_rows).astype(np.int64)
    n_tiles = -(-n_rows // TILE)
    seg_ptr = np.searchsorted(seg_start, np.arange(n_tiles + 1) * TILE).astype(np.int64)
    sorted_labels = sorted_labels.astype(np.int64)

    shift_d, queries_t, q_norms = query_operands(queries, shift, dtype)
    tol = dtype.type(exact_below(X.shape[1], dtype))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    local = np.asarray(query_index, dtype=np.int64) - offset
    inside = (local >= 0) & (local < X.shape[0])
    query_pos = np.where(inside, position[np.clip(local, 0, X.shape[0] - 1)], -1)

    out = np.zeros((s, k))

    def work(part: tuple[int, int]) -> None:
        a, b = part
        label_distance_sums(
            X,
            order,
            sorted_labels,
            seg_ptr,
            seg_start,
            seg_stop,
            np.ascontiguousarray(queries_t[:, a:b]),
            q_norms[a:b],
            shift_d,
            query_pos[a:b],
            tol,
            out[a:b],
        )

    # Each thread takes a range of queries against all the data: no reduction needed.
    for _ in map_in_order(work, split_evenly(s, min(effective_n_threads(), s))):
        pass
    return out


def _code_sums_generic(
    backend: Any,
    ref_rows: Any,
    ref_codes: np.ndarray,
    queries: np.ndarray,
    query_pos: np.ndarray,
    n_codes: int,
    shift: np.ndarray,
) -> np.ndarray:
    """:func:`code_sums` for any array module: distance blocks, summed per run of a code
    by a cumulative sum along the rows (no one-hot product over the many codes)."""
    xp = backend.xp
    ref = xp.asarray(ref_rows)
    out = np.zeros((len(queries), n_codes))
    # Per reference row, besides the distance column: its square root and running sum.
    for a, sq in query_sq_distances(
        backend,
        0,
        ref,
        queries,
        query_pos,
        extra_bytes_per_row=2 * len(queries) * 8,
        shift=shift,
    ):
        m = sq.shape[1]
        codes = ref_codes[a : a + m]
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1, [m]])
        running = xp.cumsum(xp.sqrt(sq), axis=1)
        ends = backend.to_host(running[:, xp.asarray(cuts[1:] - 1)])
        starts = np.concatenate([np.zeros((len(queries), 1)), ends[:, :-1]], axis=1)
        out[:, codes[cuts[:-1]]] += ends - starts
    return out


def _label_sums_cuda(
    backend: Any,
    offset: int,
    X: Any,
    labels: Any,
    queries: np.ndarray,
    query_index: np.ndarray,
    k: int,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`distance_sums` for CuPy data, through the CUDA kernels of :mod:`._kernels_cuda`.

    numba.cuda is imported here, on first use, so that importing scalecluster
    never imports it.  Rows too wide to keep a query in registers, or of
    another dtype than float32 or float64, take the generic path.
    """
    from . import _kernels_cuda

    if not _kernels_cuda.fits(X.shape[1], X.dtype):
        return _label_sums_generic(backend, offset, X, labels, queries, query_index, k, shift)
    return _kernels_cuda.label_sums(backend, offset, X, labels, queries, query_index, k, shift)


#: backend name -> implementation; other backends take the generic one.
_LABEL_SUMS = {"numpy": _label_sums_cpu, "cupy": _label_sums_cuda}


def distance_sums(
    backend: Any,
    offset: int,
    X: Any,
    labels: Any,
    queries: np.ndarray,
    query_index: np.ndarray,
    k: int,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    """(q × k) host sums of the Euclidean distances from each query to the rows of each label.

    ``X`` and ``labels`` (codes ``0 .. k - 1``) are one in-memory block whose
    first row has global index ``offset``; ``query_index`` holds each query's
    global row index (its distance to itself is exactly 0).  ``shift`` is the
    origin of the distance expansion (default: the queries' mean); passing the
    same one for every part of a query set gives the same rounding.
    """
    run = _LABEL_SUMS.get(backend.name, _label_sums_generic)
    return run(backend, offset, X, labels, queries, query_index, k, shift)


def _code_sums_cpu(
    backend: Any,
    ref_rows: Any,
    ref_codes: np.ndarray,
    queries: np.ndarray,
    query_pos: np.ndarray,
    n_codes: int,
    shift: np.ndarray,
) -> np.ndarray:
    return _label_sums_cpu(backend, 0, np.asarray(ref_rows), ref_codes, queries, query_pos, n_codes, shift=shift)


def _code_sums_cuda(
    backend: Any,
    ref_rows: Any,
    ref_codes: np.ndarray,
    queries: np.ndarray,
    query_pos: np.ndarray,
    n_codes: int,
    shift: np.ndarray,
) -> np.ndarray:
    """:func:`code_sums` for CuPy data, through the CUDA kernels (imported on first use, as above)."""
    from . import _kernels_cuda

    if not _kernels_cuda.fits(ref_rows.shape[1], ref_rows.dtype):
        return _code_sums_generic(backend, ref_rows, ref_codes, queries, query_pos, n_codes, shift)
    return _kernels_cuda.code_sums(backend, ref_rows, ref_codes, queries, query_pos, n_codes, shift)


_CODE_SUMS = {"numpy": _code_sums_cpu, "cupy": _code_sums_cuda}


def code_sums(
    backend: Any,
    ref_rows: Any,
    ref_codes: np.ndarray,
    queries: np.ndarray,
    query_pos: np.ndarray,
    n_codes: int,
    shift: np.ndarray,
) -> np.ndarray:
    """(q × codes) host sums of the distances from each query to the reference rows of each code.

    The reference rows are sorted by code; ``query_pos`` is each query's
    position among them (-1 if absent).
    """
    run = _CODE_SUMS.get(backend.name, _code_sums_generic)
    return run(backend, ref_rows, ref_codes, queries, query_pos, n_codes, shift)
