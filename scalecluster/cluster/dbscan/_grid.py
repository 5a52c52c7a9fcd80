"""DBSCAN on a uniform grid index, in memory proportional to n.

The index
---------
Points are binned into *search cells*; a point's eps-neighbours all lie in the
cells at most ``reach`` steps away along every dimension.  Each cell gets an
integer key, linear in its coordinates, so the neighbours of a cell along the
last dimension are consecutive keys: after sorting the points by key, one
column of neighbouring cells is one contiguous slice of points, found by a
binary search.  A cell visits ``(2 * reach + 1) ** (d - 1)`` columns and never
a point outside them, and only *occupied* cells exist (the key array).

Inside the search cells, points are grouped into *runs*: the points of one
clique cell, a cell whose diagonal is below eps, so all its points are
neighbours of each other.  Runs make the dense parts cheap: a run that alone
weighs ``min_samples`` is core without a distance computed, and core points of
a run are joined to each other for free.

* d ≤ 3: search cells are the clique cells themselves (side eps/√d,
  ``reach`` = 2): 5 columns of 5 cells in 2-D, 25 columns in 3-D.
* d ≥ 4: clique cells would need ``reach`` = 3, 7⁴ = 2401 columns in 5-D;
  so search cells have side eps (``reach`` = 1: 27 or 81 columns) and are cut
  into clique sub-cells for the runs.
* d > 8 (the ``auto`` switch): 3^(d-1) columns, each holding mostly points
  outside the eps-ball.  Measured on 30k blobs with ~40 neighbours per point
  (2 cores): the grid takes 0.25× the tree path's time at 6-D and 0.70× at
  8-D; beyond that the grid loses, and its keys soon overflow.  See
  :mod:`._tree`.

Both cell sides carry a relative margin of 1e-6, so floating-point rounding in
the binning can neither split a neighbour pair across non-adjacent cells nor
put two points more than eps apart into one clique cell.

The algorithm
-------------
1. core points: neighbour weights counted up to ``min_samples``;
2. clusters: union-find over runs, joining two runs that hold a pair of core
   points within eps — first the runs of each cell among themselves, then
   across neighbouring cells, where a cell whose core runs are one tree is
   skipped as a whole once joined (each pair of runs looked at once, and
   skipped when already joined or when their boxes are beyond eps);
3. labels: clusters are numbered by their first core point in input order, and
   a border point takes the smallest label among its core neighbours — the
   order in which scikit-learn's DBSCAN expands its clusters, so the labels are
   identical to its labels, border points included.

Memory: the sorted float64 copy of X, and a few int64 arrays of length n: O(n),
never the neighbourhoods.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._common.disjoint_set import roots, union_pairs
from ..._common.numbering import rank_by_first
from ..._common.parallel import run_weighted_ranges
from ..._config import effective_n_threads
from . import _kernels_cpu as kernels

#: Largest dimension the grid handles (see the module docstring).
GRID_MAX_FEATURES = 8

#: Relative margin on cell sides against rounding in the binning.
_MARGIN = 1e-6

#: Keys must stay below this (int64, with room for the neighbour offsets).
_MAX_KEY = 2**62


@dataclass
class GridIndex:
    """Points sorted by cell and run, and where each cell and run starts."""

    X: np.ndarray  # (n, d) float64, sorted
    order: np.ndarray  # (n,) original index of each sorted point
    cell_keys: np.ndarray
    cell_start: np.ndarray
    cell_run_start: np.ndarray
    run_start: np.ndarray
    outer: np.ndarray  # key offset of each neighbouring column, own column first
    outer_steps: np.ndarray  # (columns, d - 1) the same offsets in cells along each axis
    reach: int
    low: np.ndarray  # (d,) origin of the grid
    side: float  # side of a search cell
    sub_side: float  # side of a clique cell (equal to ``side`` when d <= 3)
    run_sub: np.ndarray  # (runs, d) int8: each run's clique cell inside its search cell, per axis
    per_dim: int  # clique cells per search cell along each axis (1 when d <= 3)

    @property
    def n_cells(self) -> int:
        return self.cell_keys.shape[0]

    @property
    def layout(self) -> tuple:
        """The arrays every kernel walks (see :mod:`._kernels_cpu`)."""
        return (self.cell_keys, self.cell_start, self.cell_run_start, self.run_start, self.outer, self.reach)

    @property
    def geometry(self) -> tuple:
        """What the kernels need to skip cells, and runs, beyond eps of a point."""
        return (self.low, self.side, self.outer_steps, self.sub_side, self.run_sub, self.per_dim)


def grid_shape(n_features: int, eps: float) -> tuple[float, int, float | None, int]:
    """``(search side, reach, clique sub-cell side or None, sub-cells per dimension)``."""
    d = n_features
    if d <= 3:
        side = eps / math.sqrt(d) * (1 - _MARGIN)
        return side, math.ceil(eps / side), None, 1
    side = eps * (1 + _MARGIN)
    sub_side = eps / math.sqrt(d) * (1 - _MARGIN)
    return side, 1, sub_side, math.ceil(side / sub_side)


def grid_fits(X: np.ndarray, eps: float) -> bool:
    """Whether the keys of ``X``'s grid fit in int64 (else the tree path is used)."""
    return _key_layout(X.min(axis=0), X.max(axis=0), eps) is not None


def _key_layout(low: np.ndarray, high: np.ndarray, eps: float) -> tuple[np.ndarray, int] | None:
    side, reach, _, per_dim = grid_shape(low.shape[0], eps)
    extents = [int((h - lo) // side) + 1 + 2 * reach for lo, h in zip(low.tolist(), high.tolist())]
    total = per_dim ** low.shape[0]
    for e in extents:
        total *= e
    if total >= _MAX_KEY:
        return None
    strides = np.ones(len(extents), dtype=np.int64)
    for j in range(len(extents) - 2, -1, -1):
        strides[j] = strides[j + 1] * extents[j + 1]
    return strides, per_dim ** low.shape[0]


def build_grid(X: np.ndarray, eps: float) -> GridIndex:
    """Sort ``X`` (float64, finite) into the grid index for radius ``eps``."""
    n, d = X.shape
    side, reach, sub_side, per_dim = grid_shape(d, eps)
    low = X.min(axis=0)
    layout = _key_layout(low, X.max(axis=0), eps)
    if layout is None:
        raise ValueError(f"eps={eps} is too small for a grid over this data's range: the cell keys overflow int64.")
    strides, n_sub = layout
    # Keys one feature at a time: no (n, d) integer temporary.
    key = np.zeros(n, dtype=np.int64)
    sub = np.zeros(n, dtype=np.int64) if sub_side is not None else None
    for j in range(d):
        offset = X[:, j] - low[j]
        cell = np.floor(offset / side)
        key += (cell.astype(np.int64) + reach) * strides[j]
        if sub is not None:
            within = np.floor((offset - cell * side) / sub_side).astype(np.int64)
            sub = sub * per_dim + np.clip(within, 0, per_dim - 1)
        del offset, cell
    if sub is not None:
        key = key * n_sub + sub
        del sub
    # Order inside a run does not matter (clusters are numbered by their smallest
    # input index, whatever the order), so the faster unstable sort will do.
    order = np.argsort(key)
    run_keys = key[order]
    del key
    run_start = _starts(run_keys)
    run_key = run_keys[run_start[:-1]]
    del run_keys
    cell_of_run = run_key // n_sub
    cell_run_start = _starts(cell_of_run)
    cell_keys = cell_of_run[cell_run_start[:-1]]
    cell_start = run_start[cell_run_start]
    del cell_of_run
    if n_sub > 1:
        run_sub = _sub_cells(run_key, n_sub, d, per_dim)
    else:  # the runs are the search cells: one sub-cell (zeros: not even allocated until read)
        run_sub = np.zeros((run_key.shape[0], d), dtype=np.int8)
    del run_key

    outer, outer_steps = _outer_offsets(strides, reach)
    return GridIndex(
        X=np.take(X, order, axis=0),  # np.take: ~8x faster than X[order] for narrow rows
        order=order,
        cell_keys=cell_keys,
        cell_start=cell_start,
        cell_run_start=cell_run_start,
        run_start=run_start,
        outer=outer,
        outer_steps=outer_steps,
        reach=reach,
        low=np.asarray(low, dtype=np.float64),
        side=float(side),
        sub_side=float(side if sub_side is None else sub_side),
        run_sub=run_sub,
        per_dim=per_dim,
    )


def _sub_cells(run_key: np.ndarray, n_sub: int, d: int, per_dim: int) -> np.ndarray:
    """Decode the clique-cell part of the run keys into one small coordinate per axis."""
    coords = np.empty((run_key.shape[0], d), dtype=np.int8)  # per_dim <= 4 for d <= 10
    sub = run_key % n_sub
    for j in range(d - 1, -1, -1):
        coords[:, j] = sub % per_dim
        sub //= per_dim
    return coords


def _starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Start of every run of equal values, and the total length at the end."""
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    return np.concatenate(([0], change, [sorted_keys.shape[0]])).astype(np.int64)


def _outer_offsets(strides: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """Neighbouring columns (all axes but the last): key offsets and steps per axis, own column first."""
    d_outer = strides.shape[0] - 1
    steps = np.arange(-reach, reach + 1, dtype=np.int64)
    grids = np.meshgrid(*([steps] * d_outer), indexing="ij")
    per_axis = np.stack([g.ravel() for g in grids], axis=1) if d_outer else np.zeros((1, 0), np.int64)
    own = np.flatnonzero((per_axis == 0).all(axis=1))
    per_axis = np.concatenate((per_axis[own], np.delete(per_axis, own, axis=0)))
    keys = per_axis @ strides[:-1] if d_outer else np.zeros(1, np.int64)
    return np.ascontiguousarray(keys, dtype=np.int64), np.ascontiguousarray(per_axis, dtype=np.int64)


def grid_dbscan(
    X: np.ndarray, weights: np.ndarray | None, eps: float, min_samples: float
) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN of ``X`` on the grid: ``(labels, core mask)`` in input order.

    ``X`` must be finite; ``weights`` non-negative (None: every point weighs 1).
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    index = build_grid(X, eps)
    # Unit weights as a stride-0 view: n float64 ones would be an eighth of the memory here.
    w = (
        np.broadcast_to(np.float64(1.0), (n,))
        if weights is None
        else np.take(np.asarray(weights, np.float64), index.order)
    )
    eps2 = float(eps) * float(eps)
    core = np.zeros(n, dtype=np.bool_)
    grid, geometry = index.layout, index.geometry
    _run_cells(
        index,
        lambda c0, c1: kernels.core_points(index.X, w, grid, geometry, eps2, float(min_samples), c0, c1, core),
    )

    n_runs = index.run_start.shape[0] - 1
    run_has_core = np.logical_or.reduceat(core, index.run_start[:-1]) if n_runs else np.zeros(0, bool)
    parent = _join(index, core, run_has_core, eps2)
    run_label = _number_clusters(roots(parent), run_has_core, index, core)
    del parent

    labels_sorted = np.empty(n, dtype=np.int64)
    _run_cells(
        index,
        lambda c0, c1: kernels.border_labels(index.X, core, run_label, grid, geometry, eps2, c0, c1, labels_sorted),
    )
    labels = np.empty(n, dtype=np.int64)
    labels[index.order] = labels_sorted
    core_mask = np.zeros(n, dtype=np.bool_)
    core_mask[index.order] = core
    return labels, core_mask


def _join(index: GridIndex, core: np.ndarray, run_has_core: np.ndarray, eps2: float) -> np.ndarray:
    """Union-find parents of the runs, in two passes over the cells, each on threads.

    1. The core runs of each cell are joined among themselves (each cell
       touches only its own runs, so the ranges share one union-find).
    2. Runs are joined across neighbouring cells: each cell range builds a
       spanning forest with a private copy of the union-find (no locks), and
       the forests are merged here.  A cell whose core runs the first pass
       joined into one tree is then handled as a whole, which is what keeps
       dense data (thousands of runs within reach of each) cheap.
    """
    n_runs = run_has_core.shape[0]
    parent = np.arange(n_runs, dtype=np.int64)
    grid, geometry = index.layout, index.geometry
    _run_cells(
        index,
        lambda c0, c1: kernels.join_within_cells(index.X, core, run_has_core, grid, geometry, eps2, c0, c1, parent),
    )
    parent = roots(parent)
    connected, cell_root = _cell_trees(index, parent, run_has_core)
    lock = threading.Lock()

    def work(c0: int, c1: int) -> None:
        # A range copies the union-find as it is now, with the forests of the ranges
        # merged before it: more joined runs to skip, and still only true links.
        with lock:
            local = parent.copy()
        # A forest has fewer edges than nodes; int32 ids when they fit halve this buffer.
        edges = np.empty((n_runs, 2), np.int32 if n_runs < 2**31 else np.int64)
        count = kernels.join_between_cells(
            index.X, core, run_has_core, grid, geometry, eps2, c0, c1, local, edges, connected, cell_root
        )
        del local
        with lock:
            union_pairs(parent, edges[:count, 0], edges[:count, 1])

    _run_cells(index, work)
    return parent


def _cell_trees(index: GridIndex, root: np.ndarray, run_has_core: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: whether all its core runs share one root, and one of its core runs' roots (-1: none)."""
    big = np.iinfo(np.int64).max
    starts = index.cell_run_start[:-1]
    low = np.minimum.reduceat(np.where(run_has_core, root, big), starts) if starts.size else np.zeros(0, np.int64)
    high = np.maximum.reduceat(np.where(run_has_core, root, -1), starts) if starts.size else np.zeros(0, np.int64)
    has_core = high >= 0
    return has_core & (low == high), np.where(has_core, low, -1)


def _number_clusters(root: np.ndarray, run_has_core: np.ndarray, index: GridIndex, core: np.ndarray) -> np.ndarray:
    """Label of every run (-1 without core points): clusters numbered by first core point in input order."""
    run_label = np.full(root.shape[0], -1, dtype=np.int64)
    if not run_has_core.any():
        return run_label
    # First core point (input order) of every run.
    first = np.where(core, index.order, np.iinfo(np.int64).max)
    run_first = np.minimum.reduceat(first, index.run_start[:-1])
    number = rank_by_first(root, run_first, run_has_core)
    run_label[run_has_core] = number[root[run_has_core]]
    return run_label


def _run_cells(index: GridIndex, work: Any) -> None:
    """Run ``work(c0, c1)`` over cell ranges of about equal point counts, on threads.

    Four ranges per thread: dense cells make some ranges far slower than
    others, and smaller ranges even the threads out.
    """
    n_ranges = max(1, min(effective_n_threads() * 4, index.X.shape[0] // 20_000))
    run_weighted_ranges(index.cell_start, work, n_ranges=n_ranges)
