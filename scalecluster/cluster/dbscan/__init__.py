"""DBSCAN, with its steps and its kernels for every device.

* :mod:`._estimator` — :class:`DBSCAN` (validation, which path runs, the fitted attributes).
* :mod:`._grid` — the uniform grid index and its driver; :mod:`._kernels_cpu` — its numba kernels.
* :mod:`._grid_cuda` — the same grid on a GPU (CuPy input), built with the data's array module;
  :mod:`._kernels_cuda` — its numba.cuda kernels (run by numba's CUDA simulator in tests).
* :mod:`._tree` — KD-tree / ball-tree queries in bounded chunks (many features, other metrics).
* :mod:`._dask` — slabs with eps halos, clustered where they live (on the GPU for CuPy chunks), merged by ids.

Union-find and the numbering of clusters are shared with other steps
(:mod:`scalecluster._common.disjoint_set`, :mod:`scalecluster._common.numbering`).
"""

from ._estimator import DBSCAN

__all__ = ["DBSCAN"]
