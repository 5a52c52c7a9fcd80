"""Davies–Bouldin and Calinski–Harabasz indices, in two passes over the rows.

Pass 1 gives the centroid of every label; pass 2 the distances of the rows to
their own centroid.  Each pass reduces to O(k × d) numbers, so the same code
runs in memory, on a GPU, and over a Dask array's chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import ELEMENTWISE_MAX_ROWS, rows_per_block
from ._inputs import LabelledData, check_labelled, sum_over_blocks


def _label_sums(backend: Any, offset: int, X: Any, labels: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the rows of each label, and their count (host, float64)."""
    xp = backend.xp
    sums = np.zeros((k, X.shape[1]))
    step = rows_per_block((k + X.shape[1]) * 8, X.shape[0], max_rows=ELEMENTWISE_MAX_ROWS)
    for a in range(0, X.shape[0], step):
        one_hot = (labels[a : a + step, None] == xp.arange(k)[None, :]).astype(xp.float64)
        sums += backend.to_host(one_hot.T @ X[a : a + step].astype(xp.float64))
    counts = backend.to_host(xp.bincount(labels, minlength=k)).astype(np.float64)
    return sums, counts


def _own_centroid_distances(backend: Any, offset: int, X: Any, labels: Any, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per label: sum of distances, and of squared distances, of its rows to its centroid."""
    xp = backend.xp
    k = centroids.shape[0]
    c = xp.asarray(centroids)
    dist_sum, sq_sum = np.zeros(k), np.zeros(k)
    step = rows_per_block(2 * X.shape[1] * 8, X.shape[0], max_rows=ELEMENTWISE_MAX_ROWS)
    for a in range(0, X.shape[0], step):
        lab = labels[a : a + step]
        diff = X[a : a + step].astype(xp.float64) - c[lab]
        sq = (diff * diff).sum(axis=1)
        dist_sum += backend.to_host(xp.bincount(lab, weights=xp.sqrt(sq), minlength=k))
        sq_sum += backend.to_host(xp.bincount(lab, weights=sq, minlength=k))
    return dist_sum, sq_sum


def _centroids(data: LabelledData) -> tuple[np.ndarray, np.ndarray]:
    sums, counts = sum_over_blocks(data, _label_sums, data.n_labels)
    return sums / counts[:, None], counts


def davies_bouldin_score(X: Any, labels: Any) -> float:
    """Davies–Bouldin index: mean over clusters of the worst (s_i + s_j) / d(c_i, c_j).

    Lower is better; 0 is the minimum.  Equal to scikit-learn's.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        NumPy, CuPy or Dask.
    labels : array-like of shape (n_samples,)
        Same backend as ``X`` (NumPy labels are accepted beside Dask ``X``).

    Returns
    -------
    score : float

    Notes
    -----
    Two passes over ``X``; O(k d) memory beyond one row block, and the
    centroids compared with each other in blocks that fit the working memory.
    """
    data = check_labelled(X, labels)
    centroids, counts = _centroids(data)
    dist_sum, _ = sum_over_blocks(data, _own_centroid_distances, centroids)
    intra = dist_sum / counts
    worst, all_together = _worst_ratios(centroids, intra)
    if np.allclose(intra, 0) or all_together:
        return 0.0
    return float(np.mean(worst))


def _worst_ratios(centroids: np.ndarray, intra: np.ndarray) -> tuple[np.ndarray, bool]:
    """Per cluster, ``max_j (s_i + s_j) / d(c_i, c_j)``; and whether every centroid coincides.

    In blocks of clusters against all clusters, sized from the working memory:
    never the whole k × k × d array of centroid differences (5,000 labels of 8
    features would be 1.6 GB).  Differences are exact (no GEMM expansion), as
    scikit-learn computes them.
    """
    k, d = centroids.shape
    worst = np.empty(k)
    all_together = True
    step = rows_per_block((k * d + 4 * k) * 8, k)
    for a in range(0, k, step):
        diff = centroids[a : a + step, None, :] - centroids[None, :, :]
        gaps = np.sqrt((diff * diff).sum(axis=2))
        del diff
        all_together &= bool(np.allclose(gaps, 0))
        gaps[gaps == 0] = np.inf
        worst[a : a + step] = np.max((intra[a : a + step, None] + intra[None, :]) / gaps, axis=1)
    return worst, all_together


def calinski_harabasz_score(X: Any, labels: Any) -> float:
    """Calinski–Harabasz index: between- over within-cluster dispersion, scaled.

    Higher is better.  Equal to scikit-learn's.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)

    Returns
    -------
    score : float

    Notes
    -----
    Two passes over ``X``; O(k d) memory beyond one row block.
    """
    data = check_labelled(X, labels)
    centroids, counts = _centroids(data)
    _, sq_sum = sum_over_blocks(data, _own_centroid_distances, centroids)
    n = counts.sum()
    mean = (centroids * counts[:, None]).sum(axis=0) / n
    extra = float((counts * ((centroids - mean) ** 2).sum(axis=1)).sum())
    intra = float(sq_sum.sum())
    k = data.n_labels
    return float(1.0 if intra == 0.0 else extra * (n - k) / (intra * (k - 1.0)))
