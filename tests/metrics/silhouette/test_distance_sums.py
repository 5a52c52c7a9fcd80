"""Parity of the silhouette's distance sums (``_distance_sums.py``) across its kernels.

Every implementation in the tables must give the sums of Euclidean distances
of a brute-force ``cdist``, with each query's distance to itself exactly 0.
The CUDA kernels run in numba's simulator without a GPU (tests marked
``cudasim``, on small data: every simulated thread is a Python thread).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from scalecluster.backends._array import ArrayBackend
from scalecluster.backends.numpy_backend import NumpyBackend
from scalecluster.metrics.silhouette import _distance_sums as sums
from tests.conftest import GPU, cuda_kernel_backend, needs_cuda_kernels


def _cuda(name):
    """The CUDA driver ``name`` of ``_kernels_cuda`` on a small launch, imported on first call.

    16 threads × 2 queries per block, 64-row tiles and a grid of about 6
    blocks: 40 queries span 2 query tiles (the second partial) and 700 rows
    3 chunks (the last one ending in a partial tile), so the tests cross every
    boundary of the grid while the simulator runs few Python threads and
    barriers.  The default launch is tested in ``test_kernels_cuda.py``.
    """

    def run(*args, **kwargs):
        from scalecluster.metrics.silhouette import _kernels_cuda

        small = _kernels_cuda.Launch(threads=16, per_thread=2, tile=64, blocks=6, prepare_threads=32)
        return getattr(_kernels_cuda, name)(*args, launch=small, **kwargs)

    return run


#: name -> (backend, distance_sums implementation, code_sums implementation)
IMPLEMENTATIONS = {
    "cpu": (NumpyBackend(), sums._label_sums_cpu, sums._code_sums_cpu),
    "generic": (ArrayBackend(np, "generic-numpy"), sums._label_sums_generic, sums._code_sums_generic),
    "cuda": (cuda_kernel_backend(), _cuda("label_sums"), _cuda("code_sums")),
}

#: The implementations as test parameters: the CUDA ones marked to run on a GPU or in the simulator.
IMPLS = [
    pytest.param(name, marks=[pytest.mark.cudasim, needs_cuda_kernels]) if name == "cuda" else name
    for name in sorted(IMPLEMENTATIONS)
]


@pytest.fixture(autouse=True)
def _quick_thread_switches(request):
    """In numba's simulator every thread of a block waits for the others at each
    barrier: switching Python threads every 0.5 ms rather than 5 ms makes
    those waits shorter (the simulated tests run 2-4 times faster)."""
    if request.node.get_closest_marker("cudasim") is None or GPU:
        yield
        return
    before = sys.getswitchinterval()
    sys.setswitchinterval(5e-4)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _brute(X, labels, queries, query_index, k, offset=0):
    dist = cdist(queries, X)
    for q, g in enumerate(query_index):
        if offset <= g < offset + len(X):
            dist[q, g - offset] = 0.0
    return np.stack([dist[:, labels == c].sum(axis=1) for c in range(k)], axis=1)


def _on(backend, *arrays):
    """The arrays on the backend's array module (CuPy for the CUDA kernels on a GPU)."""
    return [backend.xp.asarray(a) for a in arrays]


def _rtol(dtype):
    return 1e-9 if dtype == np.float64 else 2e-5


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [1, 3, 8, 13])
def test_label_sums_equal_brute_force(impl, dtype, d):
    backend, label_sums, _ = IMPLEMENTATIONS[impl]
    rng = np.random.RandomState(d)
    X = (rng.normal(size=(700, d)) + 50).astype(dtype)  # an offset: the centred expansion must hold
    k = 5
    labels = rng.randint(0, k, 700).astype(np.int32)
    labels[:3] = 4  # a label with runs split across tiles
    query_index = np.sort(rng.choice(900, 40, replace=False))  # some queries are not rows of this block
    offset = 200
    queries = rng.normal(size=(40, d)) + 50
    inside = (query_index >= offset) & (query_index < offset + 700)
    queries[inside] = X[query_index[inside] - offset]
    Xb, lb = _on(backend, X, labels)
    ours = label_sums(backend, offset, Xb, lb, queries, query_index, k)
    assert isinstance(ours, np.ndarray) and ours.shape == (40, k) and ours.dtype == np.float64
    np.testing.assert_allclose(
        ours, _brute(X.astype(np.float64), labels, queries, query_index, k, offset), rtol=_rtol(dtype)
    )
    if impl != "cuda":  # the CUDA kernels' test backend is in no table
        # The public entry picks the CPU kernel for NumPy, the generic path for an unknown backend.
        np.testing.assert_allclose(sums.distance_sums(backend, offset, X, labels, queries, query_index, k), ours, rtol=1e-12)


@pytest.mark.parametrize("impl", IMPLS)
def test_code_sums_equal_brute_force(impl):
    backend, _, code_sums = IMPLEMENTATIONS[impl]
    rng = np.random.RandomState(0)
    ref = rng.normal(size=(500, 4))
    codes = np.sort(rng.randint(0, 30, 500))  # sorted by code, some codes absent
    query_pos = np.array([-1, 3, 499, -1, 250])
    queries = rng.normal(size=(5, 4))
    queries[query_pos >= 0] = ref[query_pos[query_pos >= 0]]
    ours = code_sums(backend, ref, codes, queries, query_pos, 30, queries.mean(axis=0))
    np.testing.assert_allclose(ours, _brute(ref, codes, queries, query_pos, 30), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("impl", IMPLS)
def test_one_label_and_single_rows(impl):
    backend, label_sums, _ = IMPLEMENTATIONS[impl]
    X = np.array([[0.0, 0.0], [3.0, 4.0]])
    out = label_sums(backend, 0, *_on(backend, X, np.array([0, 0], np.int32)), X, np.array([0, 1]), 1)
    np.testing.assert_allclose(out, [[5.0], [5.0]])


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_edge_cases(impl, dtype):
    """One label; a label of a single row; a label absent from the block; queries that are no row of it."""
    backend, label_sums, _ = IMPLEMENTATIONS[impl]
    rng = np.random.RandomState(1)
    X = rng.normal(size=(150, 7)).astype(dtype)  # 7 features: a multiple of nothing
    queries = rng.normal(size=(9, 7))
    outside = np.arange(1000, 1009)  # global rows of another block
    for labels, k in [
        (np.zeros(150, np.int32), 1),
        (np.where(np.arange(150) == 77, 2, np.arange(150) % 2).astype(np.int32), 4),  # label 2: one row; 3: none
    ]:
        ours = label_sums(backend, 0, *_on(backend, X, labels), queries, outside, k)
        np.testing.assert_allclose(ours, _brute(X.astype(np.float64), labels, queries, outside, k), rtol=_rtol(dtype))
    # The single row of label 2, as a query: its own distance is exactly 0.
    labels = np.where(np.arange(150) == 77, 2, np.arange(150) % 2).astype(np.int32)
    ours = label_sums(backend, 500, *_on(backend, X, labels), X[[77, 3]], np.array([577, 503]), 3)
    assert ours[0, 2] == 0.0
    np.testing.assert_allclose(
        ours, _brute(X.astype(np.float64), labels, X[[77, 3]], np.array([577, 503]), 3, 500), rtol=_rtol(dtype)
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_more_labels_than_a_tile(impl):
    """k above the kernels' tile sizes (128 rows on the GPU, 256 on the CPU): runs of one or two rows."""
    backend, label_sums, _ = IMPLEMENTATIONS[impl]
    rng = np.random.RandomState(2)
    X = rng.normal(size=(400, 2)) * 10 + 1000  # far from the origin, d = 2
    k = 300
    labels = rng.randint(0, k, 400).astype(np.int32)  # many labels absent, many of one row
    query_index = np.array([0, 5, 399, 1000])
    queries = np.concatenate([X[[0, 5, 399]], rng.normal(size=(1, 2)) + 1000])
    ours = label_sums(backend, 0, *_on(backend, X, labels), queries, query_index, k)
    np.testing.assert_allclose(ours, _brute(X, labels, queries, query_index, k), rtol=1e-9, atol=1e-9)


def test_table_picks_the_cuda_kernels_for_cupy():
    """CuPy data goes to the CUDA kernels; nothing imports numba.cuda before they run."""
    assert sums._LABEL_SUMS["cupy"] is sums._label_sums_cuda
    assert sums._CODE_SUMS["cupy"] is sums._code_sums_cuda
