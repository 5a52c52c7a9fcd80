"""The in-memory backends' description of the data (:mod:`scalecluster.backends._array`, ``_stats``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scalecluster import config_context
from scalecluster.backends._array import ArrayBackend
from scalecluster.backends._stats import Summary
from scalecluster.backends.numpy_backend import NumpyBackend


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_variance_and_range_equal_numpy(dtype):
    X = np.random.RandomState(0).normal(size=(5000, 7)).astype(dtype)
    with config_context(working_memory=0.05):  # many row blocks, merged exactly
        _, _, summary = NumpyBackend().describe(X, None)
    assert summary.finite and summary.count == 5000
    assert summary.mean_variance == pytest.approx(float(X.astype(np.float64).var(axis=0).mean()), rel=1e-10)
    np.testing.assert_array_equal(summary.low, X.min(axis=0))
    np.testing.assert_array_equal(summary.high, X.max(axis=0))


def test_describe_sees_infinity():
    Y = np.random.RandomState(0).normal(size=(100, 3))
    Y[3, 2] = np.inf
    summary = ArrayBackend(np, "generic-numpy").describe(Y, None)[2]
    assert summary.finite is False
    with pytest.raises(ValueError, match="NaN or infinity"):
        summary.check(Y.dtype)


@pytest.mark.parametrize(
    "dtype, scale, ok",
    [(np.float64, 1e150, True), (np.float64, 1e300, False), (np.float32, 1e15, True), (np.float32, 1e19, False)],
)
def test_ranges_whose_squared_distances_overflow_are_refused(dtype, scale, ok):
    X = (np.random.RandomState(1).uniform(-1, 1, size=(50, 4)) * scale).astype(dtype)
    summary = NumpyBackend().block_stats(X, spread=False)
    if ok:
        summary.check(dtype)
        return
    with pytest.raises(ValueError, match=r"too wide a range .* column \d .* overflow.*Rescale X"):
        summary.check(dtype)


def test_points_widen_the_range():
    """Rows near 0 against centres near 1e300: the distances between them overflow."""
    X = np.ones((5, 2))
    NumpyBackend().block_stats(X).check(X.dtype)
    with pytest.raises(ValueError, match="overflow"):
        NumpyBackend().block_stats(X).check(X.dtype, points=np.full((2, 2), 1e300))


def test_sparse_range_counts_the_implicit_zeros():
    X = sp.csr_matrix(np.array([[0.0, 5.0], [2.0, 0.0]]))
    summary = NumpyBackend().block_stats(X)
    np.testing.assert_array_equal(summary.low, [0.0, 0.0])
    np.testing.assert_array_equal(summary.high, [2.0, 5.0])


def test_merge_of_empty_and_unmeasured_blocks():
    assert Summary.merge([Summary(0, True), Summary(3, True)]).low is None
    assert Summary.merge([Summary(2, False), Summary(3, True)]).finite is False


def test_take_rows_gives_host_float64():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    rows = NumpyBackend().take_rows(X, np.array([4, 0]))
    assert rows.dtype == np.float64
    np.testing.assert_array_equal(rows, [[8, 9], [0, 1]])
