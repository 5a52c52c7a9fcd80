"""The tree path (:mod:`scalecluster.cluster.dbscan._tree`) against scikit-learn."""

from __future__ import annotations

import pytest
from sklearn.cluster import DBSCAN as SkDBSCAN

from scalecluster import DBSCAN

from ._data import assert_same_as_sklearn, blobs_with_noise, eps_for_neighbours


@pytest.mark.parametrize(
    "metric, p",
    [("manhattan", None), ("chebyshev", None), ("minkowski", 3), ("minkowski", 2)],
)
def test_other_metrics_through_the_tree(metric, p):
    X = blobs_with_noise(1500, 3)
    eps = eps_for_neighbours(X, 20)
    reference = SkDBSCAN(eps=eps, min_samples=8, metric=metric, p=p).fit(X)
    assert_same_as_sklearn(
        DBSCAN(eps=eps, min_samples=8, metric=metric, p=p).fit(X), reference
    )


def test_tree_chunks_do_not_change_the_answer():
    from scalecluster import config_context

    X = blobs_with_noise(3000, 6)
    eps = eps_for_neighbours(X, 40)
    reference = SkDBSCAN(eps=eps, min_samples=10).fit(X)
    with config_context(working_memory=0.01):  # a few hundred neighbours per chunk
        assert_same_as_sklearn(
            DBSCAN(eps=eps, min_samples=10, algorithm="tree").fit(X), reference
        )

