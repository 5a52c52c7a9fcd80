"""Dask DBSCAN (:mod:`scalecluster.cluster.dbscan._dask`): slabs with halos give the in-memory answer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SkDBSCAN
from sklearn.datasets import make_moons

from scalecluster import DBSCAN
from tests.conftest import to_backend

from ._data import assert_same_as_sklearn, blobs_with_noise, eps_for_neighbours


@pytest.mark.parametrize("chunk_rows", [97, 500, 1600, 5000])
@pytest.mark.parametrize("d", [2, 3, 8])
def test_dask_result_does_not_depend_on_partitions(chunk_rows, d):
    X = blobs_with_noise(3000, d, seed=1)
    eps = eps_for_neighbours(X, 25)
    weights = np.random.default_rng(1).integers(1, 3, len(X)).astype(float)
    reference = SkDBSCAN(eps=eps, min_samples=12).fit(X, sample_weight=weights)
    ours = DBSCAN(eps=eps, min_samples=12).fit(
        to_backend(X, "dask", chunk_rows=chunk_rows), sample_weight=weights
    )
    assert (
        ours.labels_.chunks[0] == to_backend(X, "dask", chunk_rows=chunk_rows).chunks[0]
    )
    assert_same_as_sklearn(ours, reference)


@pytest.mark.parametrize("metric, p", [("manhattan", None), ("chebyshev", None), ("minkowski", 3)])
def test_dask_other_metrics(metric, p):
    X = blobs_with_noise(2000, 3, seed=4)
    eps = eps_for_neighbours(X, 20)
    reference = SkDBSCAN(eps=eps, min_samples=8, metric=metric, p=p).fit(X)
    ours = DBSCAN(eps=eps, min_samples=8, metric=metric, p=p).fit(to_backend(X, "dask", chunk_rows=400))
    assert_same_as_sklearn(ours, reference)


def test_dask_slabs_of_noise_only():
    """Some slabs hold only noise (no local cluster at all); others hold clusters."""
    rng = np.random.default_rng(5)
    dense = rng.normal(size=(1500, 2)) * 0.2
    sparse = rng.uniform(10, 1000, size=(1500, 2))
    X = np.vstack([dense, sparse])
    reference = SkDBSCAN(eps=0.1, min_samples=5).fit(X)
    assert_same_as_sklearn(DBSCAN(eps=0.1, min_samples=5).fit(to_backend(X, "dask", chunk_rows=300)), reference)
    all_noise = DBSCAN(eps=1e-3, min_samples=5).fit(to_backend(sparse, "dask", chunk_rows=300))
    assert (all_noise.labels_.compute() == -1).all() and all_noise.core_sample_indices_.size == 0


def test_dask_slabs_narrower_than_eps(monkeypatch):
    """Slabs thinner than the halo (not cut so by default): a row is copied to every slab whose halo holds it."""
    from scalecluster.cluster.dbscan import _dask as _dbscan_dask

    monkeypatch.setattr(_dbscan_dask, "_MIN_SLAB_WIDTH", 0.0)
    X = make_moons(2000, noise=0.05, random_state=3)[0]
    reference = SkDBSCAN(eps=0.3, min_samples=5).fit(X)
    assert_same_as_sklearn(
        DBSCAN(eps=0.3, min_samples=5).fit(to_backend(X, "dask", chunk_rows=50)),
        reference,
    )


def test_slab_borders_are_never_thinner_than_the_halo():
    """Dense bands: equal-count cuts would be far thinner than eps; ours are 2 eps at least,
    on the feature whose largest slab is smallest."""
    from scalecluster.cluster.dbscan._dask import _slab_borders, _slab_load

    rng = np.random.default_rng(0)
    crowded = np.concatenate([rng.normal(0, 1e-3, 8000), rng.uniform(-50, 50, 2000)])  # wide, but 80 % in a band
    spread = rng.uniform(0, 10, 10_000)
    sample = np.column_stack([crowded, spread])
    axis, borders = _slab_borders(sample, 20, eps=0.05)
    assert axis == 1
    assert np.diff(borders).min() >= 2 * 0.05
    largest, copies = _slab_load(np.sort(sample[:, axis]), borders, 0.05)
    assert largest < 0.1 * len(sample) and copies < 1.5 * len(sample)
    assert _slab_borders(sample[:, :1], 20, eps=0.05)[1].size >= 1  # the crowded feature alone still cuts its tails


def test_dask_on_a_local_cluster():
    distributed = pytest.importorskip("distributed")
    X = blobs_with_noise(4000, 2, seed=2)
    eps = eps_for_neighbours(X, 25)
    reference = SkDBSCAN(eps=eps, min_samples=10).fit(X)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster):
        ours = DBSCAN(eps=eps, min_samples=10).fit(
            to_backend(X, "dask", chunk_rows=1000)
        )
        labels = ours.labels_.compute()
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(
        ours.core_sample_indices_, reference.core_sample_indices_
    )

