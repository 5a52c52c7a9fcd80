"""Bad input: a clear ValueError/TypeError, in scikit-learn's voice, before heavy work."""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
import pytest

from scalecluster import KMeans
from tests.conftest import to_backend

X_GOOD = np.random.RandomState(0).normal(size=(50, 3))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"max_iter": 0}, "The 'max_iter' parameter of KMeans must be an int in the range [1, inf). Got 0 instead."),
        ({"n_clusters": 0}, "The 'n_clusters' parameter of KMeans must be an int in the range [1, inf). Got 0 instead."),
        ({"n_clusters": 2.5}, "The 'n_clusters' parameter of KMeans must be an int in the range [1, inf). Got 2.5 instead."),
        ({"init": "kmeans"}, "The 'init' parameter of KMeans must be a str among"),
        ({"n_init": 0}, "The 'n_init' parameter of KMeans must be a str among {'auto'} or an int in the range [1, inf). Got 0 instead."),
        ({"tol": -1.0}, "The 'tol' parameter of KMeans must be a float in the range [0, inf). Got -1.0 instead."),
        ({"oversampling_factor": 0}, "The 'oversampling_factor' parameter of KMeans must be a float in the range (0, inf)."),
        ({"init_max_iter": 0}, "The 'init_max_iter' parameter of KMeans must be an int in the range [1, inf)."),
        ({"algorithm": "elkan"}, "The 'algorithm' parameter of KMeans must be a str among {'lloyd'}. Got 'elkan' instead."),
        ({"random_state": "seed"}, "The 'random_state' parameter of KMeans must be"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError) as info:
        KMeans(n_clusters=params.pop("n_clusters", 3), **params).fit(X_GOOD)
    assert message in str(info.value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_rejected(backend_name, value):
    X = X_GOOD.copy()
    X[7, 1] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        KMeans(n_clusters=3, random_state=0).fit(to_backend(X, backend_name))


def test_dask_nan_check_is_folded_into_the_loading_pass():
    """The NaN is reported after the single pass that loads the data, before any seeding work."""
    X = X_GOOD.copy()
    X[7, 1] = np.nan
    calls = []

    def scheduler(dsk, keys, **kwargs):
        calls.append(1)
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=scheduler), pytest.raises(ValueError, match="NaN"):
        KMeans(n_clusters=3).fit(to_backend(X, "dask", 10))
    assert len(calls) <= 2  # persist with the checks, then fetching their results


@pytest.mark.parametrize(
    "X, message",
    [
        (np.empty((0, 3)), "0 sample"),
        (np.empty((5, 0)), "0 feature"),
        (np.arange(5.0), "Expected 2D array|2-dimensional"),
        (np.ones((3, 2, 2)), "dim"),
    ],
)
def test_bad_shapes(backend_name, X, message):
    with pytest.raises(ValueError, match=message):
        KMeans(n_clusters=1).fit(to_backend(X, backend_name))


def test_one_sample_and_more_clusters_than_samples(backend_name):
    with pytest.raises(ValueError, match=r"n_samples=1 should be >= n_clusters=2"):
        KMeans(n_clusters=2).fit(to_backend(X_GOOD[:1], backend_name))
    with pytest.raises(ValueError, match=r"n_samples=50 should be >= n_clusters=51"):
        KMeans(n_clusters=51).fit(to_backend(X_GOOD, backend_name))


def test_init_array_of_wrong_shape(backend_name):
    Xb = to_backend(X_GOOD, backend_name)
    with pytest.raises(ValueError, match="does not match the number of clusters 3"):
        KMeans(n_clusters=3, init=np.zeros((2, 3))).fit(Xb)
    with pytest.raises(ValueError, match="does not match the number of features of the data 3"):
        KMeans(n_clusters=3, init=np.zeros((3, 4))).fit(Xb)
    with pytest.raises(ValueError, match="NaN or infinity"):
        KMeans(n_clusters=3, init=np.full((3, 3), np.nan)).fit(Xb)


def test_explicit_init_with_n_init_warns():
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        KMeans(n_clusters=3, init=X_GOOD[:3], n_init=4).fit(X_GOOD)


def test_predict_with_other_number_of_features(backend_name):
    km = KMeans(n_clusters=3, random_state=0).fit(to_backend(X_GOOD, backend_name))
    with pytest.raises(ValueError, match="X has 2 features, but KMeans is expecting 3 features as input"):
        km.predict(to_backend(X_GOOD[:, :2], backend_name))


def test_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        KMeans().predict(X_GOOD)


@pytest.mark.parametrize(
    "weights, message",
    [
        (-np.ones(50), "Negative values in data passed to sample_weight"),
        (np.ones(49), r"sample_weight.shape == \(49,\), expected \(50,\)"),
        (np.ones((50, 2)), "Sample weights must be 1D"),
        (np.full(50, np.nan), "NaN or infinity"),
        (np.zeros(50), "at least one non-zero"),
    ],
)
def test_bad_sample_weight(backend_name, weights, message):
    sw = weights if backend_name.startswith("dask") or weights.ndim != 1 else to_backend(weights, backend_name)
    with pytest.raises(ValueError, match=message):
        KMeans(n_clusters=3).fit(to_backend(X_GOOD, backend_name), sample_weight=sw)


def test_non_numeric_dataframe_columns_are_named():
    frame = pd.DataFrame({"spend": [1.0, 2.0, 3.0], "country": ["a", "b", "c"], "when": pd.date_range("2024", periods=3)})
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) \['country', 'when'\]"):
        KMeans(n_clusters=2).fit(frame)


def test_non_numeric_dask_dataframe_columns_are_named():
    import dask.dataframe as dd

    frame = pd.DataFrame({"spend": [1.0, 2.0, 3.0], "country": ["a", "b", "c"]})
    with pytest.raises(TypeError, match=r"\['country'\]"):
        KMeans(n_clusters=2).fit(dd.from_pandas(frame, npartitions=2))


def test_unsupported_input_type():
    with pytest.raises(TypeError, match="Expected a NumPy, CuPy or Dask array"):
        KMeans(n_clusters=2).fit({"a": 1})
