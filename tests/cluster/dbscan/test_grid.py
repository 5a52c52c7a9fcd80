"""The grid path (:mod:`scalecluster.cluster.dbscan._grid` and its CPU kernels) against scikit-learn."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SkDBSCAN

from scalecluster import DBSCAN
from scalecluster.cluster.dbscan._grid import grid_dbscan

from ._data import (
    assert_same_as_sklearn,
    blobs_with_noise,
    dense_clumps,
    eps_for_neighbours,
)


@pytest.mark.parametrize("min_samples", [1, 2, 5, 40])
@pytest.mark.parametrize("eps_scale", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_grid_over_eps_and_min_samples(d, eps_scale, min_samples):
    X = blobs_with_noise(1500, d, seed=d)
    eps = eps_for_neighbours(X, 20) * eps_scale
    reference = SkDBSCAN(eps=eps, min_samples=min_samples).fit(X)
    labels, core = grid_dbscan(X, None, eps, min_samples)
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(np.flatnonzero(core), reference.core_sample_indices_)


@pytest.mark.parametrize("seed", range(14))
def test_dense_clumps_in_every_dimension(seed):
    d = 1 + seed % 7  # at 8-D the keys of this spread overflow (the estimator would take the tree)
    X = dense_clumps(3000, d, seed)
    eps = eps_for_neighbours(X, 40)
    min_samples = (5, 20, 60)[seed % 3]
    reference = SkDBSCAN(eps=eps, min_samples=min_samples).fit(X)
    labels, core = grid_dbscan(X, None, eps, min_samples)
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(np.flatnonzero(core), reference.core_sample_indices_)


@pytest.mark.parametrize("eps", [1e-9, 1e-300])
def test_tiny_eps_falls_back_to_the_tree(eps):
    """A grid of cells 1e-300 wide cannot be keyed in 64 bits: auto uses the tree, grid says why."""
    X = blobs_with_noise(500, 3)
    X[:10] = X[0]  # a few exact duplicates, so there is something to find
    reference = SkDBSCAN(eps=eps, min_samples=3).fit(X)
    assert_same_as_sklearn(DBSCAN(eps=eps, min_samples=3).fit(X), reference)
    if eps < 1e-100:
        with pytest.raises(ValueError, match="overflow"):
            DBSCAN(eps=eps, min_samples=3, algorithm="grid").fit(X)


def test_memory_is_linear_in_n():
    """Neighbourhoods are never stored: 200k points with ~300 neighbours each
    would need ~480 MB as index lists; the grid needs a few arrays of length n."""
    X = blobs_with_noise(200_000, 2)
    eps = eps_for_neighbours(X, 300)
    DBSCAN(eps=eps, min_samples=10).fit(X[:1000])  # compile outside the measurement
    tracemalloc.start()
    DBSCAN(eps=eps, min_samples=10).fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 25 * X.nbytes, (
        f"peak {peak / 2**20:.0f} MiB for {X.nbytes / 2**20:.0f} MiB of data"
    )

