"""Clustering quality metrics on NumPy, CuPy and Dask, in bounded memory."""

from ._choose import EpsSuggestion, KSweep, k_sweep, suggest_eps
from ._indices import calinski_harabasz_score, davies_bouldin_score
from .silhouette import silhouette_samples, silhouette_score

__all__ = [
    "EpsSuggestion",
    "KSweep",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "k_sweep",
    "silhouette_samples",
    "silhouette_score",
    "suggest_eps",
]
