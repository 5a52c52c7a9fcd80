"""The silhouette: exact in row blocks, or estimated from a sample with an interval.

* :mod:`._score` — :func:`silhouette_score` (validation; exact or sampled).
* :mod:`._exact` — :func:`silhouette_samples`, blocks of queries against all rows.
* :mod:`._sampled` — the stratified-reference estimate and its interval.
* :mod:`._dask` — the steps that map over a Dask array's chunks.
* :mod:`._distance_sums` — the one hot loop (Euclidean distances from queries
  summed per label), with the table that picks its kernel: :mod:`._kernels_cpu`
  (numba) for NumPy, :mod:`._kernels_cuda` (numba.cuda, imported on first use)
  for CuPy, the generic array-module path otherwise; :mod:`._operands` — what
  the kernels read about the queries, and when a distance too small for the
  expansion is recomputed from the differences (identical rows: exactly 0).
* :mod:`._pairwise` — any other metric scikit-learn accepts, callables,
  precomputed distances and wide sparse rows (NumPy data): blocks of
  scikit-learn's distances, summed per label.
"""

from ._exact import silhouette_samples
from ._sampled import SilhouetteEstimate, estimate_silhouette
from ._score import silhouette_score

__all__ = ["SilhouetteEstimate", "estimate_silhouette", "silhouette_samples", "silhouette_score"]
