"""Parity of the KMeans operations (:mod:`scalecluster.cluster.kmeans._ops`) with the CPU kernels.

Every implementation in the table must agree with the NumPy backend's numba
kernels (:mod:`~scalecluster.cluster.kmeans._kernels_cpu`):

* ``generic`` — the array-module path, written against NumPy's API: run on
  NumPy arrays (a backend named ``generic-numpy``, which the table does not
  know), it exercises exactly the code any other array module runs;
* ``cuda`` — the fused kernel of :mod:`~scalecluster.cluster.kmeans._kernels_cuda`,
  on a GPU with CuPy arrays, or without one in numba's CUDA simulator
  (``cudasim`` tests: small data, every thread a Python thread).
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
from tests.conftest import cuda_kernel_backend, needs_cuda_kernels

GENERIC_NUMPY = ArrayBackend(np, "generic-numpy")
KERNELS = CpuOps(NumpyBackend())


def _cuda_ops():
    from scalecluster.cluster.kmeans._ops_cuda import CudaOps

    return CudaOps(cuda_kernel_backend())


#: name -> (factory of the operations, rows of test data it can afford)
IMPLEMENTATIONS = [
    pytest.param((lambda: GenericOps(GENERIC_NUMPY), 5000), id="generic"),
    pytest.param((_cuda_ops, 600), id="cuda", marks=[pytest.mark.cudasim, needs_cuda_kernels]),
]


@pytest.fixture(params=IMPLEMENTATIONS)
def ops(request):
    factory, rows = request.param
    return factory(), rows


def _on(ops, *arrays):
    """The test's NumPy arrays on the implementation's device."""
    return [ops.backend.xp.asarray(a) for a in arrays]


def _host(ops, a):
    return np.asarray(ops.backend.to_host(a))


def _data(rows, d=7, k=9, dtype=np.float64, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(rows, d)).astype(dtype)
    w = rng.uniform(0.5, 2.0, rows)
    return X, w, rng.normal(size=(k, d))


def test_the_table_picks_the_kernels():
    assert type(kmeans_ops(NumpyBackend())) is CpuOps
    assert type(kmeans_ops(GENERIC_NUMPY)) is GenericOps  # an unknown backend: the generic path
    from scalecluster.cluster.kmeans._ops import _TABLE

    assert _TABLE["cupy"] == "._ops_cuda:CudaOps"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_accumulate_and_labels_agree(ops, dtype):
    ops, rows = ops
    X, w, centers = _data(rows, dtype=dtype)
    Xd, wd = _on(ops, X, w)
    a, b = ops.accumulate(Xd, wd, centers), KERNELS.accumulate(X, w, centers)
    np.testing.assert_allclose(a.sums, b.sums, rtol=1e-9)
    np.testing.assert_allclose(a.weight_sums, b.weight_sums, rtol=1e-12)
    assert a.inertia == pytest.approx(b.inertia, rel=1e-9)
    labels, acc = ops.assign(Xd, wd, centers)
    np.testing.assert_array_equal(_host(ops, labels), KERNELS.labels(X, centers))
    np.testing.assert_array_equal(_host(ops, ops.labels(Xd, centers)), KERNELS.labels(X, centers))
    assert acc.inertia == pytest.approx(b.inertia, rel=1e-9)


def test_distances_agree(ops):
    ops, rows = ops
    X, _, centers = _data(min(rows, 500))
    (Xd,) = _on(ops, X)
    np.testing.assert_allclose(_host(ops, ops.distances(Xd, centers)), KERNELS.distances(X, centers), rtol=1e-6)


def test_update_nearest_agrees(ops):
    ops, rows = ops
    X, w, centers = _data(rows)
    Xd, wd = _on(ops, X, w)
    a = ops.update_nearest(Xd, wd, None, centers[:4], 0)
    a = ops.update_nearest(Xd, wd, a, centers[4:], 4)
    b = KERNELS.update_nearest(X, w, None, centers[:4], 0)
    b = KERNELS.update_nearest(X, w, b, centers[4:], 4)
    np.testing.assert_allclose(_host(ops, a.rows[0]), b.rows[0], rtol=1e-9)
    np.testing.assert_array_equal(_host(ops, a.rows[1]), b.rows[1])
    assert a.potential == pytest.approx(b.potential, rel=1e-9)
    np.testing.assert_allclose(ops.weight_per_nearest(wd, a, 9), np.bincount(b.rows[1], weights=w, minlength=9))


def test_bernoulli_candidates_hold_the_rows_of_any_smaller_scale(ops):
    """A larger scale keeps a superset of rows, with the draws, weights and distances that pick
    out exactly the rows a smaller scale keeps (what the Dask actors rely on)."""
    ops, rows = ops
    X, w, centers = _data(rows)
    Xd, wd = _on(ops, X, w)
    state = ops.update_nearest(Xd, wd, None, centers[:3], 0)
    scale = 20.0 / state.potential
    offset = 70_000  # a chunk that starts inside a virtual block of draws
    kept = ops.bernoulli_rows(Xd, wd, state, scale, 5, 2, row_offset=offset)
    index, u, w_kept, d2 = ops.bernoulli_candidates(Xd, wd, state, 3 * scale, 5, 2, row_offset=offset)
    assert set(kept) <= set(index) and len(index) > len(kept) > 0
    np.testing.assert_array_equal(index[u < scale * w_kept * d2], kept)
    np.testing.assert_array_equal(w_kept, w[index - offset])
    np.testing.assert_array_equal(d2, _host(ops, state.rows[0])[index - offset])
    np.testing.assert_array_equal(ops.bernoulli_candidates(Xd, wd, state, scale, 5, 2, row_offset=offset)[0], kept)


@pytest.mark.parametrize(
    "d, k",
    [
        (1, 1),  # one feature, one centre
        (3, 40),  # centres outnumber most clusters of rows: many empty sums
        (40, 120),  # several shared-memory tiles of centres, sums in global per-block partials
    ],
)
def test_edge_shapes_agree(ops, d, k):
    ops, rows = ops
    X, w, centers = _data(min(rows, 400), d=d, k=k, dtype=np.float32, seed=d)
    Xd, wd = _on(ops, X, w)
    a, b = ops.assign(Xd, wd, centers), KERNELS.assign(X, w, centers)
    np.testing.assert_array_equal(_host(ops, a[0]), b[0])
    np.testing.assert_allclose(a[1].sums, b[1].sums, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a[1].weight_sums, b[1].weight_sums, rtol=1e-12)
    assert a[1].inertia == pytest.approx(b[1].inertia, rel=1e-9)


def test_k_equals_n_duplicates_and_sorted_rows(ops):
    """Every row its own centre (inertia 0); duplicated rows; rows sorted so that runs share a centre."""
    ops, _ = ops
    rng = np.random.RandomState(3)
    X = rng.normal(size=(60, 4))
    w = np.ones(60)
    Xd, wd = _on(ops, X, w)
    acc = ops.accumulate(Xd, wd, X.copy())
    assert acc.inertia == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(acc.sums, X)
    dup = np.repeat(X[:5], 40, axis=0)  # runs of 40 identical rows: one flush per run
    dd, wdup = _on(ops, dup, np.ones(200))
    a, b = ops.accumulate(dd, wdup, X[:3]), KERNELS.accumulate(dup, np.ones(200), X[:3])
    np.testing.assert_allclose(a.sums, b.sums, rtol=1e-12)
    np.testing.assert_allclose(a.weight_sums, b.weight_sums)


def test_zero_weights_count_nothing(ops):
    ops, rows = ops
    X, w, centers = _data(min(rows, 300))
    w[::2] = 0.0
    Xd, wd = _on(ops, X, w)
    a, b = ops.accumulate(Xd, wd, centers), KERNELS.accumulate(X, w, centers)
    np.testing.assert_allclose(a.weight_sums, b.weight_sums, rtol=1e-12)
    assert a.inertia == pytest.approx(b.inertia, rel=1e-9)


def test_lloyd_through_every_implementation_matches_sklearn(ops):
    """A whole fit from the same centres: the same inertia as scikit-learn's, to 1e-6."""
    from scalecluster.cluster.kmeans._lloyd import lloyd

    ops, rows = ops
    rng = np.random.RandomState(1)
    per = min(rows, 900) // 3
    X = np.vstack([rng.normal(c, 0.7, (per, 3)) for c in (0, 4, 8)])
    init = X[[0, per, 2 * per]] + 0.5
    ref = SKKMeans(n_clusters=3, init=init, n_init=1, tol=0).fit(X)
    Xd, wd = _on(ops, X, np.ones(len(X)))
    ours = lloyd(ops, Xd, wd, init, max_iter=300, tol=0.0)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-6)
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, rtol=1e-6)
    np.testing.assert_array_equal(_host(ops, ours.labels), ref.labels_)


def test_blocks_follow_the_working_memory_budget():
    generic = GenericOps(GENERIC_NUMPY)
    X, w, centers = _data(5000)
    with config_context(working_memory=0.01):  # ~10 KiB: many small blocks
        blocks = list(generic._blocks(X, 9))
        small = generic.accumulate(X, w, centers)
    assert len(blocks) > 50
    big = generic.accumulate(X, w, centers)
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
    """The CPU kernels sweep features in groups of 4 and 8: every remainder must be right."""
    generic = GenericOps(GENERIC_NUMPY)
    rng = np.random.RandomState(d)
    X = rng.normal(size=(700, d)).astype(np.float32)
    w = np.ones(700)
    centers = rng.normal(size=(11, d))
    np.testing.assert_array_equal(KERNELS.labels(X, centers), generic.labels(X, centers))
    a, b = KERNELS.accumulate(X, w, centers), generic.accumulate(X, w, centers)
    np.testing.assert_allclose(a.sums, b.sums, rtol=1e-9, atol=1e-9)
    assert a.inertia == pytest.approx(b.inertia, rel=1e-9)


@needs_cuda_kernels
@pytest.mark.parametrize("itemsize", [4, 8])
def test_cuda_blocks_fit_the_default_shared_memory(itemsize):
    """Centre tile + reductions + partial sums stay under the 48 KiB a kernel gets without opting in."""
    from scalecluster.cluster.kmeans import _kernels_cuda as kernels

    for d in (1, 2, 3, 8, 16, 33, 64, 200):
        for k in (1, 8, 64, 100, 256, 1024):
            tile = kernels.tile_rows(d, itemsize) * (d + 1) * itemsize
            dynamic = k * (d + 1) * 8 if kernels.sums_in_shared(k, d) else 0
            assert tile + 2 * kernels.THREADS * 8 + dynamic <= 48 * 1024, (d, k)


def test_sums_are_the_same_bits_on_every_run(ops):
    """No atomics in the CUDA sums (and none elsewhere): a sweep is reproducible to the last bit."""
    ops, rows = ops
    X, w, centers = _data(min(rows, 500), d=5, k=12, dtype=np.float32, seed=4)
    Xd, wd = _on(ops, X, w)
    first, again = ops.accumulate(Xd, wd, centers), ops.accumulate(Xd, wd, centers)
    np.testing.assert_array_equal(first.sums, again.sums)
    np.testing.assert_array_equal(first.weight_sums, again.weight_sums)
    assert first.inertia == again.inertia
