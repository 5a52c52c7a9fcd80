"""DBSCAN from neighbourhood queries, one bounded chunk of points at a time.

The driver every path other than the grid shares: a KD-tree or ball tree
(:mod:`._tree`), the brute force of scikit-learn's neighbours machinery, dense
or sparse (:mod:`._brute`), and precomputed distances, a dense matrix or a
sparse radius-neighbours graph (:mod:`._precomputed`).  scikit-learn's DBSCAN
asks for every neighbourhood at once and keeps them all; here a
:class:`NeighbourSource` answers the same queries for chunks of points sized
so that one chunk's neighbourhoods fit the working-memory budget, and only
per-point results survive a chunk:

1. neighbour counts (or weights), from the source;
2. the core points' neighbours among the core points, folded into a
   union-find chunk by chunk and dropped;
3. each non-core point takes the smallest cluster label among its core
   neighbours (scikit-learn's order, as in the grid path).

Memory is O(n) plus one chunk per thread.  Time is that of the queries; with
huge eps every point has O(n) neighbours and the time grows as n², as for any
exact DBSCAN without a grid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np

from ..._common.disjoint_set import roots, union_pairs
from ..._common.parallel import map_in_order
from ..._config import effective_n_threads, get_config

_MiB = 2**20

#: Most query rows in one chunk, however few neighbours they have.
MAX_CHUNK_ROWS = 65536

#: ``(sizes, flat)``: the neighbourhoods of a chunk of queries in CSR form, the
#: neighbours of query ``i`` being ``flat[sum(sizes[:i]) : sum(sizes[:i + 1])]``.
Neighbourhoods = tuple[np.ndarray, np.ndarray]


class NeighbourSource(Protocol):
    """What the driver asks of a path (trusts its input: validated at the door)."""

    #: Number of points.
    n: int
    #: Whether chunks may run on the shared thread pool (queries that release the GIL
    #: and do not start threads of their own).
    threaded: bool

    def counts(self, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Neighbours of every point (itself included when within eps), and their weight sum (None unweighted)."""

    def among(self, core_index: np.ndarray) -> Callable[[np.ndarray], Neighbourhoods]:
        """A search for the neighbours of query points (global indices) among ``core_index``.

        Neighbours come back as positions in ``core_index``.
        """


def neighbour_budget() -> int:
    """Neighbour indices one chunk may hold: an int64 index and its share of the pairs built from it."""
    return max(1, int(get_config()["working_memory"] * _MiB) // 32)


def chunks_by_counts(counts: np.ndarray) -> Iterator[slice]:
    """Slices of consecutive points whose neighbourhoods fit the working memory."""
    budget = neighbour_budget()
    n = counts.shape[0]
    start = 0
    cumulative = np.cumsum(counts, dtype=np.int64)
    while start < n:
        before = cumulative[start - 1] if start else 0
        stop = int(np.searchsorted(cumulative, before + budget, side="right"))
        stop = min(n, max(stop, start + 1), start + MAX_CHUNK_ROWS)
        yield slice(start, stop)
        start = stop


def csr_of(neighbours: Any) -> Neighbourhoods:
    """``(sizes, flat)`` of a sequence of index arrays (what scikit-learn's radius queries return)."""
    sizes = np.fromiter((len(a) for a in neighbours), dtype=np.int64, count=len(neighbours))
    flat = np.concatenate(neighbours).astype(np.int64, copy=False) if sizes.sum() else np.zeros(0, np.int64)
    return sizes, flat


def segment_sums(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each CSR segment (0 for an empty one)."""
    out = np.zeros(sizes.shape[0], dtype=np.float64)
    full = sizes > 0
    if values.size:
        starts = np.cumsum(sizes) - sizes
        out[full] = np.add.reduceat(values.astype(np.float64, copy=False), starts[full])
    return out


def segment_minima(values: np.ndarray, sizes: np.ndarray, empty: int = -1) -> np.ndarray:
    """Smallest of ``values`` over each CSR segment (``empty`` for an empty one)."""
    out = np.full(sizes.shape[0], empty, dtype=np.int64)
    full = sizes > 0
    if values.size:
        starts = np.cumsum(sizes) - sizes
        out[full] = np.minimum.reduceat(values, starts[full])
    return out


def map_chunks(source: NeighbourSource, fn: Callable[[Any], Any], chunks: list) -> Iterator[Any]:
    """``fn(chunk)`` for every chunk, in order: on the shared threads when the source allows.

    A bounded window of chunks is in flight, so memory stays a few chunks' neighbourhoods.
    """
    if not source.threaded:
        return map(fn, chunks)
    return map_in_order(fn, chunks, window=effective_n_threads())


def chunked_dbscan(
    source: NeighbourSource, weights: np.ndarray | None, min_samples: float
) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN through the queries of ``source``: ``(labels, core mask)``, as scikit-learn labels them."""
    n = source.n
    counts, weighted = source.counts(weights)
    core = (counts if weighted is None else weighted) >= min_samples
    labels = np.full(n, -1, dtype=np.int64)
    core_index = np.flatnonzero(core)
    if core_index.size == 0:
        return labels, core
    search = source.among(core_index)

    def core_pairs(s: slice) -> tuple[np.ndarray, np.ndarray]:
        sizes, flat = search(core_index[s])
        left = np.repeat(np.arange(s.start, s.stop, dtype=np.int64), sizes)
        keep = flat > left  # each pair once
        return left[keep], flat[keep]

    # Smaller index wins every union, so a cluster's root is its first core point.
    parent = np.arange(core_index.size, dtype=np.int64)
    for left, right in map_chunks(source, core_pairs, list(chunks_by_counts(counts[core_index]))):
        union_pairs(parent, left, right)
    root = roots(parent)
    is_root = root == np.arange(root.size)
    core_label = (np.cumsum(is_root) - 1)[root]
    labels[core_index] = core_label

    border_index = np.flatnonzero(~core)

    def smallest_label(s: slice) -> np.ndarray:
        sizes, flat = search(border_index[s])
        return segment_minima(core_label[flat], sizes)

    if border_index.size:
        parts = list(map_chunks(source, smallest_label, list(chunks_by_counts(counts[border_index]))))
        labels[border_index] = np.concatenate(parts)
    return labels, core
