"""DBSCAN, with its steps and its kernels for every device.

* :mod:`._estimator` — :class:`DBSCAN` and :func:`dbscan` (validation, which path runs, the fitted attributes).
* :mod:`._plan` — the metric resolved as scikit-learn resolves it, and the path: grid, KD-tree,
  ball tree, brute force or precomputed distances.
* :mod:`._grid` — the uniform grid index and its driver; :mod:`._kernels_cpu` — its numba kernels.
* :mod:`._grid_cuda` — the same grid on a GPU (CuPy input), built with the data's array module;
  :mod:`._kernels_cuda` — its numba.cuda kernels (run by numba's CUDA simulator in tests).
* :mod:`._chunked` — DBSCAN from neighbourhood queries in bounded chunks, shared by
  :mod:`._tree` (KD-tree / ball tree), :mod:`._brute` (scikit-learn's brute force: any metric,
  callables, sparse rows) and :mod:`._precomputed` (a distance matrix, or a sparse
  radius-neighbours graph).
* :mod:`._dask` — slabs with eps halos, clustered where they live (on the GPU for CuPy chunks), merged by ids.

Union-find and the numbering of clusters are shared with other steps
(:mod:`scalecluster._common.disjoint_set`, :mod:`scalecluster._common.numbering`).
"""

from ._estimator import DBSCAN, dbscan

__all__ = ["DBSCAN", "dbscan"]
