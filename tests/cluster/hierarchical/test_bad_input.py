"""Bad input: a clear ValueError/TypeError, in our voice, before any heavy work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalecluster import AgglomerativeClustering
from tests.conftest import to_backend

X_GOOD = np.random.RandomState(0).normal(size=(50, 3))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_clusters": 0}, "The 'n_clusters' parameter of AgglomerativeClustering must be an int in the range [1, inf) or None. Got 0 instead."),
        ({"n_clusters": 2.5}, "The 'n_clusters' parameter of AgglomerativeClustering must be an int in the range [1, inf) or None. Got 2.5 instead."),
        ({"n_clusters": "3"}, "The 'n_clusters' parameter of AgglomerativeClustering must be an int in the range [1, inf) or None. Got '3' instead."),
        ({"linkage": "centroid"}, "The 'linkage' parameter of AgglomerativeClustering must be a str among {'average', 'complete', 'single', 'ward'}. Got 'centroid' instead."),
        ({"metric": "manhattan"}, "The 'metric' parameter of AgglomerativeClustering must be a str among {'euclidean', 'l2'}. Got 'manhattan' instead."),
        ({"n_clusters": None, "distance_threshold": -1.0}, "The 'distance_threshold' parameter of AgglomerativeClustering must be a float in the range [0, inf) or None. Got -1.0 instead."),
        ({"n_clusters": None, "distance_threshold": "far"}, "The 'distance_threshold' parameter of AgglomerativeClustering must be a float"),
        ({"compute_distances": 1}, "The 'compute_distances' parameter of AgglomerativeClustering must be an instance of 'bool'. Got 1 instead."),
        ({"n_micro": 1}, "The 'n_micro' parameter of AgglomerativeClustering must be an int in the range [2, inf). Got 1 instead."),
        ({"n_micro": 100.0}, "The 'n_micro' parameter of AgglomerativeClustering must be an int in the range [2, inf). Got 100.0 instead."),
        ({"micro_method": "birch"}, "The 'micro_method' parameter of AgglomerativeClustering must be a str among {'kmeans', 'minibatch'}. Got 'birch' instead."),
        ({"micro_max_iter": 0}, "The 'micro_max_iter' parameter of AgglomerativeClustering must be an int in the range [1, inf). Got 0 instead."),
        ({"random_state": "seed"}, "The 'random_state' parameter of AgglomerativeClustering must be"),
        ({"n_clusters": 2, "distance_threshold": 1.0}, "Exactly one of n_clusters and distance_threshold has to be set, and the other needs to be None. Got n_clusters=2 and distance_threshold=1.0."),
        ({"n_clusters": None}, "Exactly one of n_clusters and distance_threshold has to be set, and the other needs to be None. Got n_clusters=None and distance_threshold=None."),
        ({"n_clusters": 20, "n_micro": 10}, "n_micro=10 should be >= n_clusters=20"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError) as info:
        AgglomerativeClustering(**params).fit(X_GOOD)
    assert message in str(info.value)


def test_bad_types_are_also_type_errors():
    with pytest.raises(TypeError, match="'linkage' parameter"):
        AgglomerativeClustering(linkage=None).fit(X_GOOD)


@pytest.mark.parametrize("two_stage", [False, True], ids=["exact", "two-stage"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_rejected(backend_name, value, two_stage):
    X = X_GOOD.copy()
    X[7, 1] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        AgglomerativeClustering(n_micro=10 if two_stage else 1000).fit(to_backend(X, backend_name))


@pytest.mark.parametrize(
    "X, message",
    [
        (np.empty((0, 3)), "0 sample"),
        (np.empty((5, 0)), "0 feature"),
        (np.arange(5.0), "Expected 2D array|2-dimensional"),
        (np.ones((3, 2, 2)), "dim"),
        (np.ones((1, 2)), r"1 sample\(s\) \(shape=\(1, 2\)\) while a minimum of 2 is required by AgglomerativeClustering"),
    ],
)
def test_bad_shapes(backend_name, X, message):
    with pytest.raises(ValueError, match=message):
        AgglomerativeClustering(n_clusters=1).fit(to_backend(X, backend_name))


def test_more_clusters_than_samples(backend_name):
    with pytest.raises(ValueError, match=r"n_samples=50 should be >= n_clusters=51"):
        AgglomerativeClustering(n_clusters=51).fit(to_backend(X_GOOD, backend_name))


def test_single_linkage_beyond_n_micro_is_refused_with_its_reason():
    with pytest.raises(ValueError, match=r"linkage='single' .* n_samples=50 must be <= n_micro=10.*chains"):
        AgglomerativeClustering(linkage="single", n_micro=10).fit(X_GOOD)
    AgglomerativeClustering(linkage="single", n_micro=50).fit(X_GOOD)  # exact: fine


def test_non_numeric_input():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "kind": ["x", "y", "z"]})
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) \['kind'\]"):
        AgglomerativeClustering().fit(frame)
    with pytest.raises(ValueError, match="could not convert|Unable to convert|numeric"):
        AgglomerativeClustering().fit(np.array([["a", "b"], ["c", "d"]]))


def test_sparse_input_is_refused():
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="Sparse data was passed"):
        AgglomerativeClustering().fit(sp.csr_matrix(X_GOOD))


def test_parameters_are_checked_before_the_data_is_touched():
    """A bad parameter fails even on data that would take long to cluster, and before reading it."""

    class Exploding:
        shape = (10**9, 3)

        def __array__(self, *args, **kwargs):
            raise AssertionError("the data was read before the parameters were checked")

    with pytest.raises(ValueError, match="Exactly one of n_clusters and distance_threshold"):
        AgglomerativeClustering(n_clusters=2, distance_threshold=1.0).fit(Exploding())
    with pytest.raises(ValueError, match="n_micro=5 should be >= n_clusters=6"):
        AgglomerativeClustering(n_clusters=6, n_micro=5).fit(Exploding())


def test_dask_nan_beyond_n_micro_fails_in_the_loading_pass():
    import dask

    X = X_GOOD.copy()
    X[7, 1] = np.nan
    calls = []

    def scheduler(dsk, keys, **kwargs):
        calls.append(1)
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=scheduler), pytest.raises(ValueError, match="NaN"):
        AgglomerativeClustering(n_micro=10).fit(to_backend(X, "dask", 10))
    assert len(calls) <= 2
