"""The public functions ``k_means`` and ``kmeans_plusplus``, against scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import k_means as sk_k_means
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus
from sklearn.datasets import make_blobs
from sklearn.metrics import v_measure_score

from scalecluster.cluster.kmeans import KMeans, k_means, kmeans_plusplus
from tests.conftest import to_backend, to_numpy

X, Y = make_blobs(600, 4, centers=5, random_state=0)


# ------------------------------------------------------------------ k_means
def test_k_means_returns_sklearns_result_with_its_init():
    ours = k_means(X, 5, init="k-means++", random_state=3, return_n_iter=True)
    ref = sk_k_means(X, 5, init="k-means++", random_state=3, return_n_iter=True)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-9)
    np.testing.assert_array_equal(ours[1], ref[1])
    assert ours[2] == pytest.approx(ref[2], rel=1e-9)
    assert ours[3] == ref[3]


def test_k_means_defaults_to_kmeans_default():
    centers, labels, inertia = k_means(X, 5, random_state=0)
    model = KMeans(5, random_state=0).fit(X)
    np.testing.assert_array_equal(centers, model.cluster_centers_)
    assert inertia == model.inertia_
    assert v_measure_score(Y, labels) == pytest.approx(1.0)


def test_k_means_passes_every_parameter(capsys):
    w = np.random.RandomState(0).uniform(0.5, 2, len(X))
    ours = k_means(X, 5, sample_weight=w, init=X[:5], max_iter=3, tol=0, verbose=1, algorithm="elkan", copy_x=False)
    ref = sk_k_means(X, 5, sample_weight=w, init=X[:5], max_iter=3, tol=0, algorithm="elkan", copy_x=False)
    assert "Initialization complete" in capsys.readouterr().out
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-9)
    assert ours[2] == pytest.approx(ref[2], rel=1e-9)


def test_k_means_on_dask_returns_lazy_labels():
    import dask.array as da

    centers, labels, inertia = k_means(to_backend(X, "dask", 200), 5, random_state=0)
    assert isinstance(labels, da.Array) and isinstance(centers, np.ndarray)
    assert inertia == pytest.approx(k_means(X, 5, random_state=0)[2], rel=1e-9)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_clusters": 0}, "The 'n_clusters' parameter of k_means must be an int in the range [1, inf). Got 0 instead."),
        ({"return_n_iter": "yes"}, "The 'return_n_iter' parameter of k_means must be an instance of 'bool'. Got 'yes' instead."),
        ({"algorithm": "full"}, "The 'algorithm' parameter of k_means must be a str among {'elkan', 'lloyd'}. Got 'full' instead."),
        ({"sample_weight": 3}, "The 'sample_weight' parameter of k_means must be an array-like or None. Got 3 instead."),
    ],
)
def test_k_means_bad_parameters_name_the_function(params, message):
    with pytest.raises(ValueError) as info:
        k_means(X, **{"n_clusters": 3, **params})
    assert str(info.value) == message


# ---------------------------------------------------------- kmeans_plusplus
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_plusplus_equals_sklearn_on_numpy(container, dtype):
    data = container(X.astype(dtype))
    w = np.random.RandomState(1).uniform(0.5, 2, len(X))
    for kwargs in ({}, {"sample_weight": w}, {"n_local_trials": 1}, {"x_squared_norms": (X.astype(dtype) ** 2).sum(1)}):
        centers, indices = kmeans_plusplus(data, 5, random_state=7, **kwargs)
        ref_centers, ref_indices = sk_kmeans_plusplus(data, 5, random_state=7, **kwargs)
        np.testing.assert_array_equal(indices, ref_indices)
        np.testing.assert_array_equal(centers, ref_centers)
        assert centers.dtype == dtype


@pytest.mark.parametrize("backend_name", ["dask", "generic"])
def test_kmeans_plusplus_on_other_backends(backend_name):
    """Dask (and any array module, through the generic operations): rows of X, spread by D² sampling."""
    if backend_name == "generic":
        from scalecluster.backends._array import ArrayBackend
        from scalecluster.cluster.kmeans._ops_generic import GenericOps
        from scalecluster.cluster.kmeans._seeding import kmeans_plusplus_indices

        ops = GenericOps(ArrayBackend(np, "generic-numpy"))
        centers, indices = kmeans_plusplus_indices(ops, X, np.ones(len(X)), 5, np.random.RandomState(0))
    else:
        centers, indices = kmeans_plusplus(to_backend(X.astype(np.float32), "dask", 150), 5, random_state=0)
        assert centers.dtype == np.float32
    centers, indices = to_numpy(centers), to_numpy(indices)
    assert indices.shape == (5,) and len(set(indices.tolist())) == 5
    np.testing.assert_allclose(X[indices], centers, rtol=1e-6)
    assert len(set(Y[indices].tolist())) == 5  # one seed per blob: the blobs are far apart


def test_kmeans_plusplus_on_dask_never_picks_zero_weight_rows():
    w = np.random.RandomState(0).uniform(0.5, 2, len(X))
    w[::2] = 0
    _, indices = kmeans_plusplus(to_backend(X, "dask", 150), 10, sample_weight=w, random_state=0)
    assert np.all(indices % 2 == 1)


def test_kmeans_plusplus_local_trials_on_dask():
    Xd = to_backend(X, "dask", 150)
    a = kmeans_plusplus(Xd, 5, random_state=0, n_local_trials=1)
    b = kmeans_plusplus(Xd, 5, random_state=0, n_local_trials=1)
    np.testing.assert_array_equal(a[1], b[1])  # the same seed, the same draws


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: kmeans_plusplus(X, 0), "The 'n_clusters' parameter of kmeans_plusplus must be an int in the range [1, inf). Got 0 instead."),
        (lambda: kmeans_plusplus(X, 2, n_local_trials=0), "The 'n_local_trials' parameter of kmeans_plusplus must be an int in the range [1, inf) or None. Got 0 instead."),
        (lambda: kmeans_plusplus(X, 2, random_state="a"), "The 'random_state' parameter of kmeans_plusplus must be"),
        (lambda: kmeans_plusplus(X, 2, x_squared_norms=X[:2, 0]), "The length of x_squared_norms (2) should be equal to the length of n_samples (600)."),
        (lambda: kmeans_plusplus(X[:3], 5), "n_samples=3 should be >= n_clusters=5."),
        (lambda: kmeans_plusplus(to_backend(X, "dask", 150), 2, x_squared_norms=X[:2, 0]), "The length of x_squared_norms (2)"),
    ],
)
def test_kmeans_plusplus_bad_parameters(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def test_kmeans_plusplus_rejects_nan_on_dask():
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        kmeans_plusplus(to_backend(bad, "dask", 150), 3)
