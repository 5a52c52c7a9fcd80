"""The in-memory backends' description of the data (:mod:`scalecluster.backends._array`)."""

from __future__ import annotations

import numpy as np
import pytest

from scalecluster import config_context
from scalecluster.backends._array import ArrayBackend
from scalecluster.backends.numpy_backend import NumpyBackend


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_variance_equals_numpy(dtype):
    X = np.random.RandomState(0).normal(size=(5000, 7)).astype(dtype)
    with config_context(working_memory=0.05):  # many row blocks, merged exactly
        _, _, finite, variance = NumpyBackend().describe(X, None)
    assert finite
    assert variance == pytest.approx(float(X.astype(np.float64).var(axis=0).mean()), rel=1e-10)


def test_describe_sees_infinity():
    Y = np.random.RandomState(0).normal(size=(100, 3))
    Y[3, 2] = np.inf
    assert ArrayBackend(np, "generic-numpy").describe(Y, None)[2] is False


def test_take_rows_gives_host_float64():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    rows = NumpyBackend().take_rows(X, np.array([4, 0]))
    assert rows.dtype == np.float64
    np.testing.assert_array_equal(rows, [[8, 9], [0, 1]])
