"""Parity of the KMeans operations (:mod:`scalecluster.cluster.kmeans._ops`) with the CPU kernels.

Every implementation in the table must agree with the NumPy backend's numba
kernels (:mod:`~scalecluster.cluster.kmeans._kernels_cpu`).  The generic
array-module path needs no GPU: it is written against NumPy's API, so running
it on NumPy arrays (a backend named ``generic-numpy``, which the table does not
know) exercises exactly the code any other array module runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans as SKKMeans

import scalecluster._validation as validation
from scalecluster import KMeans, config_context
from scalecluster.backends._array import ArrayBackend
from scalecluster.backends.numpy_backend import NumpyBackend
from scalecluster.cluster.kmeans._ops import kmeans_ops
from scalecluster.cluster.kmeans._ops_cpu import CpuOps
from scalecluster.cluster.kmeans._ops_generic import GenericOps

GENERIC_NUMPY = ArrayBackend(np, "generic-numpy")
GENERIC = GenericOps(GENERIC_NUMPY)
KERNELS = CpuOps(NumpyBackend())


def test_the_table_picks_the_kernels():
    assert type(kmeans_ops(NumpyBackend())) is CpuOps
    assert type(kmeans_ops(GENERIC_NUMPY)) is GenericOps  # an unknown backend: the generic path


@pytest.fixture(params=[np.float64, np.float32])
def data(request):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(5000, 7)).astype(request.param)
    w = rng.uniform(0.5, 2.0, 5000)
    centers = rng.normal(size=(9, 7))
    return X, w, centers


def test_accumulate_agrees(data):
    X, w, centers = data
    a, b = GENERIC.accumulate(X, w, centers), KERNELS.accumulate(X, w, centers)
    np.testing.assert_allclose(a.sums, b.sums, rtol=1e-9)
    np.testing.assert_allclose(a.weight_sums, b.weight_sums, rtol=1e-12)
    assert a.inertia == pytest.approx(b.inertia, rel=1e-9)


def test_labels_and_distances_agree(data):
    X, w, centers = data
    np.testing.assert_array_equal(GENERIC.labels(X, centers), KERNELS.labels(X, centers))
    np.testing.assert_array_equal(GENERIC.assign(X, w, centers)[0], KERNELS.assign(X, w, centers)[0])
    np.testing.assert_allclose(GENERIC.distances(X, centers), KERNELS.distances(X, centers), rtol=1e-6)


def test_update_nearest_agrees(data):
    X, w, centers = data
    a = GENERIC.update_nearest(X, w, None, centers[:4], 0)
    a = GENERIC.update_nearest(X, w, a, centers[4:], 4)
    b = KERNELS.update_nearest(X, w, None, centers[:4], 0)
    b = KERNELS.update_nearest(X, w, b, centers[4:], 4)
    np.testing.assert_allclose(a.rows[0], b.rows[0], rtol=1e-9)
    np.testing.assert_array_equal(a.rows[1], b.rows[1])
    assert a.potential == pytest.approx(b.potential, rel=1e-9)
    np.testing.assert_allclose(GENERIC.weight_per_nearest(w, a, 9), np.bincount(b.rows[1], weights=w, minlength=9))


def test_blocks_follow_the_working_memory_budget(data):
    X, w, centers = data
    with config_context(working_memory=0.01):  # ~10 KiB: many small blocks
        blocks = list(GENERIC._blocks(X, 9))
        small = GENERIC.accumulate(X, w, centers)
    assert len(blocks) > 50
    big = GENERIC.accumulate(X, w, centers)
    np.testing.assert_allclose(small.sums, big.sums, rtol=1e-9)


def test_kmeans_through_the_generic_path_matches_sklearn(monkeypatch):
    """A whole fit, seeding included, on the code path CuPy takes."""
    monkeypatch.setattr(validation, "get_backend", lambda *a: GENERIC_NUMPY)
    rng = np.random.RandomState(1)
    X = np.vstack([rng.normal(c, 0.5, (300, 3)) for c in (0, 5, 10)])
    init = X[[0, 300, 600]]
    ref = SKKMeans(n_clusters=3, init=init, n_init=1).fit(X)
    ours = KMeans(n_clusters=3, init=init).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6)
    for init_name in ("k-means||", "k-means++", "random"):
        km = KMeans(n_clusters=3, init=init_name, random_state=0).fit(X)
        assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 8, 9, 12, 16, 17, 24, 31])
def test_kernels_agree_for_every_feature_count(d):
    """The kernels sweep features in groups of 4 and 8: every remainder must be right."""
    rng = np.random.RandomState(d)
    X = rng.normal(size=(700, d)).astype(np.float32)
    w = np.ones(700)
    centers = rng.normal(size=(11, d))
    np.testing.assert_array_equal(KERNELS.labels(X, centers), GENERIC.labels(X, centers))
    a, b = KERNELS.accumulate(X, w, centers), GENERIC.accumulate(X, w, centers)
    np.testing.assert_allclose(a.sums, b.sums, rtol=1e-9, atol=1e-9)
    assert a.inertia == pytest.approx(b.inertia, rel=1e-9)
