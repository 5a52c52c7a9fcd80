"""Cutting trees: scikit-learn's numbering of the clusters, and its threshold rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage
from sklearn.cluster._agglomerative import _hc_cut

from scalecluster.cluster.hierarchical._tree import cut, n_clusters_at

from ._data import blobs


@pytest.mark.parametrize("method", ["ward", "single"])
@pytest.mark.parametrize("n_clusters", [1, 2, 3, 7, 50, 200])
def test_cut_numbers_clusters_as_sklearn(method, n_clusters):
    children = linkage(blobs(200), method=method)[:, :2].astype(np.intp)
    np.testing.assert_array_equal(cut(children, 200, n_clusters), _hc_cut(n_clusters, children, 200))


def test_cut_of_two_leaves_and_of_one():
    children = np.array([[0, 1]], dtype=np.intp)
    np.testing.assert_array_equal(cut(children, 2, 2), _hc_cut(2, children, 2))
    assert sorted(cut(children, 2, 2)) == [0, 1]
    np.testing.assert_array_equal(cut(children, 2, 1), [0, 0])
    np.testing.assert_array_equal(cut(np.empty((0, 2), np.intp), 1, 1), [0])


def test_threshold_undoes_merges_at_or_above_it():
    heights = np.array([0.5, 1.0, 1.0, 3.0])
    assert n_clusters_at(heights, 0.0) == 5
    assert n_clusters_at(heights, 1.0) == 4  # merges at exactly the threshold are undone
    assert n_clusters_at(heights, 1.5) == 2
    assert n_clusters_at(heights, 10.0) == 1
