"""Clusters numbered by first member (:mod:`scalecluster._common.numbering`)."""

from __future__ import annotations

import numpy as np

from scalecluster._common.numbering import rank_by_first


def test_clusters_ranked_by_their_first_member():
    # Elements 0..5 in three clusters rooted at 0, 2 and 5; element 4 does not count.
    root = np.array([0, 0, 2, 2, 5, 5])
    first = np.array([30, 10, 5, 40, 1, 20])
    counts = np.array([True, True, True, True, False, True])
    number = rank_by_first(root, first, counts)
    # Cluster 2 starts at 5, cluster 0 at 10, cluster 5 at 20 (1 is left out).
    assert number[2] == 0 and number[0] == 1 and number[5] == 2
    assert (number[[1, 3, 4]] == -1).all()  # not roots


def test_cluster_without_counted_members_gets_no_number():
    number = rank_by_first(np.array([0, 0, 2]), np.array([3, 1, 0]), np.array([True, True, False]))
    np.testing.assert_array_equal(number, [0, -1, -1])
