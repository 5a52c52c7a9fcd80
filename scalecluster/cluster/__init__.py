"""Clustering estimators, one folder per algorithm (its estimator, steps and kernels).

The functions ``k_means``, ``kmeans_plusplus`` and ``dbscan`` mirror scikit-learn's.
"""

from .dbscan import DBSCAN, dbscan
from .hierarchical import AgglomerativeClustering
from .kmeans import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus

__all__ = ["DBSCAN", "AgglomerativeClustering", "KMeans", "MiniBatchKMeans", "dbscan", "k_means", "kmeans_plusplus"]
