"""The sampled silhouette's steps that touch every chunk of a Dask array.

Only labels and a few rows travel: counting the rows of each label per
chunk, finding the rows drawn for the reference by their rank within their
label, and comparing the queries with the gathered reference in a few tasks.
In memory the same functions run once, on the whole array.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..._common.numbering import stable_order
from .._inputs import LabelledData


def label_counts_chunk(
    backend: Any, offset: int, X: Any, labels: Any, k: int
) -> np.ndarray:
    """Rows of each label in one chunk: a (1 × k) host array."""
    return np.bincount(np.asarray(backend.to_host(labels)), minlength=k)[
        None, :
    ].astype(np.int64)


def locate_chunk(
    backend: Any,
    offset: int,
    X: Any,
    labels: Any,
    wanted_labels: np.ndarray,
    wanted_ranks: np.ndarray,
    queries: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Global index of the ``r``-th row of label ``c`` in this chunk, and the labels of the queries in it."""
    host = np.asarray(backend.to_host(labels))
    tally = np.bincount(host, minlength=int(wanted_labels.max(initial=0)) + 1)
    order = stable_order(host, len(tally))
    starts = np.concatenate([[0], np.cumsum(tally)])
    found = order[starts[wanted_labels] + wanted_ranks] + offset
    inside = queries[(queries >= offset) & (queries < offset + len(host))]
    return found.astype(np.int64), host[inside - offset].astype(np.int64)


def per_chunk(
    data: LabelledData, fn: Any, per_chunk_args: list[tuple], *args: Any
) -> list[Any]:
    """``fn(backend, offset, None, label_block, *chunk_args, *args)`` for every chunk, in order.

    Labels only: on Dask the tasks do not depend on ``X``'s chunks, so the
    features are not read.
    """
    if not data.backend.lazy:
        return [fn(data.backend, 0, None, data.labels, *per_chunk_args[0], *args)]
    import dask

    ls = data.labels.to_delayed().ravel()
    offsets = np.concatenate([[0], np.cumsum(data.X.chunks[0])[:-1]]).tolist()
    task = dask.delayed(fn, pure=True)
    return list(
        dask.compute(
            *[
                task(data.backend.chunk, o, None, lab, *c, *args)
                for o, lab, c in zip(offsets, ls, per_chunk_args)
            ]
        )
    )


def chunk_bounds(data: LabelledData) -> np.ndarray:
    if not data.backend.lazy:
        return np.array([0, data.X.shape[0]])
    return np.concatenate([[0], np.cumsum(data.X.chunks[0])]).astype(np.int64)


def reference_parts(
    compare: Any,
    data: LabelledData,
    queries: np.ndarray,
    query_pos: np.ndarray,
    own: np.ndarray,
    alone: np.ndarray,
    ref_rows: np.ndarray,
    plan: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """``compare(backend, ref_rows, queries, query_pos, own, alone, plan)`` over parts of the queries.

    In memory: one call.  On Dask: the queries in parts, one task each, with
    the reference rows sent once; every part returns its per-query
    silhouettes and its per-group sums (O(part + G) numbers), concatenated and
    added here.
    """
    if not data.backend.lazy:
        return compare(data.backend, ref_rows, queries, query_pos, own, alone, plan)
    import dask

    from ...backends.dask_backend import single_threaded

    def task(backend: Any, ref: Any, *args: Any) -> tuple[np.ndarray, np.ndarray]:
        return single_threaded(compare, backend, ref, *args)

    s = len(queries)
    n_parts = int(max(1, min(data.X.numblocks[0], s // 1000, 16)))
    cuts = np.linspace(0, s, n_parts + 1).astype(np.int64)
    # The reference and its plan: one key each, sent once to whichever worker needs them.
    ref, plan = dask.delayed(ref_rows), dask.delayed(plan, traverse=False)
    fn = dask.delayed(task, pure=True)
    parts = dask.compute(
        *[
            fn(
                data.backend.chunk,
                ref,
                *(a[lo:hi] for a in (queries, query_pos, own, alone)),
                plan,
            )
            for lo, hi in itertools.pairwise(cuts)
        ]
    )
    return np.concatenate([p[0] for p in parts]), sum(p[1] for p in parts)

