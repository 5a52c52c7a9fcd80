"""Linkage of weighted points into a SciPy-format tree (the step after the door; it trusts its input).

The leaves are points with sizes: the rows themselves (all sizes 1: the
exact path) or micro-cluster centres weighted by their row counts (the
two-stage path).

* ward, average, complete: the nearest-neighbour chain over a condensed
  distance matrix with Lance–Williams updates (:func:`._kernels_cpu.nn_chain`),
  as SciPy's ``linkage`` runs it.  For Ward the initial distance between
  leaves of sizes a and b at centres p and q is ``sqrt(2ab / (a + b)) * |p - q|``,
  the Ward distance of two groups; the update then keeps it exact for every
  union, so the heights are those of Ward on the groups: the increase of the
  within-group sum of squares, ``h² / 2``, of each merge.  With all sizes 1
  the factor is 1 and this is SciPy's ``ward`` exactly.
* single: Prim's minimum spanning tree on the points (:func:`._kernels_cpu.mst_prim`),
  as scikit-learn's ``AgglomerativeClustering`` runs it (O(n) memory).

The merges are then sorted by height (a stable sort, as SciPy and
scikit-learn) and renumbered (:func:`._kernels_cpu.label`).

Memory: ward/average/complete hold the condensed matrix, 4 n (n - 1) bytes
for n leaves (4 MB at 1,000; 100 MB at 5,000); single holds O(n).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

from ._kernels_cpu import AVERAGE, COMPLETE, WARD, label, mst_prim, nn_chain, ward_weigh

_METHODS = {"ward": WARD, "average": AVERAGE, "complete": COMPLETE}


def linkage_matrix(points: np.ndarray, sizes: np.ndarray, method: str) -> np.ndarray:
    """The linkage matrix of weighted points, in SciPy's format.

    Parameters
    ----------
    points : ndarray of shape (n, d), float64, C-contiguous, finite, n >= 2
    sizes : ndarray of shape (n,), float64, positive
        Weight of each point (1 for rows; row counts for micro-clusters).
        Single linkage ignores them (it depends on distances only).
    method : {"ward", "average", "complete", "single"}

    Returns
    -------
    Z : ndarray of shape (n - 1, 4), float64
        Row i merges clusters ``Z[i, 0]`` and ``Z[i, 1]`` (smaller first,
        except for single linkage, whose pairs keep scikit-learn's order) into
        cluster ``n + i`` at height ``Z[i, 2]``; ``Z[i, 3]`` counts the leaves below it (not the
        weights: SciPy's checks require leaf counts).

    Notes
    -----
    Time O(n² d) for the distances and O(n²) for the chain.
    """
    n = points.shape[0]
    if method == "single":
        merges = mst_prim(points)
    else:
        # SciPy's own pdist, so that the leaves' distances, and with them the tie-breaking, are SciPy's.
        D = pdist(points, "euclidean")
        if method == "ward" and np.any(sizes != 1.0):
            ward_weigh(D, sizes)
        merges = nn_chain(D, np.array(sizes, dtype=np.float64), _METHODS[method])
    Z = merges[np.argsort(merges[:, 2], kind="mergesort")]
    # scikit-learn's single linkage keeps each edge's own order (it shows in children_ and in
    # the numbering of its cut); SciPy's other linkages put the smaller cluster first.
    label(Z, n, method != "single")
    return Z
