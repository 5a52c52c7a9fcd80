"""DBSCAN's CUDA grid kernels (numba.cuda); :mod:`._grid_cuda` builds the index they walk and launches them.

One thread per point (in sorted order), for every kernel but the run weights
(one thread per run).  A thread walks the neighbouring columns of its cell:
for each column, two binary searches in the sorted cell keys give one
contiguous range of cells, whose runs and points are contiguous too.  No
neighbourhood is ever stored: a thread keeps a count, a root or a label in
registers.

Layout (all arrays on the device, points sorted by cell, then run):

* ``X``: (n, d) float64 points; ``w``: (n,) float64 weights, read only when
  ``unit`` is false (unit weights count 1 each).
* ``run_id``: (n,) the run of each point; ``run_start``: (R + 1,) first point
  of each run; ``run_keys``: (R,) each run's key, ``cell key * n_sub + clique
  sub-cell``.  A run is the points of one clique cell (diagonal < eps): all
  within eps of each other.
* ``cell_keys``: (C,) sorted keys of the occupied search cells;
  ``cell_run_start``: (C + 1,) first run of each cell.
* ``outer``: key offsets of the neighbouring columns (own column first),
  ``outer_steps``: (columns, max(d - 1, 1)) the same in cells per axis;
  along the last axis the neighbours are the ``reach`` keys either side.
* ``low``, ``side``, ``prune2``: the grid's origin and search-cell side,
  and the squared gap beyond which a column or cell is skipped: its box is
  surely beyond eps of the point (``prune2`` carries margins, so rounding can
  only send a pair to the exact test, never skip one).

Distances are ``sum((x - y) ** 2) <= eps ** 2`` in float64, summed over the
features in order, as on the CPU.  On a GPU each square is a
``__dmul_rn``: NVVM contracts a multiply feeding an add into one FMA by
default, and an FMA rounds once where NumPy rounds twice, so a pair at
distance eps could flip.  In the simulator plain Python arithmetic already
rounds twice.

Union-find (:func:`_find`, :func:`_union`) is lock-free over sorted
positions: a root is linked under a smaller root with ``atomic.cas`` and the
link retried from the value the CAS saw when another thread won; parents only
ever decrease, so a tree's root is its smallest position whatever the
scheduling, and stale reads can only delay a link, never make a wrong one.
"""

from __future__ import annotations

import math

from numba import cuda
from numba.core import config

#: Threads per block.
THREADS = 128
#: "No value" in int64 arrays (run heads, first input index of a cluster).
NONE = 2**63 - 1

if config.ENABLE_CUDASIM:

    @cuda.jit(device=True)
    def _square(x):
        return x * x

else:  # pragma: no cover - needs a GPU
    from numba.cuda import libdevice

    @cuda.jit(device=True)
    def _square(x):
        # Never merged into an FMA (see the module docstring).
        return libdevice.dmul_rn(x, x)


@cuda.jit(device=True)
def _within(X, i, j, eps2):
    s = 0.0
    for f in range(X.shape[1]):
        s += _square(X[i, f] - X[j, f])
    return s <= eps2


@cuda.jit(device=True)
def _lower_bound(a, value, lo, hi):
    """First position in ``a[lo:hi]`` (sorted) whose value is not below ``value``."""
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@cuda.jit(device=True)
def _in_cell(X, i, j, low, side):
    """Where point ``i`` sits inside its search cell along axis ``j``."""
    pos = X[i, j] - low[j]
    return pos - math.floor(pos / side) * side


@cuda.jit(device=True)
def _gap(offset, u, side):
    """Distance along one axis from a point at ``u`` in its cell to the cell ``offset`` steps away."""
    if offset > 0:
        return offset * side - u
    if offset < 0:
        return u + (-offset - 1) * side
    return 0.0


@cuda.jit(device=True)
def _column_gap2(X, i, t, outer_steps, low, side):
    """Squared distance from point ``i`` to column ``t`` (all axes but the last)."""
    g2 = 0.0
    for j in range(X.shape[1] - 1):
        g = _gap(outer_steps[t, j], _in_cell(X, i, j, low, side), side)
        g2 += g * g
    return g2


@cuda.jit(device=True)
def _column(cell_keys, base, reach):
    """Cell-index range ``[lo, hi)`` of the keys ``base - reach .. base + reach``."""
    n = cell_keys.shape[0]
    lo = _lower_bound(cell_keys, base - reach, 0, n)
    return lo, _lower_bound(cell_keys, base + reach + 1, lo, n)


@cuda.jit(device=True)
def _find(parent, x):
    """Root of ``x``, halving the path (by CAS: a parent that moved meanwhile is left alone)."""
    while True:
        p = parent[x]
        if p == x:
            return x
        g = parent[p]
        if g == p:
            return p
        cuda.atomic.cas(parent, x, p, g)
        x = g


@cuda.jit(device=True)
def _union(parent, a, b):
    """Join the trees of ``a`` and ``b``: the larger root goes under the smaller."""
    a = _find(parent, a)
    b = _find(parent, b)
    while a != b:
        if a > b:
            a, b = b, a
        seen = cuda.atomic.cas(parent, b, b, a)
        if seen == b:
            return
        # ``b`` was linked by another thread meanwhile: go on from its new parent.
        b = _find(parent, seen)
        a = _find(parent, a)


@cuda.jit(cache=True)
def run_weights(w, run_start, out):
    """``out[s]``: the weight of run ``s`` (one thread per run, summed in sorted order)."""
    s = cuda.grid(1)
    if s >= out.shape[0]:
        return
    total = 0.0
    for j in range(run_start[s], run_start[s + 1]):
        total += w[j]
    out[s] = total


@cuda.jit(device=True)
def _neighbour_weight(
    X, w, unit, i, r, run_start, run_keys, cell_keys, cell_run_start, outer, outer_steps, reach, n_sub, low, side,
    prune2, eps2, count, enough,
):
    """``count`` (the weight of point ``i``'s own run) plus its neighbours' weights, until ``enough``."""
    key = run_keys[r] // n_sub
    u_last = _in_cell(X, i, X.shape[1] - 1, low, side)
    for t in range(outer.shape[0]):
        col = _column_gap2(X, i, t, outer_steps, low, side)
        if col > prune2:
            continue
        base = key + outer[t]
        lo, hi = _column(cell_keys, base, reach)
        for c in range(lo, hi):
            g = _gap(cell_keys[c] - base, u_last, side)
            if col + g * g > prune2:
                continue
            for s in range(cell_run_start[c], cell_run_start[c + 1]):
                if s == r:  # the own clique cell, already counted whole
                    continue
                for j in range(run_start[s], run_start[s + 1]):
                    if _within(X, i, j, eps2):
                        count += 1.0 if unit else w[j]
                        if count >= enough:
                            return count
    return count


@cuda.jit(cache=True)
def core_points(
    X, w, unit, run_weight, run_id, run_start, run_keys, cell_keys, cell_run_start, outer, outer_steps, reach, n_sub,
    low, side, prune2, eps2, min_samples, core, run_head,
):
    """``core[i]`` for every point, and ``run_head``: the first core point of each run (``NONE``: none).

    A point's own clique cell is within eps whole, so its weight counts
    without a distance (``run_weight``, or the run's length for unit weights),
    and a run that alone weighs ``min_samples`` makes its points core with no
    distance at all.  Otherwise neighbours are counted until ``min_samples``
    (weights are non-negative: the count only grows).
    """
    i = cuda.grid(1)
    if i >= X.shape[0]:
        return
    r = run_id[i]
    count = float(run_start[r + 1] - run_start[r]) if unit else run_weight[r]
    if count < min_samples:
        count = _neighbour_weight(
            X, w, unit, i, r, run_start, run_keys, cell_keys, cell_run_start, outer, outer_steps, reach, n_sub, low,
            side, prune2, eps2, count, min_samples,
        )
    if count >= min_samples:
        core[i] = 1
        if i < run_head[r]:  # see roots(): a dense run's points do not all queue on one address
            cuda.atomic.min(run_head, r, i)


@cuda.jit(cache=True)
def join_runs(
    X, core, run_id, run_start, run_keys, run_head, cell_keys, cell_run_start, outer, outer_steps, reach, n_sub, low,
    side, prune2, eps2, parent,
):
    """Union the core points within eps of each other, across runs.

    ``parent`` arrives with every core point under its run's head (a clique
    cell's core points are one component without a distance).  Each core
    point looks only at the runs after its own (each pair of runs from one
    side), skips a run already in its tree, and otherwise links to the
    run's first core point within eps — the others follow through the head.
    """
    i = cuda.grid(1)
    if i >= X.shape[0] or core[i] == 0:
        return
    r = run_id[i]
    key = run_keys[r] // n_sub
    u_last = _in_cell(X, i, X.shape[1] - 1, low, side)
    for t in range(outer.shape[0]):
        # Keys order cells lexicographically: a column with a negative offset
        # lies wholly before this cell, its runs before this one.
        if outer[t] < 0:
            continue
        col = _column_gap2(X, i, t, outer_steps, low, side)
        if col > prune2:
            continue
        base = key + outer[t]
        lo, hi = _column(cell_keys, base, reach)
        for c in range(lo, hi):
            if cell_run_start[c + 1] <= r + 1:
                continue
            g = _gap(cell_keys[c] - base, u_last, side)
            if col + g * g > prune2:
                continue
            s0 = cell_run_start[c]
            if s0 <= r:  # not max(): numba 0.68 failed to compile the builtin for two int64 on CUDA
                s0 = r + 1
            for s in range(s0, cell_run_start[c + 1]):
                head = run_head[s]
                if head == NONE or _find(parent, i) == _find(parent, head):
                    continue
                for j in range(head, run_start[s + 1]):
                    if core[j] != 0 and _within(X, i, j, eps2):
                        _union(parent, i, j)
                        break


@cuda.jit(cache=True)
def roots(core, order, parent, root, first):
    """``root[i]`` of every core point, and ``first[root]``: the cluster's smallest input index."""
    i = cuda.grid(1)
    if i >= core.shape[0] or core[i] == 0:
        return
    top = _find(parent, i)
    root[i] = top
    # Values only decrease, so a point that already reads a smaller first cannot win:
    # checking first keeps a large cluster's points from all queueing atomics on its root.
    if order[i] < first[top]:
        cuda.atomic.min(first, top, order[i])


@cuda.jit(cache=True)
def border_labels(
    X, core, run_id, run_start, run_keys, run_head, cell_keys, cell_run_start, outer, outer_steps, reach, n_sub, low,
    side, prune2, eps2, labels,
):
    """Labels of the non-core points (``labels`` holds the core points' already).

    The smallest label among the core points within eps (scikit-learn expands
    clusters in label order, so the first to reach a border point is the
    smallest), or -1.  A core point in the point's own run is within eps: its
    label bounds the search, and a run whose label is not smaller is skipped.
    """
    i = cuda.grid(1)
    if i >= X.shape[0] or core[i] != 0:
        return
    r = run_id[i]
    best = NONE
    if run_head[r] != NONE:
        best = labels[run_head[r]]
    key = run_keys[r] // n_sub
    u_last = _in_cell(X, i, X.shape[1] - 1, low, side)
    for t in range(outer.shape[0]):
        col = _column_gap2(X, i, t, outer_steps, low, side)
        if col > prune2:
            continue
        base = key + outer[t]
        lo, hi = _column(cell_keys, base, reach)
        for c in range(lo, hi):
            g = _gap(cell_keys[c] - base, u_last, side)
            if col + g * g > prune2:
                continue
            for s in range(cell_run_start[c], cell_run_start[c + 1]):
                head = run_head[s]
                if s == r or head == NONE or labels[head] >= best:
                    continue
                for j in range(head, run_start[s + 1]):
                    if core[j] != 0 and _within(X, i, j, eps2):
                        best = labels[head]
                        break
    labels[i] = best if best != NONE else -1
