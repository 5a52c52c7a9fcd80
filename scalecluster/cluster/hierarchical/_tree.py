"""Cutting a tree: how many clusters a threshold gives, and the leaves' labels for a cut.

Both follow scikit-learn's ``AgglomerativeClustering`` to the label number,
so the exact path returns scikit-learn's ``labels_`` themselves, not only the
same partition: a threshold keeps the merges strictly below it, and a cut
into k clusters undoes the k - 1 last merges and numbers the k subtrees in
the order of scikit-learn's heap (``_hc_cut``).
"""

from __future__ import annotations

from heapq import heappush, heappushpop

import numpy as np

from ._kernels_cpu import spread_down


def n_clusters_at(heights: np.ndarray, threshold: float) -> int:
    """Clusters left when merges at heights ``>= threshold`` are undone (scikit-learn's rule)."""
    return int(np.count_nonzero(heights >= threshold)) + 1


def cut(children: np.ndarray, n_leaves: int, n_clusters: int) -> np.ndarray:
    """Label of each leaf when the tree is cut into ``n_clusters`` subtrees.

    Parameters
    ----------
    children : ndarray of shape (n_leaves - 1, 2), intp
        Merges in order; merge m forms node ``n_leaves + m``.
    n_leaves : int
    n_clusters : int
        1 <= n_clusters <= n_leaves (checked at the door).

    Returns
    -------
    labels : ndarray of shape (n_leaves,), intp

    Notes
    -----
    O(n_clusters log n_clusters) for the heap, O(n_leaves) for the labels.
    """
    if n_leaves == 1:
        return np.zeros(1, dtype=np.intp)
    # A heap of negated node ids: its first element is the newest node, which is undone next.
    nodes = [-(int(max(children[-1])) + 1)]
    for _ in range(n_clusters - 1):
        left, right = children[-nodes[0] - n_leaves]
        heappush(nodes, -int(left))
        heappushpop(nodes, -int(right))
    node_label = np.full(2 * n_leaves - 1, -1, dtype=np.intp)
    for i, node in enumerate(nodes):
        node_label[-node] = i
    return spread_down(np.ascontiguousarray(children, dtype=np.intp), n_leaves, node_label)
