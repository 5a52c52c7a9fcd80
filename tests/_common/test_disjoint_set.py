"""Union-find (:mod:`scalecluster._common.disjoint_set`) against SciPy's connected components."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from scalecluster._common.disjoint_set import find, roots, union_pairs


def test_components_equal_scipy_and_roots_are_smallest_members():
    rng = np.random.default_rng(0)
    n = 500
    left, right = rng.integers(0, n, 300), rng.integers(0, n, 300)
    parent = np.arange(n, dtype=np.int64)
    union_pairs(parent, left, right)
    root = roots(parent)
    graph = sp.coo_matrix((np.ones(300), (left, right)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    # Same partition: equal components <=> equal roots.
    pairs = set(zip(root.tolist(), component.tolist()))
    assert len(pairs) == len(set(root.tolist())) == len(set(component.tolist()))
    # The smaller root wins every union: a root is the smallest id of its tree.
    for r in np.unique(root):
        assert r == np.flatnonzero(root == r).min()
    assert all(find(parent, x) == root[x] for x in range(n))


def test_self_pairs_and_repeats_change_nothing():
    parent = np.arange(5, dtype=np.int64)
    union_pairs(parent, np.array([2, 3, 3]), np.array([2, 4, 4]))
    np.testing.assert_array_equal(roots(parent), [0, 1, 2, 3, 3])
