"""numba kernels of the grid DBSCAN (see :mod:`._dbscan_grid` for the index).

Why numba: every phase walks, for each cell, a handful of neighbouring cell
ranges and compares points pairwise with early exits (stop counting at
``min_samples``, stop looking for a link between two cells at the first pair
within ``eps``, skip a pair whose cells are already joined).  Those
data-dependent loops cannot be written as NumPy array operations without
materialising the neighbourhoods, which is exactly the O(n · neighbours) memory
this module exists to avoid.

Layout shared by the kernels (all arrays sorted by cell, then run):

* ``X``: (n, d) float64 points; ``w``: (n,) float64 weights.
* ``cell_keys``: (C,) sorted linear keys of the occupied search cells;
  ``cell_start``: (C + 1,) first point of each cell;
  ``cell_run_start``: (C + 1,) first run of each cell.
* A *run* is a maximal group of points in the same clique cell, a cell small
  enough (diagonal < eps) that its points are all within eps of each other;
  ``run_start``: (R + 1,) first point of each run.
* ``outer``: key offsets of the neighbouring columns of cells (all but the
  last dimension); along the last dimension, neighbours are the ``reach`` keys
  on either side, so each column is one contiguous range of cells.

Distances are ``sum((x - y) ** 2) <= eps ** 2`` in float64, summed over the
features in order, as scikit-learn's KD-tree does, so a pair is a neighbour
here exactly when it is one there.  Every kernel takes a range of cells and
releases the GIL; the caller runs ranges on threads.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True, inline="always")
def _within(X, i, j, eps2):
    s = 0.0
    for f in range(X.shape[1]):
        diff = X[i, f] - X[j, f]
        s += diff * diff
    return s <= eps2


@numba.njit(nogil=True, cache=True)
def _neighbour_cells(cell_keys, c, outer, reach, lo, hi):
    """Fill ``lo[t]:hi[t]``, the cell-index range of column ``t`` around cell ``c``.

    Kernels visit cells in increasing key order, so every bound only moves
    forward: it is advanced from where it was for the previous cell (amortised
    O(1) per cell and column) rather than binary-searched.  ``lo[0] < 0``
    means "not started": the first cell of a range starts with a binary search.
    """
    key = cell_keys[c]
    n = cell_keys.shape[0]
    if lo[0] < 0:
        for t in range(outer.shape[0]):
            lo[t] = np.searchsorted(cell_keys, key + outer[t] - reach, side="left")
            hi[t] = np.searchsorted(cell_keys, key + outer[t] + reach, side="right")
        return
    for t in range(outer.shape[0]):
        first = key + outer[t] - reach
        last = key + outer[t] + reach
        a = lo[t]
        while a < n and cell_keys[a] < first:
            a += 1
        b = max(hi[t], a)
        while b < n and cell_keys[b] <= last:
            b += 1
        lo[t] = a
        hi[t] = b


@numba.njit(nogil=True, cache=True, inline="always")
def _gap(offset, u, side):
    """Distance along one axis from a point at ``u`` in its cell to the cell ``offset`` steps away."""
    if offset > 0:
        return offset * side - u
    if offset < 0:
        return u + (-offset - 1) * side
    return 0.0


@numba.njit(nogil=True, cache=True)
def _position(X, i, low, side, u):
    """``u[j]``: where point ``i`` sits inside its search cell, along every axis."""
    for j in range(X.shape[1]):
        pos = X[i, j] - low[j]
        u[j] = pos - np.floor(pos / side) * side


@numba.njit(nogil=True, cache=True)
def _column_gaps(outer_steps, u, side, col_gap2):
    """Squared distance from the point to each neighbouring column (all axes but the last)."""
    for t in range(outer_steps.shape[0]):
        g2 = 0.0
        for j in range(outer_steps.shape[1]):
            g = _gap(outer_steps[t, j], u[j], side)
            g2 += g * g
        col_gap2[t] = g2


@numba.njit(nogil=True, cache=True)
def _cells_in_reach(X, i, c, cell_keys, lo, hi, outer, geometry, limit, u, col_gap2, cells):
    """Write to ``cells`` the neighbouring cells of cell ``c`` whose box is within
    reach (squared distance ``limit``) of point ``i``; return how many.

    ``lo``/``hi`` are the column ranges of cell ``c`` (:func:`_neighbour_cells`).
    """
    low, side, outer_steps = geometry
    d = X.shape[1]
    _position(X, i, low, side, u)
    _column_gaps(outer_steps, u, side, col_gap2)
    n = 0
    for t in range(outer.shape[0]):
        if col_gap2[t] > limit:
            continue
        base = cell_keys[c] + outer[t]
        for c2 in range(lo[t], hi[t]):
            g = _gap(cell_keys[c2] - base, u[d - 1], side)
            if col_gap2[t] + g * g <= limit:
                cells[n] = c2
                n += 1
    return n


@numba.njit(nogil=True, cache=True)
def core_points(X, w, grid, geometry, eps2, min_samples, c0, c1, core):
    """Mark ``core[i]`` for the points of cells ``c0:c1``.

    A run whose weight alone reaches ``min_samples`` is core as a whole with no
    distance computed; otherwise neighbours are counted until ``min_samples``
    (weights are non-negative, so the count only grows).  Cells whose box is
    farther than eps from the point are skipped without reading their points.
    """
    cell_keys, cell_start, cell_run_start, run_start, outer, reach = grid
    m = outer.shape[0]
    lo = np.full(m, -1, np.int64)
    hi = np.empty(m, np.int64)
    u = np.empty(X.shape[1])
    col_gap2 = np.empty(m)
    cells = np.empty(m * (2 * reach + 1), np.int64)
    limit = eps2 * (1 + 1e-9)  # prune only what is surely out of reach
    for c in range(c0, c1):
        found = False
        for r in range(cell_run_start[c], cell_run_start[c + 1]):
            a = run_start[r]
            b = run_start[r + 1]
            total = 0.0
            for i in range(a, b):
                total += w[i]
            if total >= min_samples:
                for i in range(a, b):
                    core[i] = True
                continue
            if not found:
                _neighbour_cells(cell_keys, c, outer, reach, lo, hi)
                found = True
            for i in range(a, b):
                n_cells = _cells_in_reach(X, i, c, cell_keys, lo, hi, outer, geometry, limit, u, col_gap2, cells)
                count = 0.0
                for k in range(n_cells):
                    for j in range(cell_start[cells[k]], cell_start[cells[k] + 1]):
                        if _within(X, i, j, eps2):
                            count += w[j]
                    if count >= min_samples:
                        break
                core[i] = count >= min_samples


@numba.njit(nogil=True, cache=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


@numba.njit(nogil=True, cache=True)
def _runs_touch(X, core, run_start, r, s, eps2):
    """Whether a core point of run ``r`` is within eps of a core point of run ``s``."""
    for i in range(run_start[r], run_start[r + 1]):
        if not core[i]:
            continue
        for j in range(run_start[s], run_start[s + 1]):
            if core[j] and _within(X, i, j, eps2):
                return True
    return False


@numba.njit(nogil=True, cache=True)
def join_runs(X, core, run_has_core, grid, geometry, eps2, c0, c1, parent, edges):
    """A spanning forest of the links between core runs of cells ``c0:c1``.

    Two runs are linked when they hold a pair of core points within eps.
    Every run of cells ``c0:c1`` is compared with the runs after it in the
    neighbouring cells, once per pair, and only while the two are not joined
    yet in ``parent`` — a union-find private to this call (initially every
    run its own root), so calls over different cell ranges run in parallel.
    A link that joins two trees is written to ``edges``; the caller unions
    the forests of all ranges.  Returns the number of edges written (fewer
    than the number of runs).  Runs are cliques, so joining runs joins all
    their core points at once; cells beyond eps of every point of the run
    are skipped, as the counting kernel skips them for a point.
    """
    cell_keys, _, cell_run_start, run_start, outer, reach = grid
    low, side, outer_steps = geometry
    m = outer.shape[0]
    d = X.shape[1]
    lo = np.full(m, -1, np.int64)
    hi = np.empty(m, np.int64)
    u = np.empty(d)
    col_gap2 = np.empty(m)
    limit = eps2 * (1 + 1e-9)
    n_edges = 0
    for c in range(c0, c1):
        found = False
        for r in range(cell_run_start[c], cell_run_start[c + 1]):
            if not run_has_core[r]:
                continue
            if not found:
                _neighbour_cells(cell_keys, c, outer, reach, lo, hi)
                found = True
            single = run_start[r + 1] - run_start[r] == 1
            # Cells farther than eps from every point of the run are skipped. Measured
            # from the run's first point: eps for a single point, 2 eps otherwise (a
            # run is narrower than eps, so its other points are within eps of it).
            reach2 = limit if single else 4 * limit
            _position(X, run_start[r], low, side, u)
            _column_gaps(outer_steps, u, side, col_gap2)
            # r's root changes only through the unions made here: keep it at hand.
            a = _find(parent, r)
            for t in range(m):
                if col_gap2[t] > reach2:
                    continue
                base = cell_keys[c] + outer[t]
                for c2 in range(max(lo[t], c), hi[t]):
                    g = _gap(cell_keys[c2] - base, u[d - 1], side)
                    if col_gap2[t] + g * g > reach2:
                        continue
                    for s in range(max(cell_run_start[c2], r + 1), cell_run_start[c2 + 1]):
                        if not run_has_core[s]:
                            continue
                        if single and run_start[s + 1] - run_start[s] == 1:
                            # Two points: the distance is cheaper than a find.
                            if not _within(X, run_start[r], run_start[s], eps2):
                                continue
                            b = _find(parent, s)
                            if a == b:
                                continue
                        else:
                            b = _find(parent, s)
                            if a == b or not _runs_touch(X, core, run_start, r, s, eps2):
                                continue
                        if a < b:
                            parent[b] = a
                        else:
                            parent[a] = b
                            a = b
                        edges[n_edges, 0] = r
                        edges[n_edges, 1] = s
                        n_edges += 1
    return n_edges


@numba.njit(nogil=True, cache=True)
def roots(parent):
    """The root of every element, with paths fully compressed."""
    out = np.empty_like(parent)
    for x in range(parent.shape[0]):
        out[x] = _find(parent, x)
    return out


@numba.njit(nogil=True, cache=True)
def border_labels(X, core, run_label, grid, geometry, eps2, c0, c1, labels):
    """Labels of the points of cells ``c0:c1``.

    A core point takes its run's label.  A non-core point takes the smallest
    label among the core points within eps (scikit-learn expands clusters in
    label order, so the first to reach a border point is the smallest), or
    -1: noise.
    """
    cell_keys, _, cell_run_start, run_start, outer, reach = grid
    m = outer.shape[0]
    lo = np.full(m, -1, np.int64)
    hi = np.empty(m, np.int64)
    u = np.empty(X.shape[1])
    col_gap2 = np.empty(m)
    cells = np.empty(m * (2 * reach + 1), np.int64)
    limit = eps2 * (1 + 1e-9)
    big = np.iinfo(np.int64).max
    for c in range(c0, c1):
        found = False
        for r in range(cell_run_start[c], cell_run_start[c + 1]):
            for i in range(run_start[r], run_start[r + 1]):
                if core[i]:
                    labels[i] = run_label[r]
                    continue
                if not found:
                    _neighbour_cells(cell_keys, c, outer, reach, lo, hi)
                    found = True
                n_cells = _cells_in_reach(X, i, c, cell_keys, lo, hi, outer, geometry, limit, u, col_gap2, cells)
                # A core point in the same run is within eps: its label bounds the search.
                best = run_label[r] if run_label[r] >= 0 else big
                for k in range(n_cells):
                    for s in range(cell_run_start[cells[k]], cell_run_start[cells[k] + 1]):
                        lab = run_label[s]
                        if lab < 0 or lab >= best:
                            continue
                        for j in range(run_start[s], run_start[s + 1]):
                            if core[j] and _within(X, i, j, eps2):
                                best = lab
                                break
                labels[i] = best if best != big else -1


@numba.njit(nogil=True, cache=True)
def union_pairs(parent, left, right):
    """Union-find: join ``left[t]`` and ``right[t]`` for every t (the smaller root wins)."""
    for t in range(left.shape[0]):
        a = _find(parent, left[t])
        b = _find(parent, right[t])
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
