"""Data and assertions shared by the DBSCAN tests."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.neighbors import KDTree

from tests.conftest import to_numpy


def blobs_with_noise(n: int, d: int, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    X, _ = make_blobs(n, n_features=d, centers=4, cluster_std=0.8, random_state=seed)
    rng = np.random.default_rng(seed)
    extra = rng.uniform(X.min(axis=0), X.max(axis=0), size=(int(n * noise), d))
    return np.vstack([X, extra])


def eps_for_neighbours(X: np.ndarray, target: float) -> float:
    """eps at which a point has about ``target`` neighbours on average."""
    tree = KDTree(X)
    sample = X[:: max(1, X.shape[0] // 500)]
    low, high = 1e-6, float(np.ptp(X, axis=0).max())
    for _ in range(40):
        mid = (low * high) ** 0.5
        low, high = (
            (mid, high)
            if tree.query_radius(sample, mid, count_only=True).mean() < target
            else (low, mid)
        )
    return mid


def assert_same_as_sklearn(ours, reference) -> None:
    """Identical labels (border points included) and core points."""
    labels = to_numpy(ours.labels_)
    np.testing.assert_array_equal(
        to_numpy(ours.core_sample_indices_), reference.core_sample_indices_
    )
    np.testing.assert_array_equal(labels, reference.labels_)


def assert_partition_contract(
    X: np.ndarray, labels: np.ndarray, core: np.ndarray, reference
) -> None:
    """The weaker contract of the issue, checked independently of label numbers."""
    ref_core = np.zeros(len(X), bool)
    ref_core[reference.core_sample_indices_] = True
    np.testing.assert_array_equal(labels == -1, reference.labels_ == -1)  # same noise
    # Same partition of the core points: a bijection between cluster ids.
    pairs = set(zip(labels[ref_core].tolist(), reference.labels_[ref_core].tolist()))
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})


def dense_clumps(n: int, d: int, seed: int) -> np.ndarray:
    """Heavy-tailed clumps of very different widths (some nearly duplicate rows), plus
    uniform noise: runs of hundreds of points, and cells whose runs are joined only
    through other cells, as in the traffic features of the anomalies job."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    centres = rng.normal(size=(k, d)) * rng.uniform(0.5, 4)
    sizes = rng.lognormal(0, 1, size=k)
    sizes = (sizes / sizes.sum() * n).astype(int) + 1
    parts = [c + rng.normal(size=(m, d)) * rng.lognormal(-2, 1) for c, m in zip(centres, sizes)]
    X = np.vstack(parts + [rng.uniform(-5, 5, size=(n // 20, d))])
    return np.round(X, 2) if seed % 3 == 0 else X  # exact duplicates too



def border_between_two_clusters() -> tuple[np.ndarray, float, int]:
    """``(X, eps, min_samples)``: point 0 is a border point within eps of core points
    of two clusters.  The right-hand cluster comes first in input order (label 0)
    but last in space (its cells sort after the left one's), so the border
    point must take the smaller label, not the first cluster met."""
    right = [[1.0, 0.0], [1.1, 0.0], [1.2, 0.0], [1.3, 0.0]]
    left = [[-1.0, 0.0], [-1.1, 0.0], [-1.2, 0.0], [-1.3, 0.0]]
    X = np.array([[0.0, 0.0]] + right + left + [[5.0, 5.0]])  # the last: noise
    return X, 1.05, 4
