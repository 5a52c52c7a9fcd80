"""Clustering estimators."""

from ._dbscan import DBSCAN
from ._kmeans import KMeans
from ._minibatch import MiniBatchKMeans

__all__ = ["DBSCAN", "KMeans", "MiniBatchKMeans"]
