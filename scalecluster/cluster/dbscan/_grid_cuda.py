"""DBSCAN's grid on a GPU: the index built with the data's array module, clustered by :mod:`._kernels_cuda`.

The same grid as the CPU's (:mod:`._grid`): the same cell sides, margin and
keys, computed by the same formula one feature at a time, so the same pairs
are looked at and the labels are identical — scikit-learn's, border points
included.  Every feature count the CPU grid takes is supported: clique cells
of side eps/√d searched with ``reach`` 2 for d ≤ 3, search cells of side eps
(``reach`` 1) cut into clique sub-cells for d ≥ 4.  For d ≥ 4 only columns
and cells are skipped by their boxes, not runs as on the CPU, so each point
compares more pairs there (at 6-D up to 3⁶ cells of side eps around a ball
of volume 5.2 eps⁶) until its early exit; the GPU's width absorbs that, but
it is the first thing to tune for many features.

Steps (``xp`` is the array module of the data: CuPy on a GPU, NumPy in the
simulator, where the same kernels run unchanged):

1. index (``xp``): int64 keys, ``xp.argsort`` (a radix sort on CuPy), the
   sorted float64 copy of ``X``, runs (equal keys: one clique cell) and cells;
2. core points (kernel): own run's weight, then neighbours until ``min_samples``;
3. components: each core point starts under its run's first core point (no
   distance inside a clique cell), then a kernel joins core points within eps
   across runs with a lock-free union-find (``atomic.cas``);
4. numbering: each component's smallest input index (``atomic.min``), ranked
   with ``xp.argsort`` — :func:`scalecluster._common.numbering.rank_by_first`'s rule;
5. border points (kernel): the smallest label among core points within eps;
6. labels and core flags scattered back to input order (``xp``).

Results depend on no scheduling: the components are a partition whatever
order the links land in, and clusters are numbered by their smallest input
index.

Cost
----
Memory is O(n), never the neighbourhoods.  Besides ``X`` and the output
(9 bytes per point): the sorted float64 copy (8·d bytes per point), two
int64 arrays per point for the whole run (order, run id), at most three more
at once (weights, then parents, then roots, first indices and labels), and
3 int64 per run and 2 per cell (runs and cells are at most n).  At the peak,
about 8·d + 42 bytes per point plus 24 per run and 16 per cell: from
8·d + 42 on dense data to 8·d + 82 when every point is alone in its cell.
While the index is built, the keys and the sort's buffers take about 40
bytes per point, before the sorted copy exists.

Time: building the index is a handful of O(n·d) element-wise passes and one
sort.  Each kernel gives a point ``(2·reach + 1)^(d-1)`` columns (5, 25 for
d = 2, 3; 3^(d-1) beyond), each two binary searches of log₂(cells) steps;
then one distance per candidate point, ``3·d`` float64 flops over the
candidate's ``8·d`` bytes — 3/8 flop per byte, but the rows of a cell are
read by every thread near it, so they come mostly from cache and the kernels
are bound by latency and divergence, not by bandwidth.  Candidates per point
are the points of the neighbouring cells not skipped by their boxes, about
4× (2-D) to 6× (3-D) the eps-neighbourhood, cut short by the early exits:
counting stops at ``min_samples``, a run that alone weighs ``min_samples``
needs no distance, a pair of runs already joined is skipped, and a border
point skips runs whose label is not smaller than its best so far.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._grid import _key_layout, _outer_offsets, grid_shape


@dataclass
class DeviceGrid:
    """The grid index on the device (see :mod:`._kernels_cuda` for the arrays)."""

    X: Any  # (n, d) float64, sorted
    order: Any  # (n,) input index of each sorted point
    run_id: Any
    run_start: Any
    run_keys: Any
    cell_keys: Any
    cell_run_start: Any
    outer: Any
    outer_steps: Any
    low: Any
    side: float
    prune2: float  # squared gap beyond which a column or cell is surely out of reach
    reach: int
    n_sub: int

    def walk(self) -> tuple:
        """The arguments every neighbour-walking kernel takes after its own."""
        return (
            self.run_id,
            self.run_start,
            self.run_keys,
            self.cell_keys,
            self.cell_run_start,
            self.outer,
            self.outer_steps,
            self.reach,
            self.n_sub,
            self.low,
            self.side,
            self.prune2,
        )


def _data_range(backend: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature min and max on the host, float64 (what the CPU grid computes from its float64 copy)."""
    low = np.asarray(backend.to_host(X.min(axis=0)), dtype=np.float64)
    high = np.asarray(backend.to_host(X.max(axis=0)), dtype=np.float64)
    return low, high


def grid_fits_on_device(backend: Any, X: Any, eps: float) -> bool:
    """Whether the keys of ``X``'s grid fit in int64 (as :func:`._grid.grid_fits`, without copying ``X``)."""
    return _key_layout(*_data_range(backend, X), eps) is not None


def _prune_limit(low: np.ndarray, high: np.ndarray, eps: float) -> float:
    """Squared distance from a point to a cell's box beyond which none of the cell's points is within eps.

    The boxes come from rounded coordinates: a point can sit a few ulps of
    the data's magnitude outside its cell, and a kernel's gap can be off as
    much (on a GPU, FMA contraction rounds it differently from the CPU).
    So the bound is widened by that much along every axis, plus the CPU's
    relative 1e-9: pruning less only costs time, pruning a neighbour would
    change a label.
    """
    scale = float(max(np.abs(low).max(), np.abs(high).max()))
    slack = math.sqrt(low.shape[0]) * 8 * np.finfo(np.float64).eps * scale
    return ((float(eps) + slack) * (1 + 1e-9)) ** 2


def _starts(xp: Any, sorted_keys: Any) -> Any:
    """Start of every run of equal values, and the total length at the end (int64)."""
    change = xp.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    ends = xp.asarray([0, sorted_keys.shape[0]], dtype=xp.int64)
    return xp.concatenate((ends[:1], change.astype(xp.int64), ends[1:]))


def build_device_grid(backend: Any, X: Any, eps: float) -> DeviceGrid:
    """Sort ``X`` (finite, float32 or float64, in ``backend.xp``) into the grid index for radius ``eps``."""
    xp = backend.xp
    n, d = X.shape
    side, reach, sub_side, per_dim = grid_shape(d, eps)
    low, high = _data_range(backend, X)
    layout = _key_layout(low, high, eps)
    if layout is None:
        raise ValueError(f"eps={eps} is too small for a grid over this data's range: the cell keys overflow int64.")
    strides, n_sub = layout
    # Keys one feature at a time, by _grid.build_grid's formula: no (n, d) temporary.
    key = xp.zeros(n, dtype=xp.int64)
    sub = xp.zeros(n, dtype=xp.int64) if sub_side is not None else None
    for j in range(d):
        offset = xp.asarray(X[:, j], dtype=xp.float64) - low[j]
        cell = xp.floor(offset / side)
        key += (cell.astype(xp.int64) + reach) * int(strides[j])
        if sub is not None:
            within = xp.floor((offset - cell * side) / sub_side).astype(xp.int64)
            sub = sub * per_dim + xp.clip(within, 0, per_dim - 1)
        del offset, cell
    if sub is not None:
        key = key * n_sub + sub
        del sub
    order = xp.argsort(key)  # order inside a run does not matter: clusters are numbered by input index
    keys = key[order]
    del key
    run_id = xp.concatenate((xp.zeros(1, xp.int64), xp.cumsum(keys[1:] != keys[:-1], dtype=xp.int64)))
    run_start = _starts(xp, keys)
    run_keys = keys[run_start[:-1]]
    del keys
    cell_of_run = run_keys // n_sub
    cell_run_start = _starts(xp, cell_of_run)
    cell_keys = cell_of_run[cell_run_start[:-1]]
    del cell_of_run

    outer, outer_steps = _outer_offsets(strides, reach)
    if outer_steps.shape[1] == 0:  # 1-D: one column, no outer axis; a zero-width array is awkward on a device
        outer_steps = np.zeros((1, 1), dtype=np.int64)
    return DeviceGrid(
        X=xp.asarray(xp.take(X, order, axis=0), dtype=xp.float64),
        order=order,
        run_id=run_id,
        run_start=run_start,
        run_keys=run_keys,
        cell_keys=cell_keys,
        cell_run_start=cell_run_start,
        outer=xp.asarray(outer),
        outer_steps=xp.asarray(np.ascontiguousarray(outer_steps)),
        low=xp.asarray(low),
        side=float(side),
        prune2=_prune_limit(low, high, eps),
        reach=int(reach),
        n_sub=int(n_sub),
    )


@contextlib.contextmanager
def _on_the_gpu_of(xp: Any, X: Any) -> Iterator[None]:
    """CuPy's and numba's current device set to ``X``'s (with several GPUs, they need not be)."""
    if xp is np:
        yield
        return
    from numba import cuda

    with X.device, cuda.gpus[X.device.id]:
        yield


def _stream(xp: Any) -> Any:
    """The stream to launch on: CuPy's current one (so kernels queue behind CuPy's work), else the default."""
    if xp is np:
        return 0
    ptr = xp.cuda.get_current_stream().ptr
    if not ptr:
        return 0
    from numba import cuda

    return cuda.external_stream(ptr)


def _launch(kernel: Any, n_threads: int, stream: Any, *args: Any) -> None:
    from ._kernels_cuda import THREADS

    kernel[max(1, -(-n_threads // THREADS)), THREADS, stream](*args)


def cuda_grid_dbscan(backend: Any, X: Any, weights: Any, eps: float, min_samples: float) -> tuple[Any, Any]:
    """DBSCAN of ``X`` on the GPU grid: ``(labels int64, core mask bool)`` in input order, in ``backend.xp``.

    Trusts its input (validated at the door): ``X`` finite, 2-D, float32 or
    float64; ``weights`` None (every point weighs 1) or non-negative float64;
    the grid's keys fit (:func:`grid_fits_on_device`).  ``backend`` gives the
    array module (``.xp``) and ``.to_host`` for the few scalars read back.
    """
    with _on_the_gpu_of(backend.xp, X):
        return _cluster(backend, X, weights, eps, min_samples)


def _cluster(backend: Any, X: Any, weights: Any, eps: float, min_samples: float) -> tuple[Any, Any]:
    from . import _kernels_cuda as kernels

    xp = backend.xp
    stream = _stream(xp)
    index = build_device_grid(backend, X, eps)
    n = index.X.shape[0]
    n_runs = index.run_keys.shape[0]
    eps2 = float(eps) * float(eps)
    walk = index.walk()

    unit = weights is None
    if unit:  # one-element stand-ins: the kernels do not read them
        w = run_weight = xp.ones(1, dtype=xp.float64)
    else:
        w = xp.take(xp.asarray(weights, dtype=xp.float64), index.order)
        run_weight = xp.empty(n_runs, dtype=xp.float64)
        _launch(kernels.run_weights, n_runs, stream, w, index.run_start, run_weight)

    core = xp.zeros(n, dtype=xp.uint8)
    run_head = xp.full(n_runs, kernels.NONE, dtype=xp.int64)
    _launch(
        kernels.core_points, n, stream, index.X, w, unit, run_weight, *walk, eps2, float(min_samples), core, run_head
    )
    del w, run_weight
    is_core = core != 0

    # Every core point starts under its run's first core point: a clique cell is one component.
    parent = xp.where(is_core, run_head[index.run_id], xp.arange(n, dtype=xp.int64))
    join_walk = (index.run_id, index.run_start, index.run_keys, run_head) + walk[3:]
    _launch(kernels.join_runs, n, stream, index.X, core, *join_walk, eps2, parent)

    root = xp.zeros(n, dtype=xp.int64)
    first = xp.full(n, kernels.NONE, dtype=xp.int64)
    _launch(kernels.roots, n, stream, core, index.order, parent, root, first)
    del parent
    # rank_by_first's rule: clusters ranked by their smallest input index (all distinct).
    clusters = xp.flatnonzero(first != kernels.NONE)
    ranked = clusters[xp.argsort(first[clusters])]
    del first, clusters
    number = xp.full(n, -1, dtype=xp.int64)
    number[ranked] = xp.arange(ranked.shape[0], dtype=xp.int64)
    labels_sorted = xp.where(is_core, number[root], -1)
    del number, root, ranked

    _launch(kernels.border_labels, n, stream, index.X, core, *join_walk, eps2, labels_sorted)
    labels = xp.empty(n, dtype=xp.int64)
    labels[index.order] = labels_sorted
    core_mask = xp.zeros(n, dtype=bool)
    core_mask[index.order] = is_core
    return labels, core_mask
