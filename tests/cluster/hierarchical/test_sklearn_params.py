"""scikit-learn's parameters we accept without their full feature: memory, compute_full_tree, connectivity=None.

Found by scikit-learn's own ``cluster/tests/test_hierarchical.py`` run on our estimator
(``tools/peer_tests.py``): a drop-in user passing them got a TypeError.
"""

from __future__ import annotations

import joblib
import numpy as np
import pytest
import sklearn.cluster

from scalecluster import AgglomerativeClustering

X = np.random.RandomState(0).normal(size=(40, 3))


class RecordingMemory:
    """The joblib.Memory interface, recording what it is asked to cache."""

    def __init__(self) -> None:
        self.cached = []

    def cache(self, func):
        self.cached.append(func.__name__)
        return func


@pytest.mark.parametrize("linkage", ["ward", "average", "complete", "single"])
def test_memory_caches_the_tree(tmp_path, linkage):
    plain = AgglomerativeClustering(n_clusters=3, linkage=linkage).fit(X)
    cached = AgglomerativeClustering(n_clusters=3, linkage=linkage, memory=str(tmp_path)).fit(X)
    assert list(tmp_path.rglob("output.pkl")), "nothing was written to the cache directory"
    again = AgglomerativeClustering(n_clusters=3, linkage=linkage, memory=str(tmp_path)).fit(X)  # from the cache
    for model in (cached, again):
        np.testing.assert_array_equal(model.labels_, plain.labels_)
        np.testing.assert_array_equal(model.children_, plain.children_)
        np.testing.assert_array_equal(model.linkage_matrix_, plain.linkage_matrix_)


def test_memory_object_and_read_only_cache(tmp_path):
    recorder = RecordingMemory()
    AgglomerativeClustering(memory=recorder).fit(X)
    assert recorder.cached == ["linkage_matrix"]
    # A memory-mapped cache hands back read-only arrays; the fit must not write into them.
    memory = joblib.Memory(str(tmp_path), mmap_mode="r", verbose=0)
    first = AgglomerativeClustering(memory=memory, compute_distances=True).fit(X)
    second = AgglomerativeClustering(memory=memory, compute_distances=True).fit(X)
    np.testing.assert_array_equal(first.linkage_matrix_, second.linkage_matrix_)
    np.testing.assert_array_equal(first.labels_, AgglomerativeClustering().fit(X).labels_)


def test_memory_on_the_two_stage_path(tmp_path):
    plain = AgglomerativeClustering(n_clusters=3, n_micro=10, random_state=0).fit(X)
    cached = AgglomerativeClustering(n_clusters=3, n_micro=10, random_state=0, memory=str(tmp_path)).fit(X)
    np.testing.assert_array_equal(cached.labels_, plain.labels_)


def test_bad_memory_is_refused():
    with pytest.raises(ValueError, match=r"The 'memory' parameter of AgglomerativeClustering must be a str, an object"):
        AgglomerativeClustering(memory=3).fit(X)


@pytest.mark.parametrize("compute_full_tree", ["auto", True, False, np.bool_(False)])
def test_compute_full_tree_does_not_change_the_result(compute_full_tree):
    # Without connectivity scikit-learn builds the full tree whatever the value: so do we.
    ours = AgglomerativeClustering(n_clusters=5, compute_full_tree=compute_full_tree).fit(X)
    theirs = sklearn.cluster.AgglomerativeClustering(n_clusters=5, compute_full_tree=compute_full_tree).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_array_equal(ours.children_, theirs.children_)
    assert ours.children_.shape == (len(X) - 1, 2)


def test_compute_full_tree_false_with_distance_threshold_is_refused_as_sklearn():
    for estimator in (AgglomerativeClustering, sklearn.cluster.AgglomerativeClustering):
        with pytest.raises(ValueError, match="compute_full_tree must be True if distance_threshold is set"):
            estimator(n_clusters=None, distance_threshold=1.0, compute_full_tree=False).fit(X)
    AgglomerativeClustering(n_clusters=None, distance_threshold=1.0, compute_full_tree=True).fit(X)


def test_bad_compute_full_tree_is_refused():
    with pytest.raises(ValueError, match=r"The 'compute_full_tree' parameter of AgglomerativeClustering must be"):
        AgglomerativeClustering(compute_full_tree="always").fit(X)


def test_connectivity_none_is_accepted_and_anything_else_refused_with_the_reason():
    np.testing.assert_array_equal(
        AgglomerativeClustering(connectivity=None).fit(X).labels_, AgglomerativeClustering().fit(X).labels_
    )
    for connectivity in (np.ones((len(X), len(X))), lambda X: np.ones((len(X), len(X)))):
        with pytest.raises(ValueError, match=r"connectivity constraints are not implemented .* connectivity must be None"):
            AgglomerativeClustering(connectivity=connectivity).fit(X)


def test_sklearn_default_parameters_carry_over():
    # A drop-in user may move a scikit-learn model's parameters onto ours.
    params = sklearn.cluster.AgglomerativeClustering(n_clusters=4, linkage="average").get_params()
    ours = AgglomerativeClustering().set_params(**params).fit(X)
    theirs = sklearn.cluster.AgglomerativeClustering(**params).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
