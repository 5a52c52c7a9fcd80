"""The silhouette with ``metric=`` (scikit-learn's names, callables, precomputed), sparse rows, and identical points."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import distance
from sklearn import metrics as skm
from sklearn.datasets import load_iris, make_blobs
from sklearn.metrics import pairwise_distances

from scalecluster import config_context
from scalecluster.metrics import silhouette_samples, silhouette_score
from tests.conftest import to_backend

from .._data import _labels_for

X, Y = make_blobs(300, 4, centers=3, cluster_std=1.5, random_state=7)
X = X - X.min(axis=0) + 0.1  # positive, for the metrics that want it

METRICS = {
    "cosine": ("cosine", {}),
    "manhattan": ("manhattan", {}),
    "chebyshev": ("chebyshev", {}),
    "minkowski-p3": ("minkowski", {"p": 3}),
    "seuclidean": ("seuclidean", {"V": X.var(axis=0)}),
    "seuclidean-V-from-data": ("seuclidean", {}),
    "mahalanobis-VI-from-data": ("mahalanobis", {}),
    "canberra": ("canberra", {}),
    "sqeuclidean": ("sqeuclidean", {}),
    "callable": (distance.braycurtis, {}),
    "euclidean-with-n_jobs": ("euclidean", {"n_jobs": 2}),
}


@pytest.mark.parametrize("name", sorted(METRICS))
def test_exact_silhouette_under_sklearns_metrics(name):
    metric, kwds = METRICS[name]
    with config_context(working_memory=0.1):  # many blocks of rows
        ours = silhouette_samples(X, Y, metric=metric, **kwds)
        score = silhouette_score(X, Y, metric=metric, **kwds)
    expected = skm.silhouette_samples(X, Y, metric=metric, **kwds)
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)
    assert score == pytest.approx(float(np.mean(expected)), rel=1e-9)


@pytest.mark.parametrize("fmt", [None, "csr", "csc", "lil", "dok", "coo"])
def test_precomputed_distances(fmt):
    D = pairwise_distances(X)
    given = D if fmt is None else sp.csr_matrix(D).asformat(fmt)
    with config_context(working_memory=0.1):
        ours = silhouette_samples(given, Y, metric="precomputed")
    np.testing.assert_allclose(ours, skm.silhouette_samples(D, Y, metric="precomputed"), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours, skm.silhouette_samples(X, Y), rtol=1e-9, atol=1e-12)


def test_precomputed_sparse_missing_entries_are_zero_distances():
    """scikit-learn sums the stored distances only: a missing entry counts as 0."""
    D = pairwise_distances(X)
    D[D > np.median(D)] = 0.0
    np.testing.assert_allclose(
        silhouette_samples(sp.csr_matrix(D), Y, metric="precomputed"),
        skm.silhouette_samples(sp.csr_matrix(D), Y, metric="precomputed"),
        rtol=1e-9,
        atol=1e-12,
    )


@pytest.mark.parametrize("n_features", [4, 100])  # narrow sparse rows run the kernels, wide ones sklearn's distances
@pytest.mark.parametrize("fmt", ["csr", "csc", "lil", "dok"])
def test_sparse_rows(n_features, fmt):
    rng = np.random.default_rng(n_features)
    dense = np.where(rng.random((200, n_features)) < 0.3, rng.normal(size=(200, n_features)), 0.0)
    labels = rng.integers(0, 3, 200)
    sparse = sp.csr_matrix(dense).asformat(fmt)
    np.testing.assert_allclose(
        silhouette_samples(sparse, labels), skm.silhouette_samples(dense, labels), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(silhouette_samples(sparse, labels), silhouette_samples(dense, labels), rtol=1e-12, atol=1e-14)
    assert silhouette_score(sparse, labels, metric="cosine") == pytest.approx(
        skm.silhouette_score(dense, labels, metric="cosine"), rel=1e-9
    )


@pytest.mark.parametrize("sample_size, reference_size", [(150, None), (60, 60)])  # all rows; a stratified reference
def test_sampled_silhouette_reads_the_same_distances(sample_size, reference_size):
    """The same draws under any metric: precomputed distances, or Minkowski p=2, give the Euclidean estimate."""
    kwargs = {"sample_size": sample_size, "random_state": 3, "reference_size": reference_size, "return_interval": True}
    euclidean = silhouette_score(X, Y, **kwargs)
    for metric, given, kwds in (("precomputed", pairwise_distances(X), {}), ("minkowski", X, {"p": 2})):
        ours = silhouette_score(given, Y, metric=metric, **kwargs, **kwds)
        assert ours[0] == pytest.approx(euclidean[0], rel=1e-9)
        np.testing.assert_allclose(ours[1], euclidean[1], rtol=1e-9)
    cosine = silhouette_score(X, Y, metric="cosine", **kwargs)
    low, high = cosine[1]
    assert low <= cosine[0] <= high and abs(cosine[0] - skm.silhouette_score(X, Y, metric="cosine")) < 0.05


def test_sklearns_sampled_precomputed_and_euclidean_agree():
    """scikit-learn's test_silhouette: the same score from the distances and from the features, sampled or not."""
    iris = load_iris()
    D = pairwise_distances(iris.data)
    for sample_size in (None, 75):
        a = silhouette_score(D, iris.target, metric="precomputed", sample_size=sample_size, random_state=0)
        b = silhouette_score(iris.data, iris.target, metric="euclidean", sample_size=sample_size, random_state=0)
        assert a > 0 and b == pytest.approx(a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_precomputed_refusals(dtype):
    D = pairwise_distances(np.array([[0.2, 0.1, 0.12, 1.34, 1.11, 1.6]], dtype=dtype).T)
    labels = [0, 0, 0, 1, 1, 1]
    D[2, 2] = np.finfo(dtype).eps * 10  # rounding on the diagonal is fine
    silhouette_samples(D, labels, metric="precomputed")
    D[2, 2] = np.finfo(dtype).eps * 1000
    with pytest.raises(ValueError, match=r"contains non-zero elements on the diagonal \(1 of them, e.g. X\[2, 2\]"):
        silhouette_samples(D, labels, metric="precomputed")
    with pytest.raises(ValueError, match="X must be a square matrix of distances.*got shape \\(6, 5\\)"):
        silhouette_score(D[:, :5], labels, metric="precomputed")
    D[2, 2] = 0
    D[0, 1] = -1
    with pytest.raises(ValueError, match="Negative values in data passed to the precomputed distance matrix"):
        silhouette_score(D, labels, metric="precomputed")


def test_integer_precomputed_distances():
    assert silhouette_score([[0, 1, 2], [1, 0, 1], [2, 1, 0]], [0, 0, 1], metric="precomputed") == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="contains non-zero"):
        silhouette_score([[1, 1, 2], [1, 0, 1], [2, 1, 0]], [0, 0, 1], metric="precomputed")


def test_unknown_metric_is_named():
    with pytest.raises(ValueError, match="The 'metric' parameter of silhouette_score must be a str among .* or a callable. Got 'nope' instead"):
        silhouette_score(X, Y, metric="nope")


def test_other_metrics_on_other_backends_are_a_type_error(backend_name):
    if backend_name == "numpy":
        pytest.skip("NumPy runs every metric")
    Xb, yb = to_backend(X, backend_name, 100), _labels_for(backend_name, Y)
    for fn, kwargs in (
        (silhouette_score, {"metric": "cosine"}),
        (silhouette_samples, {"metric": "precomputed"}),
        (silhouette_score, {"metric": "euclidean", "squared": True}),
    ):
        with pytest.raises(TypeError, match=r"\(metric='\w+'\) runs on NumPy \(or SciPy sparse\) data only; X is a"):
            fn(Xb, yb, **kwargs)
    # Euclidean runs everywhere, n_jobs and working_memory included (scikit-learn's keywords).
    assert silhouette_score(Xb, yb, working_memory=1, n_jobs=1) == pytest.approx(skm.silhouette_score(X, Y), rel=1e-9)


def test_memory_is_bounded_for_other_metrics():
    """Cosine over 5,000 rows: blocks of rows, never the 5,000 × 5,000 matrix (191 MiB)."""
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(5000, 5))
    labels = rng.randint(0, 4, 5000)
    silhouette_score(Z[:100], labels[:100], metric="cosine")  # warm up (imports) outside the measure
    tracemalloc.start()
    ours = silhouette_score(Z, labels, metric="cosine", working_memory=4)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert ours == pytest.approx(skm.silhouette_score(Z, labels, metric="cosine"), rel=1e-9)
    assert peak < 24, peak


# ------------------------------------------------------------- identical points
def test_identical_points_score_exactly_one(backend_name):
    """scikit-learn's test_cluster_size_1: a cluster of identical points scores exactly 1."""
    X1 = np.array([[0.0], [1.0], [1.0], [2.0], [3.0], [3.0]])
    labels = np.array([0, 1, 1, 1, 2, 2])
    ours = silhouette_samples(to_backend(X1, backend_name, 4), _labels_for(backend_name, labels))
    np.testing.assert_array_equal(ours, [0, 0.5, 0.5, 0, 1, 1])
    assert silhouette_score(to_backend(X1, backend_name, 4), _labels_for(backend_name, labels)) == 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [1, 7, 40])
def test_duplicated_rows_are_exactly_zero_apart_in_every_kernel(dtype, n_features):
    """Rows far from the queries' mean and repeated: the expansion alone leaves ~1e-8 between copies."""
    from scalecluster.backends import get_backend
    from scalecluster.metrics.silhouette import _distance_sums

    rng = np.random.default_rng(n_features)
    base = (rng.normal(size=(30, n_features)) * 50 + 1e3).astype(dtype)
    Z = np.vstack([base, base, base])
    labels = np.tile(np.arange(30), 3)  # each cluster: three identical rows
    values = silhouette_samples(Z, labels)
    np.testing.assert_array_equal(values, np.ones(len(Z)))
    # The generic (any array module) path: the copies of each query add exactly 0.
    queries, index = Z[:30].astype(np.float64), np.arange(30)
    sums = _distance_sums._label_sums_generic(get_backend(Z), 0, Z, labels, queries, index, 30)
    np.testing.assert_array_equal(np.diag(sums), np.zeros(30))
