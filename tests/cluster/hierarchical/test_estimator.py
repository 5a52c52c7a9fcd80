"""AgglomerativeClustering: scikit-learn's result up to n_micro rows, a close one beyond, on every backend."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.cluster.hierarchy import dendrogram, fcluster, is_valid_linkage
from sklearn.cluster import AgglomerativeClustering as SkAgglomerative
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from scalecluster import AgglomerativeClustering
from tests.conftest import to_backend, to_numpy

from ._data import blobs, bundled

LINKAGES = ["ward", "average", "complete", "single"]


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Same partition whatever the numbering (a bijection between the labels)."""
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


@pytest.mark.parametrize("linkage", LINKAGES)
@pytest.mark.parametrize("data", ["blobs", "iris", "wine", "breast_cancer", "digits"])
def test_exact_path_is_sklearn(data, linkage):
    """Same merges, heights equal (to 1e-9, in fact bit for bit) and the same labels for several cuts."""
    X = blobs() if data == "blobs" else bundled(data)
    ours = AgglomerativeClustering(n_clusters=None, distance_threshold=0.0, linkage=linkage).fit(X)
    theirs = SkAgglomerative(n_clusters=None, distance_threshold=0.0, linkage=linkage).fit(X)
    np.testing.assert_array_equal(ours.children_, theirs.children_)
    np.testing.assert_allclose(ours.distances_, theirs.distances_, rtol=0, atol=1e-9)
    assert ours.n_leaves_ == theirs.n_leaves_ == len(X)
    assert ours.n_clusters_ == theirs.n_clusters_
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    ours_full_heights = ours.distances_
    for k in (1, 2, 3, 5, 8, 20):
        ours = AgglomerativeClustering(n_clusters=k, linkage=linkage).fit(X)
        theirs = SkAgglomerative(n_clusters=k, linkage=linkage).fit(X)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        assert ours.n_clusters_ == k
    threshold = float(np.median(ours_full_heights))  # a threshold in the middle of the tree
    ours = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage=linkage).fit(X)
    theirs = SkAgglomerative(n_clusters=None, distance_threshold=threshold, linkage=linkage).fit(X)
    assert ours.n_clusters_ == theirs.n_clusters_
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)


def test_float32_and_compute_distances_as_sklearn():
    X = blobs().astype(np.float32)
    ours = AgglomerativeClustering(n_clusters=4, compute_distances=True).fit(X)
    theirs = SkAgglomerative(n_clusters=4, compute_distances=True).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.distances_, theirs.distances_, rtol=0, atol=1e-9)
    assert not hasattr(AgglomerativeClustering(n_clusters=4).fit(X), "distances_")  # as scikit-learn


@pytest.mark.parametrize("linkage", LINKAGES)
def test_linkage_matrix_works_with_scipy(linkage):
    X = blobs(150)
    model = AgglomerativeClustering(n_clusters=5, linkage=linkage).fit(X)
    Z = model.linkage_matrix_
    assert Z.shape == (149, 4) and is_valid_linkage(Z, throw=True)
    assert np.all(Z[:, 0] < Z[:, 1])
    assert _same_partition(fcluster(Z, 5, criterion="maxclust"), model.labels_)
    info = dendrogram(Z, no_plot=True, truncate_mode="lastp", p=10)
    assert len(info["leaves"]) == 10


def test_two_stage_ward_agrees_with_exact_ward():
    """Beyond n_micro: the blobs' own clusters are found as exact Ward finds them."""
    X = blobs(3000, d=5, centers=6, seed=1)
    exact = SkAgglomerative(n_clusters=6).fit(X)
    model = AgglomerativeClustering(n_clusters=6, n_micro=200, random_state=0).fit(X)
    assert model.n_leaves_ == 200 and model.labels_.shape == (3000,)
    assert adjusted_rand_score(exact.labels_, model.labels_) > 0.99
    # SciPy's cut of the micro-clusters' tree, looked up per row, is the same partition.
    leaf_labels = fcluster(model.linkage_matrix_, 6, criterion="maxclust")
    assert _same_partition(leaf_labels[model.micro_labels_], model.labels_)
    assert model.micro_sizes_.sum() == 3000 and model.micro_centers_.shape == (200, 5)
    assert model.micro_inertia_ > 0 and model.micro_n_iter_ >= 1


@pytest.mark.parametrize("linkage", ["average", "complete"])
def test_two_stage_average_and_complete_find_separated_blobs(linkage):
    X = blobs(3000, d=3, centers=4, seed=2, std=0.5)
    exact = SkAgglomerative(n_clusters=4, linkage=linkage).fit(X)
    model = AgglomerativeClustering(n_clusters=4, linkage=linkage, n_micro=150, random_state=0).fit(X)
    assert adjusted_rand_score(exact.labels_, model.labels_) > 0.99


def test_two_stage_with_minibatch_and_threshold():
    X = blobs(3000, d=5, centers=6, seed=1)
    exact = SkAgglomerative(n_clusters=6, compute_distances=True).fit(X)
    threshold = float(exact.distances_[-6] + exact.distances_[-5]) / 2  # between the 6th and 5th last merges
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, n_micro=200, micro_method="minibatch", random_state=0
    ).fit(X)
    assert model.n_clusters_ == 6
    assert adjusted_rand_score(exact.labels_, model.labels_) > 0.99
    assert model.distances_.shape == (199,)


def test_each_row_gets_its_micro_clusters_label():
    X = blobs(2000, d=3, centers=5, seed=4)
    model = AgglomerativeClustering(n_clusters=5, n_micro=100, random_state=0).fit(X)
    for leaf in range(model.n_leaves_):
        assert len(np.unique(model.labels_[model.micro_labels_ == leaf])) == 1
    # the micro-cluster is the nearest centre
    nearest = ((X[:, None, :] - model.micro_centers_[None]) ** 2).sum(-1).argmin(1)
    assert np.mean(nearest == model.micro_labels_) > 0.999


def test_two_stage_is_reproducible_with_a_seed():
    X = blobs(1500, d=3, seed=6)
    a = AgglomerativeClustering(n_clusters=4, n_micro=100, random_state=7).fit(X)
    b = AgglomerativeClustering(n_clusters=4, n_micro=100, random_state=7).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.linkage_matrix_, b.linkage_matrix_)


def test_duplicate_rows_beyond_n_micro_warn_and_keep_fewer_clusters():
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]]), 100, axis=0)
    with pytest.warns(ConvergenceWarning, match=r"micro-clusters \(3\) found smaller than n_clusters \(5\)"):
        model = AgglomerativeClustering(n_clusters=5, n_micro=10, random_state=0).fit(X)
    assert model.n_leaves_ == 3 and model.n_clusters_ == 3
    assert _same_partition(model.labels_, np.repeat([0, 1, 2], 100))


def test_refit_drops_attributes_of_the_previous_fit():
    model = AgglomerativeClustering(n_clusters=3, n_micro=50, compute_distances=True, random_state=0).fit(blobs(200))
    assert hasattr(model, "micro_labels_") and hasattr(model, "distances_")
    model.set_params(n_micro=1000, compute_distances=False).fit(blobs(200))
    assert not hasattr(model, "micro_labels_") and not hasattr(model, "distances_")


@pytest.mark.parametrize("two_stage", [False, True], ids=["exact", "two-stage"])
def test_backends_return_their_own_arrays(backend_name, two_stage):
    X = blobs(400, d=3, centers=4, seed=9)
    n_micro = 60 if two_stage else 1000
    reference = AgglomerativeClustering(n_clusters=4, n_micro=n_micro, random_state=0).fit(X)
    model = AgglomerativeClustering(n_clusters=4, n_micro=n_micro, random_state=0).fit(to_backend(X, backend_name, 100))
    labels = model.labels_
    if backend_name.startswith("dask"):
        import dask.array as da

        assert isinstance(labels, da.Array) and labels.chunks[0] == (100,) * 4
    elif backend_name == "cupy":
        assert type(labels).__module__.startswith("cupy")
    labels = to_numpy(labels)
    if two_stage:  # the first stage may differ between backends: compare with exact Ward
        assert adjusted_rand_score(SkAgglomerative(n_clusters=4).fit(X).labels_, labels) > 0.99
        assert model.n_leaves_ == 60
        assert type(model.micro_labels_) is type(model.labels_)
        assert to_numpy(model.micro_labels_).max() == 59
    else:
        np.testing.assert_array_equal(labels, reference.labels_)
        np.testing.assert_array_equal(model.linkage_matrix_, reference.linkage_matrix_)


def test_dask_two_stage_computes_only_what_kmeans_does_plus_the_counts():
    """Beyond the first stage's passes, one persist of the labels and one count; labels_ stays lazy."""
    import dask

    from scalecluster import KMeans

    X = to_backend(blobs(2000, d=3, centers=4, seed=9), "dask", 500)
    calls = []

    def counting(dsk, keys, **kwargs):
        calls.append(1)
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=counting):
        KMeans(n_clusters=50, n_init=1, max_iter=5, random_state=0).fit(X)
        n_kmeans = len(calls)
        model = AgglomerativeClustering(n_clusters=4, n_micro=50, micro_max_iter=5, random_state=0).fit(X)
        assert len(calls) - n_kmeans <= n_kmeans + 2
        n_fit = len(calls)
        labels = model.labels_.compute()
    assert len(calls) == n_fit + 1 and labels.shape == (2000,)


def test_pandas_feature_names_are_kept():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(blobs(100, d=2), columns=["recency", "spend"])
    model = AgglomerativeClustering(n_clusters=3).fit(frame)
    assert list(model.feature_names_in_) == ["recency", "spend"] and model.n_features_in_ == 2


def test_fit_predict_returns_labels():
    X = blobs(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(
            AgglomerativeClustering(n_clusters=3).fit_predict(X), SkAgglomerative(n_clusters=3).fit_predict(X)
        )
