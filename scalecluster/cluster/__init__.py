"""Clustering estimators."""

from ._kmeans import KMeans

__all__ = ["KMeans"]
