"""Union-find over integer ids, as numba functions (after fast_hdbscan's ``disjoint_set.py``).

Shared by every DBSCAN step that joins clusters: the grid kernels (runs of
points), the tree path (core points) and the Dask merge (slab-local
clusters).  ``parent`` is an int array with ``parent[x] == x`` at a root; the
smaller root always wins a union, so a tree's root is its smallest id, which
is what lets callers number clusters by their first element without
another pass.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def find(parent, x):
    """Root of ``x``, halving the path on the way (so later finds are shorter)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@numba.njit(nogil=True, cache=True)
def union_pairs(parent, left, right):
    """Join ``left[t]`` and ``right[t]`` for every ``t`` (the smaller root wins)."""
    for t in range(left.shape[0]):
        a = find(parent, left[t])
        b = find(parent, right[t])
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b


@numba.njit(nogil=True, cache=True)
def roots(parent):
    """The root of every element, with paths fully compressed (a new array)."""
    out = np.empty_like(parent)
    for x in range(parent.shape[0]):
        out[x] = find(parent, x)
    return out
