"""DBSCAN, with its steps and its kernels for every device.

* :mod:`._estimator` — :class:`DBSCAN` (validation, which path runs, the fitted attributes).
* :mod:`._grid` — the uniform grid index and its driver; :mod:`._kernels_cpu` — its numba kernels.
* :mod:`._tree` — KD-tree / ball-tree queries in bounded chunks (many features, other metrics).
* :mod:`._dask` — slabs with eps halos, clustered where they live, merged by ids.

Union-find and the numbering of clusters are shared with other steps
(:mod:`scalecluster._common.disjoint_set`, :mod:`scalecluster._common.numbering`).
"""

from ._estimator import DBSCAN

__all__ = ["DBSCAN"]
