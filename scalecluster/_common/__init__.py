"""Building blocks shared by several algorithms, with no algorithm of their own.

* :mod:`.parallel` — the one thread runner (contiguous ranges, in order).
* :mod:`.tiles` — the numba tile and dot helpers of the CPU distance kernels.
* :mod:`.centred` — the centred squared-distance expansion, prepared once.
* :mod:`.disjoint_set` — union-find, as numba functions (DBSCAN grid, tree, Dask merge).
* :mod:`.numbering` — clusters numbered by their first point in input order.
"""
