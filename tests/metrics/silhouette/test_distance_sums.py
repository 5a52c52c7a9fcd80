"""Parity of the silhouette's distance sums (``_distance_sums.py``) across its kernels.

Every implementation in the tables must give the sums of Euclidean distances
of a brute-force ``cdist``, with each query's distance to itself exactly 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from scalecluster.backends._array import ArrayBackend
from scalecluster.backends.numpy_backend import NumpyBackend
from scalecluster.metrics.silhouette import _distance_sums as sums

#: name -> (backend, distance_sums implementation, code_sums implementation)
IMPLEMENTATIONS = {
    "cpu": (NumpyBackend(), sums._label_sums_cpu, sums._code_sums_cpu),
    "generic": (ArrayBackend(np, "generic-numpy"), sums._label_sums_generic, sums._code_sums_generic),
}


def _brute(X, labels, queries, query_index, k, offset=0):
    dist = cdist(queries, X)
    for q, g in enumerate(query_index):
        if offset <= g < offset + len(X):
            dist[q, g - offset] = 0.0
    return np.stack([dist[:, labels == c].sum(axis=1) for c in range(k)], axis=1)


@pytest.mark.parametrize("impl", sorted(IMPLEMENTATIONS))
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
    ours = label_sums(backend, offset, X, labels, queries, query_index, k)
    rtol = 1e-9 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(ours, _brute(X.astype(np.float64), labels, queries, query_index, k, offset), rtol=rtol)
    # The public entry picks the CPU kernel for NumPy, the generic path for an unknown backend.
    np.testing.assert_allclose(sums.distance_sums(backend, offset, X, labels, queries, query_index, k), ours, rtol=1e-12)


@pytest.mark.parametrize("impl", sorted(IMPLEMENTATIONS))
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


def test_one_label_and_single_rows():
    backend, label_sums, _ = IMPLEMENTATIONS["cpu"]
    X = np.array([[0.0, 0.0], [3.0, 4.0]])
    out = label_sums(backend, 0, X, np.array([0, 0], np.int32), X, np.array([0, 1]), 1)
    np.testing.assert_allclose(out, [[5.0], [5.0]])
