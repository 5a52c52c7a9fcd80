"""The GPU grid (:mod:`scalecluster.cluster.dbscan._grid_cuda` and its CUDA kernels) against
the CPU grid and scikit-learn: identical labels, border points included, and core masks.

Without a GPU the kernels run in numba's CUDA simulator (every thread a Python
thread), so the data is small: a few hundred points per case.
"""

from __future__ import annotations

import functools

import dask
import dask.array as da
import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SkDBSCAN

from scalecluster import DBSCAN
from scalecluster.backends.dask_backend import DaskBackend
from scalecluster.cluster.dbscan import _dask, _estimator, _grid_cuda
from scalecluster.cluster.dbscan import _kernels_cuda as kernels
from scalecluster.cluster.dbscan._grid import build_grid, grid_dbscan
from scalecluster.cluster.dbscan._grid_cuda import build_device_grid, cuda_grid_dbscan
from scalecluster.cluster.dbscan._tree import make_tree
from tests.conftest import cuda_kernel_backend, needs_cuda_kernels, to_numpy

from ._data import (
    blobs_with_noise,
    border_between_two_clusters,
    dense_clumps,
    eps_for_neighbours,
)

pytestmark = [pytest.mark.cudasim, needs_cuda_kernels]


def _check(X, eps, min_samples, weights=None):
    """Run the GPU grid; assert it equals the CPU grid and scikit-learn exactly. Returns (labels, core)."""
    backend = cuda_kernel_backend()
    xp = backend.xp
    labels, core = cuda_grid_dbscan(
        backend, xp.asarray(X), None if weights is None else xp.asarray(weights), eps, float(min_samples)
    )
    assert labels.dtype == np.int64 and core.dtype == np.bool_
    labels, core = to_numpy(labels), to_numpy(core)
    cpu_labels, cpu_core = grid_dbscan(X, weights, eps, float(min_samples))
    reference = SkDBSCAN(eps=eps, min_samples=min_samples).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(labels, cpu_labels)
    np.testing.assert_array_equal(core, cpu_core)
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(np.flatnonzero(core), reference.core_sample_indices_)
    return labels, core


@pytest.mark.parametrize(
    "d, n, dtype",
    [
        (1, 300, np.float64),
        (2, 300, np.float64),
        (2, 300, np.float32),
        (3, 300, np.float64),
        (3, 300, np.float32),
        (4, 250, np.float64),
        (5, 200, np.float64),
    ],
)
def test_blobs_with_noise(d, n, dtype):
    """d ≤ 3: clique cells searched two cells out; d ≥ 4: cells of side eps cut into clique sub-cells."""
    X = blobs_with_noise(n, d, seed=d).astype(dtype)
    labels, core = _check(X, eps_for_neighbours(X.astype(np.float64), 12), 6)
    assert labels.max() >= 1 and (labels == -1).any() and not core.all()


@pytest.mark.parametrize("d", [2, 3])
def test_duplicates_and_dense_runs(d):
    """Exact duplicates and runs of hundreds of points: runs core as a whole, joined without distances."""
    X = dense_clumps(400, d, seed=0 if d == 2 else 3)  # seed 0: rounded to 0.01, many identical rows
    X = np.vstack([X, X[::7]])[np.random.default_rng(d).permutation(len(X) + len(X[::7]))]
    assert len(np.unique(X, axis=0)) < len(X)
    _check(X, eps_for_neighbours(X, 40), 20)


def test_identical_points_only():
    X = np.ones((50, 2))
    labels, core = _check(X, 0.1, 50)
    assert (labels == 0).all() and core.all()
    labels, core = _check(X, 0.1, 51)
    assert (labels == -1).all() and not core.any()


def test_all_noise_with_a_tiny_eps():
    X = blobs_with_noise(200, 2, seed=3)
    labels, core = _check(X, 1e-6, 2)
    assert (labels == -1).all() and not core.any()


def test_one_cluster_with_a_huge_eps():
    X = blobs_with_noise(200, 3, seed=4)
    labels, core = _check(X, 1e3, 5)
    assert (labels == 0).all() and core.all()


def test_min_samples_one_makes_every_point_core():
    X = blobs_with_noise(200, 2, seed=5)
    labels, core = _check(X, eps_for_neighbours(X, 3), 1)
    assert core.all() and labels.min() == 0


def test_sample_weights_zero_and_heavy():
    """Zero weights count nothing; a far-away point heavy enough is a cluster by itself."""
    X = blobs_with_noise(250, 2, seed=6)
    X = np.vstack([X, [[100.0, 100.0]]])
    rng = np.random.default_rng(6)
    weights = rng.integers(0, 3, len(X)).astype(np.float64)  # a third are zero
    weights[-1] = 7.0
    labels, core = _check(X, eps_for_neighbours(X, 10), 7, weights)
    assert core[-1] and labels[-1] >= 0 and (labels == labels[-1]).sum() == 1


def test_fractional_weights():
    X = blobs_with_noise(250, 3, seed=7)
    weights = np.random.default_rng(7).uniform(0.0, 2.0, len(X))
    _check(X, eps_for_neighbours(X, 10), 5, weights)


def test_border_point_takes_the_smaller_label():
    X, eps, min_samples = border_between_two_clusters()
    labels, core = _check(X, eps, min_samples)
    assert not core[0]
    assert labels[1] == 0 and labels[5] == 1  # the right cluster is met first in input order
    assert labels[0] == 0 and labels[-1] == -1


def test_results_do_not_depend_on_the_launch(monkeypatch):
    """Fewer threads per block: more blocks, other interleavings; the same labels."""
    X = dense_clumps(300, 2, seed=4)
    eps = eps_for_neighbours(X, 30)
    first = _check(X, eps, 10)
    monkeypatch.setattr(kernels, "THREADS", 16)
    second = _check(X, eps, 10)
    np.testing.assert_array_equal(first[0], second[0])


@pytest.mark.parametrize("d", [1, 2, 3, 4, 6])
def test_index_matches_the_cpu_grid(d):
    """Same keys as the CPU's, so the same pairs are looked at (no kernel runs here)."""
    X = dense_clumps(500, d, seed=d).astype(np.float32)
    eps = eps_for_neighbours(X.astype(np.float64), 20)
    backend = cuda_kernel_backend()
    gpu = build_device_grid(backend, backend.xp.asarray(X), eps)
    cpu = build_grid(X.astype(np.float64), eps)
    np.testing.assert_array_equal(to_numpy(gpu.cell_keys), cpu.cell_keys)
    np.testing.assert_array_equal(to_numpy(gpu.cell_run_start), cpu.cell_run_start)
    np.testing.assert_array_equal(to_numpy(gpu.run_start), cpu.run_start)
    np.testing.assert_array_equal(to_numpy(gpu.X), X.astype(np.float64)[to_numpy(gpu.order)])


def test_the_estimator_sends_cupy_to_the_device():
    assert _estimator._IN_MEMORY["cupy"] is _estimator._on_the_device


def test_the_device_path_through_the_estimator_function():
    """``_on_the_device`` as ``fit`` calls it: grid on the device; the tree's cases via the host."""
    backend = cuda_kernel_backend()
    X = blobs_with_noise(200, 2, seed=8)
    eps = eps_for_neighbours(X, 10)
    est = DBSCAN(eps=eps, min_samples=5)
    labels, core_index = _estimator._on_the_device(est, backend, backend.xp.asarray(X), None, est._plan(2))
    reference = SkDBSCAN(eps=eps, min_samples=5).fit(X)
    np.testing.assert_array_equal(to_numpy(labels), reference.labels_)
    np.testing.assert_array_equal(to_numpy(core_index), reference.core_sample_indices_)

    manhattan = DBSCAN(eps=eps, min_samples=5, metric="manhattan")
    plan = manhattan._plan(2)
    assert plan.kind == "kd_tree"
    labels, core_index = _estimator._on_the_device(manhattan, backend, backend.xp.asarray(X), None, plan)
    np.testing.assert_array_equal(to_numpy(labels), SkDBSCAN(eps=eps, min_samples=5, metric="manhattan").fit(X).labels_)


@pytest.mark.parametrize("chunks", [(0, 180, 180, 165), (180, 0, 345), (180, 345, 0)])
def test_dask_slabs_of_cupy_chunks_run_on_the_device(monkeypatch, chunks):
    """A Dask backend whose chunks are "cupy": each slab goes through the GPU grid, and the merge gives sklearn's labels
    (an empty chunk first, in the middle or last included)."""
    chunk = cuda_kernel_backend()
    chunk.name = "cupy"
    calls = []
    real = _grid_cuda.cuda_grid_dbscan
    monkeypatch.setattr(_grid_cuda, "cuda_grid_dbscan", lambda *a: calls.append(a[1].shape[0]) or real(*a))
    X = blobs_with_noise(500, 2, seed=9)
    eps = eps_for_neighbours(X, 12)
    weights = np.random.default_rng(9).integers(1, 3, len(X)).astype(np.float64)
    est = DBSCAN(eps=eps, min_samples=8)
    # One slab at a time: the simulator runs one kernel at a time (a GPU would take them concurrently).
    with dask.config.set(scheduler="synchronous"):
        labels, core_index = _dask.dask_dbscan(
            DaskBackend(chunk),
            da.from_array(X, chunks=(chunks, (2,))),
            da.from_array(weights, chunks=(chunks,)),
            functools.partial(_estimator._SLABS["dask[cupy]"], est, chunk),
            functools.partial(make_tree, metric="euclidean", p=None, leaf_size=30),
            eps=eps,
        )
        assert labels.chunks[0] == chunks
        labels = labels.compute()
    reference = SkDBSCAN(eps=eps, min_samples=8).fit(X, sample_weight=weights)
    assert len(calls) >= 2  # one per slab
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(core_index, reference.core_sample_indices_)


def test_dask_device_slabs_keep_the_tree_on_the_host():
    """Other metrics never reach the device."""
    chunk = cuda_kernel_backend()
    X = blobs_with_noise(150, 2, seed=10)
    est = DBSCAN(eps=1.0, min_samples=5, metric="chebyshev")
    labels, _ = _estimator._slab_on_the_device(est, chunk, X, None)
    reference = SkDBSCAN(eps=1.0, min_samples=5, metric="chebyshev").fit(X)
    np.testing.assert_array_equal(labels, reference.labels_)
    assert _estimator._SLABS.get("dask[numpy]") is None  # NumPy chunks: the host grid
