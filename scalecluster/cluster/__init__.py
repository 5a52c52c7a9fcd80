"""Clustering estimators."""

from ._kmeans import KMeans
from ._minibatch import MiniBatchKMeans

__all__ = ["KMeans", "MiniBatchKMeans"]
