"""The linkage step against SciPy (unit sizes) and against Ward on expanded groups (weighted sizes)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import is_valid_linkage, linkage

from scalecluster.cluster.hierarchical._linkage import linkage_matrix

from ._data import blobs, bundled


@pytest.mark.parametrize("method", ["ward", "average", "complete"])
@pytest.mark.parametrize("data", ["blobs", "iris"])
def test_unit_sizes_give_scipys_matrix_bit_for_bit(method, data):
    X = blobs() if data == "blobs" else bundled("iris")
    Z = linkage_matrix(np.ascontiguousarray(X, dtype=np.float64), np.ones(len(X)), method)
    np.testing.assert_array_equal(Z, linkage(X, method=method, metric="euclidean"))
    assert is_valid_linkage(Z)


def test_single_linkage_has_scipys_heights_and_partitions():
    """Prim's order (scikit-learn's) may name pairs differently from SciPy's single linkage, not the heights."""
    X = blobs(200)
    Z = linkage_matrix(np.ascontiguousarray(X), np.ones(len(X)), "single")
    reference = linkage(X, method="single")
    np.testing.assert_allclose(Z[:, 2], reference[:, 2], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(np.sort(Z[:, :2], axis=1), reference[:, :2])


def _expanded_ward(points: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """SciPy's Ward on the data where leaf i is ``sizes[i]`` identical rows."""
    return linkage(np.repeat(points, sizes.astype(int), axis=0), method="ward")


def test_weighted_ward_is_ward_on_groups_of_identical_rows():
    """Groups of identical rows first merge at height 0; the rest of SciPy's tree is the weighted one."""
    rng = np.random.default_rng(3)
    points = rng.normal(size=(40, 3)) * [1.0, 2.0, 0.5]
    sizes = rng.integers(1, 6, size=40).astype(np.float64)
    Z = linkage_matrix(points, sizes, "ward")
    expanded = _expanded_ward(points, sizes)
    n_zero = int(sizes.sum()) - len(sizes)  # merges inside groups
    np.testing.assert_allclose(expanded[:n_zero, 2], 0.0, atol=1e-12)
    np.testing.assert_allclose(expanded[n_zero:, 2], Z[:, 2], rtol=1e-9, atol=0)
    # Same leaf counts at every merge once counted in rows: both trees have the same nodes.
    rows = np.concatenate([sizes, np.zeros(len(Z))])
    for i, (a, b) in enumerate(Z[:, :2].astype(int)):
        rows[len(sizes) + i] = rows[a] + rows[b]
    np.testing.assert_array_equal(rows[len(sizes):], expanded[n_zero:, 3])


def test_weighted_ward_heights_are_the_increase_of_the_sum_of_squares():
    """h² / 2 of every merge equals the increase of the within-cluster sum of squares of the groups."""
    rng = np.random.default_rng(5)
    points = rng.normal(size=(30, 4))
    sizes = rng.uniform(0.5, 20.0, size=30)  # weights need not be whole
    Z = linkage_matrix(points, sizes, "ward")
    n = len(sizes)
    mass = np.concatenate([sizes, np.zeros(n - 1)])
    centre = np.vstack([points, np.zeros((n - 1, 4))])
    for i, (a, b) in enumerate(Z[:, :2].astype(int)):
        gain = mass[a] * mass[b] / (mass[a] + mass[b]) * ((centre[a] - centre[b]) ** 2).sum()
        assert Z[i, 2] ** 2 / 2 == pytest.approx(gain, rel=1e-9)
        mass[n + i] = mass[a] + mass[b]
        centre[n + i] = (mass[a] * centre[a] + mass[b] * centre[b]) / mass[n + i]
    assert np.all(np.diff(Z[:, 2]) >= 0)  # Ward is monotone: sorted heights are the merge order


def test_weighted_average_is_average_linkage_of_rows_moved_to_their_centres():
    rng = np.random.default_rng(8)
    points = rng.normal(size=(25, 2))
    sizes = rng.integers(1, 4, size=25).astype(np.float64)
    Z = linkage_matrix(points, sizes, "average")
    expanded = linkage(np.repeat(points, sizes.astype(int), axis=0), method="average")
    n_zero = int(sizes.sum()) - len(sizes)
    np.testing.assert_allclose(expanded[n_zero:, 2], Z[:, 2], rtol=1e-9)


def test_complete_ignores_sizes():
    X = blobs(100)
    np.testing.assert_array_equal(
        linkage_matrix(X, np.ones(100), "complete"), linkage_matrix(X, np.arange(1.0, 101.0), "complete")
    )
