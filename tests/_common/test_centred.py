"""The centred distance expansion (:mod:`scalecluster._common.centred`)."""

from __future__ import annotations

import numpy as np

from scalecluster._common.centred import CentredPoints


def test_expansion_gives_squared_distances_despite_an_offset():
    rng = np.random.RandomState(0)
    points = rng.normal(size=(5, 3)) + 1e6
    X = rng.normal(size=(40, 3)) + 1e6
    prepared = CentredPoints.of(points)
    shift, minus_two_t, norms = prepared.kernel_operands(np.float64)
    centred = X - shift
    sq = (centred**2).sum(axis=1)[:, None] + norms[None, :] + centred @ minus_two_t
    exact = ((X[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(sq, exact, rtol=1e-6, atol=1e-6)


def test_given_shift_and_dtype():
    prepared = CentredPoints.of([[1.0, 2.0], [3.0, 6.0]], shift=np.zeros(2))
    shift, minus_two_t, norms = prepared.kernel_operands(np.float32)
    assert minus_two_t.dtype == norms.dtype == shift.dtype == np.float32
    assert minus_two_t.flags.c_contiguous and minus_two_t.shape == (2, 2)
    np.testing.assert_array_equal(norms, [5.0, 45.0])
