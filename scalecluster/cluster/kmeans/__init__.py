"""KMeans and MiniBatchKMeans, with their steps and their kernels for every device.

* :mod:`._estimator` — :class:`KMeans` (validation, n_init, the fitted attributes).
* :mod:`._functions` — scikit-learn's functions :func:`k_means` and :func:`kmeans_plusplus`.
* :mod:`._minibatch` — :class:`MiniBatchKMeans` (random batches in memory, streamed Dask chunks).
* :mod:`._lloyd` — Lloyd's iterations; :mod:`._seeding` — k-means||, k-means++, random.
* :mod:`._ops` — what those steps ask of the data, and the table that picks, per backend:
  :mod:`._ops_cpu` (NumPy: the numba kernels of :mod:`._kernels_cpu`),
  :mod:`._ops_generic` (any array module with NumPy's API: CuPy today),
  :mod:`._ops_dask` (the chunks' operations mapped over Dask blocks, with
  :mod:`._dask_sweepers` on a distributed cluster).
"""

from ._estimator import KMeans
from ._functions import k_means, kmeans_plusplus
from ._minibatch import MiniBatchKMeans

__all__ = ["KMeans", "MiniBatchKMeans", "k_means", "kmeans_plusplus"]
