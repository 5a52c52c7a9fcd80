"""Distributed DBSCAN: slabs with halos, clustered where they live, merged by ids.

1. One pass over the (persisted) blocks: NaN/inf check and a strided sample
   of rows.  One feature is cut into slabs (aiming at one per block of
   ``X``) of equal sampled rows, but never narrower than the halo (2·eps),
   so a row is copied to at most two other slabs; the feature whose largest
   slab, halo included, holds the fewest sampled rows is the one cut (see
   :func:`_slab_borders`).
2. Every block sends each of its rows to the slab that owns it and, as a
   copy, to every slab whose *halo* — 2·eps on either side — holds it.
3. Each slab is clustered in memory by the single-machine DBSCAN.  A point
   within eps of the slab's own range has all its neighbours in the slab, so
   its core flag is exact; points farther out may be missing neighbours, so
   they can only look *less* core than they are, never more: every link the
   slab finds is a true link, and every true link between two core points
   shows up in the slab that owns one of them.
4. The client receives only ids: for each core point seen by more than one
   slab, its (slab, local cluster) pairs, and each local cluster's first core
   point.  A union-find over local clusters gives the global clusters, numbered
   by first core point as scikit-learn numbers them.
5. Border points that touch two local clusters send those candidates, and take the smallest global label; the labels go back to the
   blocks they came from, so ``labels_`` is chunked like ``X``'s rows.

Only the halo copies (about 4·eps/slab-width of the data) and integer ids move
beyond the per-row shuffle; no slab ever holds more than its share plus halo.

CuPy chunks: blocks come to the host to be split (as for NumPy chunks), and
each slab's rows then go to the device to be clustered by the grid's CUDA
kernels (the estimator's ``_slab_on_the_device``); its labels and core flags come back to the
host, where the halo merge runs.  Per slab that costs its rows (``d ×
itemsize`` bytes each, plus 8 for a weight) to the device and 9 bytes per
row back, over PCIe: at ~25 GB/s, about 1.3 ms per million 6-D float32 rows
(33 MB), besides each block's own trip to the host for the split (the same
size again, which the Dask path already made before slabs ran on the GPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..._common.disjoint_set import roots, union_pairs
from ..._common.numbering import rank_by_first

#: Rows per block sampled to place the slab borders.
_SAMPLE_ROWS_PER_BLOCK = 2000


def _block_summary(block: np.ndarray) -> tuple[bool, np.ndarray]:
    """Whether the block is finite, and a strided sample of its rows (float64)."""
    step = max(1, block.shape[0] // _SAMPLE_ROWS_PER_BLOCK)
    finite = bool(np.isfinite(block).all()) if block.shape[0] else True
    return finite, np.asarray(block[::step], dtype=np.float64)


#: Narrowest slab, in units of eps: the width of the halo, so that a row is
#: copied to at most the two neighbouring slabs.  Cutting at plain quantiles
#: made slabs far thinner than the halo wherever the data is dense: on 3M rows
#: of 6-D traffic features (eps 0.068, 30 blocks) every row was copied to 14
#: slabs on average and the largest slab held 2.2M rows.
_MIN_SLAB_WIDTH = 2.0


def _slab_borders(sample: np.ndarray, n_slabs: int, eps: float) -> tuple[int, np.ndarray]:
    """The feature to cut, and where: ``(axis, sorted borders)``.

    On every feature the sampled rows are cut greedily into slabs of
    ``len(sample) / n_slabs`` rows, each at least ``_MIN_SLAB_WIDTH · eps``
    wide; the feature whose largest slab (its halo included) holds the
    fewest sampled rows wins, then the one copying fewer rows.  The widest
    feature is not always it: a feature whose values crowd into a band
    narrower than eps cannot be cut there at all.
    """
    best = None
    for axis in range(sample.shape[1]):
        values = np.sort(sample[:, axis])
        borders = _greedy_borders(values, n_slabs, _MIN_SLAB_WIDTH * eps)
        score = _slab_load(values, borders, eps)
        if best is None or score < best[0]:
            best = (score, axis, borders)
    return best[1], best[2]


def _greedy_borders(values: np.ndarray, n_slabs: int, min_width: float) -> np.ndarray:
    """Borders cutting the sorted ``values`` every ``len / n_slabs`` values, slabs at least ``min_width`` wide."""
    n = values.shape[0]
    if n_slabs <= 1 or n == 0:
        return np.zeros(0)
    target = n / n_slabs
    borders: list[float] = []
    low, start = values[0], 0
    while True:
        i = int(start + target)
        if i >= n:
            break
        cut = max(values[i], low + min_width)
        if cut <= low:  # ties with no minimum width: move to the next distinct value
            k = int(np.searchsorted(values, low, side="right"))
            if k >= n:
                break
            cut = values[k]
        start = int(np.searchsorted(values, cut, side="left"))
        if start >= n:
            break
        borders.append(float(cut))
        low = cut
    return np.asarray(borders, dtype=np.float64)


def _slab_load(values: np.ndarray, borders: np.ndarray, eps: float) -> tuple[int, int]:
    """(rows of the largest slab, rows copied in all), halos included, for these borders."""
    first, last = _slab_range(values, borders, eps)
    change = np.zeros(borders.shape[0] + 2, dtype=np.int64)
    np.add.at(change, first, 1)
    np.add.at(change, last + 1, -1)
    per_slab = np.cumsum(change)[:-1]
    return int(per_slab.max(initial=0)), int((last - first + 1).sum())


def _slab_range(x: np.ndarray, borders: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """For each value, the first and last slab whose range or halo (2·eps) holds it."""
    lower = np.concatenate(([-np.inf], borders)) - 2 * eps
    upper = np.concatenate((borders, [np.inf])) + 2 * eps
    first = np.searchsorted(upper, x, side="right")  # first slab whose upper edge is beyond x
    last = np.searchsorted(lower, x, side="right") - 1  # last slab whose lower edge is at or below x
    return first, last


def _split_block(
    block: np.ndarray,
    weights: np.ndarray | None,
    offset: int,
    axis: int,
    borders: np.ndarray,
    eps: float,
) -> tuple:
    """The rows of one block for every slab: (rows, weights, global indices), halos included."""
    x = np.asarray(block[:, axis], dtype=np.float64)
    n_slabs = borders.shape[0] + 1
    first, last = _slab_range(x, borders, eps)
    pieces = []
    index = np.arange(offset, offset + block.shape[0], dtype=np.int64)
    for s in range(n_slabs):
        mask = (first <= s) & (s <= last)
        pieces.append((block[mask], None if weights is None else weights[mask], index[mask]))
    return tuple(pieces)


class _SlabResult:
    """What one slab keeps on its worker, plus the small parts the client needs."""

    def __init__(
        self,
        owned_index,
        owned_labels,
        owned_core,
        shared,
        first_core,
        ambiguous,
        n_local,
    ):
        self.owned_index = owned_index  # global indices of the points this slab owns
        self.owned_labels = owned_labels  # their local labels (-1: noise)
        self.owned_core = owned_core
        self.shared = shared  # (global index, local cluster) of core points near the edges
        self.first_core = first_core  # per local cluster: first owned core point (global), or -1
        self.ambiguous = ambiguous  # (global index, local cluster) candidates of edge border points
        self.n_local = n_local

    def small(self) -> tuple:
        return self.shared, self.first_core, self.ambiguous, self.n_local


def _cluster_slab(
    pieces: list, low: float, high: float, axis: int, eps: float, cluster: Callable, make_tree: Callable
) -> _SlabResult:
    rows = [p[0] for p in pieces]
    X = np.concatenate(rows) if rows else np.zeros((0, 0))
    index = np.concatenate([p[2] for p in pieces])
    weights = None if pieces[0][1] is None else np.concatenate([p[1] for p in pieces])
    x = np.asarray(X[:, axis], dtype=np.float64) if X.shape[0] else np.zeros(0)
    owned = (x >= low) & (x < high)
    if X.shape[0] == 0:
        empty = np.zeros(0, np.int64)
        return _SlabResult(
            empty,
            empty,
            np.zeros(0, bool),
            np.zeros((0, 2), np.int64),
            empty,
            np.zeros((0, 2), np.int64),
            0,
        )
    labels, core = cluster(X, weights)
    n_local = int(labels.max()) + 1 if labels.size else 0

    # Core points whose core flag is exact here and that other slabs also see.
    exact = (x >= low - eps) & (x < high + eps)
    near_edge = (x < low + 2 * eps) | (x >= high - 2 * eps)
    share = core & exact & (near_edge | ~owned)
    shared = np.column_stack((index[share], labels[share])).astype(np.int64)

    first_core = np.full(n_local, -1, dtype=np.int64)
    mine = core & owned
    if mine.any():
        big = np.iinfo(np.int64).max
        best = np.full(n_local, big, dtype=np.int64)
        np.minimum.at(best, labels[mine], index[mine])
        first_core = np.where(best == big, -1, best)

    # A border point touching several local clusters needs the smallest *global*
    # label among them, which only the client knows: send those candidates.
    border = np.flatnonzero(owned & ~core & (labels >= 0))
    ambiguous = np.zeros((0, 2), np.int64)
    if border.size:
        core_rows = np.flatnonzero(core & exact)
        tree = make_tree(np.asarray(X[core_rows], dtype=np.float64))
        hits = tree.query_radius(np.asarray(X[border], dtype=np.float64), eps)
        sizes = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        pairs = np.column_stack((np.repeat(index[border], sizes), labels[core_rows[np.concatenate(hits)]]))
        pairs = np.unique(pairs.astype(np.int64), axis=0)
        many = np.flatnonzero(np.bincount(np.searchsorted(index[border], pairs[:, 0]), minlength=border.size) > 1)
        ambiguous = pairs[np.isin(pairs[:, 0], index[border][many])]
    return _SlabResult(index[owned], labels[owned], core[owned], shared, first_core, ambiguous, n_local)


def _global_labels(smalls: list[tuple]) -> tuple[list[np.ndarray], dict[int, int]]:
    """Per slab, the global label of each local cluster; and labels of ambiguous border points."""
    starts = np.cumsum([0] + [s[3] for s in smalls])
    n_nodes = int(starts[-1])
    parent = np.arange(n_nodes, dtype=np.int64)
    shared = [np.column_stack((s[0][:, 0], s[0][:, 1] + starts[i])) for i, s in enumerate(smalls) if len(s[0])]
    if shared:
        pairs = np.concatenate(shared)
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        same = pairs[1:, 0] == pairs[:-1, 0]
        union_pairs(parent, pairs[:-1, 1][same], pairs[1:, 1][same])
    root = roots(parent)
    first = np.concatenate([s[1] for s in smalls]) if n_nodes else np.zeros(0, np.int64)
    node_label = rank_by_first(root, first, first >= 0)[root]
    per_slab = [node_label[starts[i] : starts[i + 1]] for i in range(len(smalls))]

    resolved: dict[int, int] = {}
    for i, s in enumerate(smalls):
        for point, local in s[2].tolist():
            label = int(per_slab[i][local])
            resolved[point] = min(label, resolved.get(point, label))
    return per_slab, resolved


def _final_labels(result: _SlabResult, mapping: np.ndarray, resolved: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.full(result.owned_labels.shape[0], -1, dtype=np.int64)
    clustered = result.owned_labels >= 0  # a slab of noise only has no local clusters at all
    labels[clustered] = mapping[result.owned_labels[clustered]]
    if resolved:
        for pos in np.flatnonzero(np.isin(result.owned_index, np.fromiter(resolved, dtype=np.int64))).tolist():
            labels[pos] = resolved[int(result.owned_index[pos])]
    return result.owned_index, labels


def _slab_pieces(owned: tuple, bounds: np.ndarray) -> tuple:
    """Split a slab's (global index, label) by the input blocks they belong to."""
    index, labels = owned
    block = np.searchsorted(bounds, index, side="right") - 1
    return tuple((index[block == b], labels[block == b]) for b in range(bounds.shape[0] - 1))


def _assemble(pieces: list, start: int, stop: int) -> np.ndarray:
    out = np.full(stop - start, -1, dtype=np.int64)
    for index, labels in pieces:
        out[index - start] = labels
    return out


def dask_dbscan(
    backend: Any, X: Any, weights: Any, cluster: Callable, make_tree: Callable, *, eps: float
) -> tuple[Any, np.ndarray]:
    """DBSCAN of a Dask array: ``(labels as a Dask array chunked like X, core indices)``.

    ``cluster(X, weights) -> (labels, core)`` is the in-memory DBSCAN run on each (host) slab
    (the estimator moves it to the GPU for CuPy chunks);
    ``make_tree(points)`` builds a neighbour tree in the estimator's metric.
    """
    import dask
    import dask.array as da

    X = X.persist()
    blocks = X.to_delayed().ravel().tolist()
    w_blocks = [None] * len(blocks) if weights is None else weights.persist().to_delayed().ravel().tolist()
    sizes = list(X.chunks[0])
    bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    to_host = backend.chunk.to_host

    summaries = dask.compute(*[dask.delayed(_block_summary)(dask.delayed(to_host)(b)) for b in blocks])
    if not all(s[0] for s in summaries):
        raise ValueError("Input X contains NaN or infinity.")
    sample = np.concatenate([s[1] for s in summaries])
    axis, borders = _slab_borders(sample, len(blocks), eps)
    n_slabs = borders.shape[0] + 1

    split = [
        dask.delayed(_split_block, nout=n_slabs, pure=False)(
            dask.delayed(to_host)(b),
            None if w is None else dask.delayed(to_host)(w),
            int(bounds[i]),
            axis,
            borders,
            eps,
        )
        for i, (b, w) in enumerate(zip(blocks, w_blocks))
    ]
    edges = np.concatenate(([-np.inf], borders, [np.inf]))
    slabs = [
        dask.delayed(_cluster_slab, pure=False)(
            [split[i][s] for i in range(len(blocks))],
            float(edges[s]),
            float(edges[s + 1]),
            axis,
            eps,
            cluster,
            make_tree,
        )
        for s in range(n_slabs)
    ]
    slabs = dask.persist(*slabs)
    smalls = dask.compute(*[dask.delayed(_SlabResult.small)(s) for s in slabs])
    per_slab, resolved = _global_labels(list(smalls))

    owned = [dask.delayed(_final_labels, pure=False)(s, per_slab[i], resolved) for i, s in enumerate(slabs)]
    core_parts = dask.compute(*[dask.delayed(lambda r: r.owned_index[r.owned_core])(s) for s in slabs])
    core_index = np.sort(np.concatenate(core_parts)) if core_parts else np.zeros(0, np.int64)

    routed = [dask.delayed(_slab_pieces, nout=len(blocks), pure=False)(o, bounds) for o in owned]
    label_blocks = [
        da.from_delayed(
            dask.delayed(_assemble, pure=False)(
                [routed[s][b] for s in range(n_slabs)],
                int(bounds[b]),
                int(bounds[b + 1]),
            ),
            shape=(sizes[b],),
            dtype=np.int64,
        )
        for b in range(len(blocks))
    ]
    labels = da.concatenate(label_blocks) if len(label_blocks) > 1 else label_blocks[0]
    if labels.chunks[0] != tuple(sizes):
        # concatenate drops blocks of 0 rows (an empty chunk, or a DataFrame's empty
        # partition): labels_ is chunked like X's rows, empty blocks included.
        labels = labels.rechunk((tuple(sizes),))
    labels = labels.persist()
    return labels, core_index
