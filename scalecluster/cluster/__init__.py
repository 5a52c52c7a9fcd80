"""Clustering estimators, one folder per algorithm (its estimator, steps and kernels)."""

from .dbscan import DBSCAN
from .kmeans import KMeans, MiniBatchKMeans

__all__ = ["DBSCAN", "KMeans", "MiniBatchKMeans"]
