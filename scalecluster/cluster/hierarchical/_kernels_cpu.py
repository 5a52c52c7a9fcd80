"""The numba kernels of the hierarchical step: nearest-neighbour chain, Prim's MST, tree labels.

They follow SciPy's ``_hierarchy.pyx`` (``nn_chain``, ``label``) and
scikit-learn's ``_hierarchical_fast.pyx`` (``mst_linkage_core``) operation for
operation: the same scan order, the same tie-breaking, the same arithmetic in
the Lance–Williams updates.  That is what makes the exact path give
scikit-learn's tree (not only an equally good one) when heights tie, e.g. on
data with duplicate rows such as iris.

One difference, on purpose: cluster sizes are float64 instead of int, so a
leaf can stand for a weighted group of rows (a micro-cluster of the two-stage
fit).  Sizes of 1 give exactly the integer arithmetic, since every sum of
small integers is exact in float64.
"""

from __future__ import annotations

import numba
import numpy as np

#: Codes of the linkages the chain runs (single linkage runs Prim's MST instead).
WARD, AVERAGE, COMPLETE = 0, 1, 2


@numba.njit(inline="always")
def _condensed(n, i, j):
    """Position of the pair (i, j), i != j, in a condensed distance matrix (SciPy's ``condensed_index``)."""
    if i > j:
        i, j = j, i
    return n * i - (i * (i + 1)) // 2 + (j - i - 1)


@numba.njit(inline="always")
def _updated(method, d_xi, d_yi, d_xy, size_x, size_y, size_i):
    """Lance–Williams: distance from cluster i to the union of x and y, written as SciPy writes it."""
    if method == WARD:
        t = 1.0 / (size_x + size_y + size_i)
        return np.sqrt((size_i + size_x) * t * d_xi * d_xi + (size_i + size_y) * t * d_yi * d_yi - size_i * t * d_xy * d_xy)
    if method == AVERAGE:
        return (size_x * d_xi + size_y * d_yi) / (size_x + size_y)
    return max(d_xi, d_yi)  # COMPLETE


@numba.njit(nogil=True, cache=True)
def ward_weigh(D, sizes):
    """Turn distances between centres into Ward distances between groups of those sizes (in place).

    ``sqrt(2ab / (a + b)) * |p - q|``: merging the groups adds ``h² / 2`` to
    the within-group sum of squares, as merging two rows at distance h does.
    Row by row, so no index array of the matrix's size is made.
    """
    n = sizes.shape[0]
    for i in range(n - 1):
        a = sizes[i]
        base = n * i - (i * (i + 1)) // 2 - i - 1
        for j in range(i + 1, n):
            b = sizes[j]
            D[base + j] *= np.sqrt(2.0 * a * b / (a + b))


@numba.njit(nogil=True, cache=True)
def nn_chain(D, sizes, method):
    """Merges of the nearest-neighbour-chain algorithm, in the order found (not yet sorted).

    Parameters
    ----------
    D : ndarray of shape (n * (n - 1) // 2,), float64
        Condensed distances between the leaves; overwritten.
    sizes : ndarray of shape (n,), float64
        Size (weight) of each leaf; overwritten (0 marks a merged cluster).
    method : int
        ``WARD``, ``AVERAGE`` or ``COMPLETE``: reducible linkages, for which
        merging mutual nearest neighbours in any order gives the greedy tree.

    Returns
    -------
    Z : ndarray of shape (n - 1, 4)
        ``x, y, height, size`` per merge; ``y`` names the merged cluster
        afterwards (SciPy's convention), so indices refer to leaves until
        :func:`label` renumbers them.

    Notes
    -----
    Time O(n²) distance reads and updates; memory O(n) beyond ``D``.
    """
    n = sizes.shape[0]
    Z = np.empty((n - 1, 4))
    chain = np.empty(n, dtype=np.int64)
    length = 0
    y = 0
    for k in range(n - 1):
        if length == 0:
            length = 1
            for i in range(n):
                if sizes[i] > 0:
                    chain[0] = i
                    break
        while True:
            x = chain[length - 1]
            # Prefer the previous element of the chain on a tie, so the chain cannot cycle.
            if length > 1:
                y = chain[length - 2]
                current = D[_condensed(n, x, y)]
            else:
                current = np.inf
            for i in range(n):
                if sizes[i] == 0 or i == x:
                    continue
                dist = D[_condensed(n, x, i)]
                if dist < current:
                    current = dist
                    y = i
            if length > 1 and y == chain[length - 2]:
                break
            chain[length] = y
            length += 1
        length -= 2
        if x > y:  # fastcluster's convention, kept by SciPy
            x, y = y, x
        nx = sizes[x]
        ny = sizes[y]
        Z[k, 0] = x
        Z[k, 1] = y
        Z[k, 2] = current
        Z[k, 3] = nx + ny
        sizes[x] = 0.0
        sizes[y] = nx + ny
        for i in range(n):
            ni = sizes[i]
            if ni == 0 or i == y:
                continue
            D[_condensed(n, i, y)] = _updated(method, D[_condensed(n, i, x)], D[_condensed(n, i, y)], current, nx, ny, ni)
    return Z


@numba.njit(nogil=True, cache=True)
def mst_prim(X):
    """Edges of a minimum spanning tree of the rows of ``X`` (Euclidean), in Prim's order.

    scikit-learn's ``mst_linkage_core``: from row 0, each step adds the
    nearest row outside the tree (the first one on a tie).  O(n² d) time,
    O(n) memory: no distance matrix.

    Returns
    -------
    edges : ndarray of shape (n - 1, 4)
        ``from, to, distance, 2`` per edge, unsorted: a merge list for :func:`label`.
    """
    n, d = X.shape
    in_tree = np.zeros(n, dtype=np.bool_)
    nearest = np.full(n, np.inf)
    edges = np.full((n - 1, 4), 2.0)
    current = 0
    for step in range(n - 1):
        in_tree[current] = True
        best = np.inf
        best_node = 0
        for j in range(n):
            if in_tree[j]:
                continue
            acc = 0.0
            for f in range(d):
                diff = X[current, f] - X[j, f]
                acc += diff * diff
            dist = np.sqrt(acc)
            nearest[j] = min(nearest[j], dist)
            if nearest[j] < best:
                best = nearest[j]
                best_node = j
        edges[step, 0] = current
        edges[step, 1] = best_node
        edges[step, 2] = best
        current = best_node
    return edges


@numba.njit(nogil=True, cache=True)
def _root(parent, x):
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:  # compress the path behind us
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@numba.njit(nogil=True, cache=True)
def label(Z, n, smaller_first):
    """Renumber sorted merges in place as SciPy does: new clusters are n, n+1, …; counts are leaves.

    Each row's two entries become the current clusters of its two leaves
    (smaller first with ``smaller_first``, as SciPy's ``label``; else in the
    row's own order, as scikit-learn's ``_single_linkage_label``), and
    column 3 the number of leaves below the new node.  This is what turns
    merges found in any order (the chain's, or Prim's edges) into a linkage
    matrix.
    """
    parent = np.arange(2 * n - 1)
    count = np.ones(2 * n - 1, dtype=np.int64)
    for i in range(n - 1):
        a = _root(parent, np.int64(Z[i, 0]))
        b = _root(parent, np.int64(Z[i, 1]))
        if a < b or not smaller_first:
            Z[i, 0], Z[i, 1] = a, b
        else:
            Z[i, 0], Z[i, 1] = b, a
        new = n + i
        parent[a] = new
        parent[b] = new
        count[new] = count[a] + count[b]
        Z[i, 3] = count[new]


@numba.njit(nogil=True, cache=True)
def spread_down(children, n_leaves, node_label):
    """Give every node below a labelled node that node's label (in place); returns the leaves' labels.

    ``node_label`` has one entry per node (2 n_leaves - 1), -1 where unset;
    children were formed before their parent, so one pass from the root
    down reaches every descendant.
    """
    for m in range(children.shape[0] - 1, -1, -1):
        own = node_label[n_leaves + m]
        if own >= 0:
            node_label[children[m, 0]] = own
            node_label[children[m, 1]] = own
    return node_label[:n_leaves].copy()
