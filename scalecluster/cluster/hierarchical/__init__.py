"""Agglomerative (hierarchical) clustering: exact up to ``n_micro`` rows, two-stage beyond.

* :mod:`._estimator` — :class:`AgglomerativeClustering` (validation, which path runs, the fitted attributes).
* :mod:`._micro` — the first stage beyond ``n_micro`` rows: our KMeans reduces the data, on its
  backend, to weighted micro-clusters; row labels are looked up where the rows live.
* :mod:`._linkage` — the tree of weighted points in SciPy's format; :mod:`._kernels_cpu` — its numba
  kernels (the nearest-neighbour chain with weighted Lance–Williams updates, Prim's MST, SciPy's labelling).
* :mod:`._tree` — cutting the tree at a number of clusters or a height, numbered as scikit-learn does.
* :mod:`._dendrogram` — :func:`plot_dendrogram` (matplotlib imported when called).

The tree is always built on the host: it has at most ``n_micro`` leaves, the
"small state on the driver" of DESIGN.md; only the first stage and the
labelling touch the rows.
"""

from ._dendrogram import plot_dendrogram
from ._estimator import AgglomerativeClustering

__all__ = ["AgglomerativeClustering", "plot_dendrogram"]
