"""Bad input to the metrics and the sweeps: a clear error in our words, or the right answer, on every backend."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from scalecluster import config_context
from scalecluster.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    k_sweep,
    silhouette_samples,
    silhouette_score,
    suggest_eps,
)
from tests.conftest import to_backend

from ._data import _labels_for

X_SMALL, Y_SMALL = make_blobs(60, 2, centers=3, random_state=1)
METRICS = [silhouette_score, davies_bouldin_score, calinski_harabasz_score]


@pytest.mark.parametrize("missing", [np.nan, None])
def test_missing_labels_are_not_a_cluster(backend_name, missing):
    """scikit-learn refuses NaN labels; counting them as one more cluster would be a silent wrong answer."""
    labels = Y_SMALL.astype(object if missing is None else float)
    labels[5] = missing
    X = to_backend(X_SMALL, backend_name, 20)
    for metric in METRICS:
        with pytest.raises(ValueError, match=r"labels contain .*(NaN|missing).*every row needs a label"):
            metric(X, labels)


def test_nan_labels_in_dask_and_device_arrays(backend_name):
    """Labels that never reach the host whole: the NaN is found among the distinct labels."""
    if backend_name == "numpy":
        pytest.skip("host labels: see the test above")
    labels = Y_SMALL.astype(float)
    labels[5] = np.nan
    where = "dask" if backend_name.startswith("dask") else backend_name
    with pytest.raises(ValueError, match="labels contain NaN"):
        silhouette_score(to_backend(X_SMALL, backend_name, 20), to_backend(labels, where, 20))


def test_mixed_label_types_are_named():
    labels = np.array(list(Y_SMALL[:-1]) + ["x"], dtype=object)
    with pytest.raises(TypeError, match="labels mix values of different types"):
        silhouette_score(X_SMALL, labels)


def test_string_labels_follow_x_to_every_backend(backend_name):
    labels = np.array(["north", "south", "west"])[Y_SMALL]
    ours = silhouette_score(to_backend(X_SMALL, backend_name, 20), labels)
    assert ours == pytest.approx(skm.silhouette_score(X_SMALL, labels), abs=1e-9)


def test_labels_of_another_backend_follow_x(backend_name):
    """NumPy labels beside any X; Dask labels beside in-memory X are refused with a reason."""
    X = to_backend(X_SMALL, backend_name, 20)
    assert davies_bouldin_score(X, Y_SMALL) == pytest.approx(skm.davies_bouldin_score(X_SMALL, Y_SMALL), rel=1e-9)
    if backend_name in ("numpy", "cupy"):
        with pytest.raises(TypeError, match="labels is a Dask array but X is in memory"):
            silhouette_score(X, to_backend(Y_SMALL, "dask", 20))


@pytest.mark.parametrize("metric", METRICS)
def test_values_whose_squares_overflow_are_refused(backend_name, metric):
    X = X_SMALL * 1e300
    with pytest.raises(ValueError, match="overflow"):
        metric(to_backend(X, backend_name, 20), _labels_for(backend_name, Y_SMALL))


def test_davies_bouldin_memory_is_bounded_with_many_labels():
    """5,000 labels: the centroids are compared in blocks, never a k × k × d array (1.6 GB at 8 features)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20_000, 8))
    labels = np.arange(20_000) % 5000
    tracemalloc.start()
    with config_context(working_memory=16):
        ours = davies_bouldin_score(X, labels)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert ours == pytest.approx(skm.davies_bouldin_score(X, labels), rel=1e-9)
    assert peak < 80 * 2**20, peak / 2**20  # 5,000 x 5,000 x 8 float64 would be 1,526 MiB


def test_exact_silhouette_memory_is_bounded_with_many_labels():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(6000, 3))
    labels = np.arange(6000) % 2000
    tracemalloc.start()
    with config_context(working_memory=4):
        ours = silhouette_samples(X, labels)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(ours, skm.silhouette_samples(X, labels), rtol=1e-6, atol=1e-9)
    # Before: blocks of 362 queries x 2,000 labels x four float64 arrays, whatever the budget.
    assert peak < 24 * 2**20, peak / 2**20


def test_k_sweep_on_identical_rows_says_why(backend_name):
    X = np.ones((40, 2))
    with pytest.warns(Warning), pytest.raises(ValueError, match=r"k_sweep: KMeans\(n_clusters=2\) put every row in one cluster"):
        k_sweep(to_backend(X, backend_name, 10), [2, 3], sample_size=20)


def test_k_sweep_on_values_whose_squares_overflow(backend_name):
    with pytest.raises(ValueError, match="overflow"):
        k_sweep(to_backend(X_SMALL * 1e300, backend_name, 20), [2, 3])


def test_suggest_eps_never_suggests_zero():
    """Piles of identical rows: the smallest positive k-distance, which DBSCAN accepts."""
    X = np.vstack([np.zeros((100, 2)), np.ones((100, 2)), np.random.RandomState(0).normal(size=(20, 2)) * 3])
    suggestion = suggest_eps(X, min_samples=5, sample_size=None)
    assert suggestion.eps > 0
    with pytest.raises(ValueError, match="k-distance curve is 0 everywhere"):
        suggest_eps(np.zeros((50, 2)), min_samples=5)


def test_suggest_eps_on_sparse_rows_equals_dense():
    X, _ = make_blobs(300, 2, random_state=0)
    dense = suggest_eps(X, min_samples=4, sample_size=None, random_state=0)
    sparse = suggest_eps(sp.csr_matrix(X), min_samples=4, sample_size=None, random_state=0)
    np.testing.assert_allclose(sparse.k_distances, dense.k_distances, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("value", [np.nan, 1e300])
def test_suggest_eps_refuses_nan_and_overflow(backend_name, value):
    X = X_SMALL.copy()
    X[3, 1] = value
    with pytest.raises(ValueError, match="NaN|infinity|overflow"):
        suggest_eps(to_backend(X, backend_name, 20), min_samples=3)
