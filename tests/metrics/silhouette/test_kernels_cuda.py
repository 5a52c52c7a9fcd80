"""The silhouette's CUDA kernels (``_kernels_cuda.py``): launch shapes, the table's entries, inputs of any layout.

Run on a GPU, or in numba's CUDA simulator on small data (every simulated
thread is a Python thread).  ``test_distance_sums.py`` holds the parity
tests shared with the other implementations.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from scalecluster.backends.numpy_backend import NumpyBackend
from scalecluster.metrics.silhouette import _distance_sums as sums
from tests.conftest import GPU, cuda_kernel_backend, needs_cuda_kernels
from tests.metrics.silhouette.test_distance_sums import _quick_thread_switches  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.cudasim, needs_cuda_kernels]

BACKEND = cuda_kernel_backend()


@pytest.fixture(scope="module")
def kc():
    from scalecluster.metrics.silhouette import _kernels_cuda

    return _kernels_cuda


def _brute(X, labels, queries, query_index, k, offset=0):
    dist = cdist(queries, X)
    for q, g in enumerate(query_index):
        if offset <= g < offset + len(X):
            dist[q, g - offset] = 0.0
    return np.stack([dist[:, labels == c].sum(axis=1) for c in range(k)], axis=1)


def _on(*arrays):
    return [BACKEND.xp.asarray(a) for a in arrays]


def test_launch_shape(kc):
    f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
    # 4 queries per thread while they fit in 64 registers; 128-row tiles up to 16 KiB.
    assert kc.LAUNCH.shape(16, f32, 10_000) == (128, 4, 128)
    assert kc.LAUNCH.shape(32, f32, 10_000) == (128, 2, 128)
    assert kc.LAUNCH.shape(64, f32, 10_000) == (128, 1, 64)
    assert kc.LAUNCH.shape(16, f64, 10_000) == (128, 2, 128)
    # No more queries than threads: one query per thread, none wasted.
    assert kc.LAUNCH.shape(16, f32, 128) == (128, 1, 128)
    assert kc.fits(64, f32) and not kc.fits(65, f32)
    assert kc.fits(32, f64) and not kc.fits(33, f64)
    assert not kc.fits(4, np.int64)


def test_default_launch_through_the_table():
    """The table's entries, on the default launch: 4 queries per thread, chunks of one tile."""
    rng = np.random.RandomState(3)
    X = (rng.normal(size=(300, 5)) + 20).astype(np.float32)
    labels = rng.randint(0, 3, 300).astype(np.int32)
    query_index = np.arange(40, 190)  # 150 queries (more than a block's threads), all rows of X
    queries = X[query_index].astype(np.float64)
    ours = sums._label_sums_cuda(BACKEND, 0, *_on(X, labels), queries, query_index, 3)
    cpu = sums._label_sums_cpu(NumpyBackend(), 0, X, labels, queries, query_index, 3)
    np.testing.assert_allclose(ours, cpu, rtol=2e-5)
    np.testing.assert_allclose(ours, _brute(X.astype(np.float64), labels, queries, query_index, 3), rtol=2e-5)

    codes = np.sort(labels)
    ref = X[np.argsort(labels, kind="stable")]
    ours = sums._code_sums_cuda(BACKEND, ref, codes, queries[:20], np.arange(20), 3, queries[:20].mean(axis=0))
    np.testing.assert_allclose(ours, _brute(ref.astype(np.float64), codes, queries[:20], np.arange(20), 3), rtol=2e-5)


def test_wide_rows_take_the_generic_path(kc, monkeypatch):
    def unused(*args, **kwargs):
        raise AssertionError("the CUDA kernel ran on rows too wide for it")

    monkeypatch.setattr(kc, "label_sums", unused)
    monkeypatch.setattr(kc, "code_sums", unused)
    rng = np.random.RandomState(4)
    X = rng.normal(size=(30, 70)).astype(np.float32)
    labels = rng.randint(0, 2, 30).astype(np.int32)
    queries = X[:4].astype(np.float64)
    ours = sums._label_sums_cuda(BACKEND, 0, *_on(X, labels), queries, np.arange(4), 2)
    np.testing.assert_allclose(ours, _brute(X.astype(np.float64), labels, queries, np.arange(4), 2), rtol=2e-5)
    codes = np.sort(labels)
    ours = sums._code_sums_cuda(BACKEND, X, codes, queries, np.full(4, -1), 2, queries.mean(axis=0))
    np.testing.assert_allclose(ours, _brute(X.astype(np.float64), codes, queries, np.full(4, -1), 2), rtol=2e-5)


def test_no_rows_or_no_queries(kc):
    X = np.zeros((0, 3))
    out = kc.label_sums(BACKEND, 0, *_on(X, np.zeros(0, np.int32)), np.ones((2, 3)), np.arange(2), 4)
    assert out.shape == (2, 4) and not out.any()
    X = np.ones((5, 3))
    out = kc.label_sums(BACKEND, 0, *_on(X, np.zeros(5, np.int32)), np.zeros((0, 3)), np.arange(0), 4)
    assert out.shape == (0, 4)


def test_any_layout_and_label_type_and_repeated_queries(kc):
    """Strided rows, int64 labels; a query given twice with the same own row; a query equal to a row that is not its own."""
    small = kc.Launch(threads=4, per_thread=2, tile=8, blocks=4, prepare_threads=16)
    rng = np.random.RandomState(5)
    full = rng.normal(size=(60, 6)) * 3 + 7
    X = np.asfortranarray(full)[:, ::2]  # neither C- nor F-contiguous
    labels = rng.randint(0, 4, 60).astype(np.int64)
    query_index = np.array([9, 9, 500, 31, 59, 0, 12, 44, 3, 3, 27])
    queries = X[np.clip(query_index, 0, 59)]
    ours = kc.label_sums(BACKEND, 0, *_on(X, labels), queries, query_index, 4, launch=small)
    expected = _brute(X, labels, queries, query_index, 4)
    # The query equal to row 59 (its own row is elsewhere) is exactly 0 from it too: recomputed
    # from the differences, as the expansion cannot tell it from 0.
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(ours[0], ours[1])


def test_exact_silhouette_runs_the_cuda_kernels(kc, monkeypatch):
    """``silhouette_samples`` on CuPy data equals scikit-learn's (in the simulator: NumPy data
    on a backend named "cupy", so that the tables pick the CUDA kernels)."""
    from sklearn.metrics import silhouette_samples as reference

    from scalecluster.backends._array import ArrayBackend
    from scalecluster.metrics.silhouette import _exact

    calls = []
    label_sums = kc.label_sums
    monkeypatch.setattr(kc, "label_sums", lambda *args: calls.append(1) or label_sums(*args))
    rng = np.random.RandomState(6)
    X = np.concatenate([rng.normal(size=(70, 3)), rng.normal(size=(60, 3)) + 3])
    labels = np.repeat([0, 1, 2], [50, 40, 40])
    if GPU:
        import cupy

        ours = _exact.silhouette_samples(cupy.asarray(X), cupy.asarray(labels))
    else:
        check = _exact.check_labelled

        def on_cupy(X, labels, **kwargs):
            data = check(X, labels, **kwargs)
            data.backend = ArrayBackend(np, "cupy")
            return data

        monkeypatch.setattr(_exact, "check_labelled", on_cupy)
        ours = _exact.silhouette_samples(X, labels)
    assert calls
    np.testing.assert_allclose(ours, reference(X, labels), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_rows_are_exactly_zero_apart(kc, dtype):
    """Copies of a query far from the queries' mean: the expansion leaves ~1e-8 between them, the kernel 0."""
    small = kc.Launch(threads=4, per_thread=2, tile=8, blocks=4, prepare_threads=16)
    rng = np.random.RandomState(8)
    base = (rng.normal(size=(10, 5)) * 50 + 1e3).astype(dtype)
    X = np.concatenate([base, base, base])
    labels = np.tile(np.arange(10), 3).astype(np.int32)  # each label: three identical rows
    query_index = np.arange(10)
    ours = kc.label_sums(BACKEND, 0, *_on(X, labels), X[:10].astype(np.float64), query_index, 10, launch=small)
    np.testing.assert_array_equal(np.diag(ours), np.zeros(10))
    # The CPU kernel agrees: a cluster of identical points scores exactly 1.
    cpu = sums._label_sums_cpu(NumpyBackend(), 0, X, labels, X[:10].astype(np.float64), query_index, 10)
    np.testing.assert_array_equal(np.diag(cpu), np.zeros(10))
