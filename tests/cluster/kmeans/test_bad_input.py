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
        ({"algorithm": "full"}, "The 'algorithm' parameter of KMeans must be a str among {'elkan', 'lloyd'}. Got 'full' instead."),
        ({"copy_x": "yes"}, "The 'copy_x' parameter of KMeans must be an instance of 'bool'. Got 'yes' instead."),
        ({"verbose": -1}, "The 'verbose' parameter of KMeans must be an int in the range [0, inf) or an instance of 'bool'. Got -1 instead."),
        ({"init": 3}, "The 'init' parameter of KMeans must be a str among {'k-means++', 'k-means||', 'random'}, a callable or an array-like. Got 3 instead."),
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


# ------------------------------------------------ no silent wrong answers (inputs the door cannot see)
def _computed(result):
    return result.compute() if hasattr(result, "compute") else result


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_nan_in_data_after_the_fit_is_refused(backend_name, value, method):
    """On Dask the check rides on the pass that computes the result (no pass of its own)."""
    km = KMeans(n_clusters=3, random_state=0).fit(X_GOOD)
    X = X_GOOD.copy()
    X[7, 1] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        _computed(getattr(km, method)(to_backend(X, backend_name, 20)))


def test_minibatch_partial_fit_refuses_nan_in_a_dask_chunk():
    from scalecluster import MiniBatchKMeans

    X = X_GOOD.copy()
    X[7, 1] = np.nan
    model = MiniBatchKMeans(n_clusters=3, random_state=0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.partial_fit(to_backend(X, "dask", 50))
    with pytest.raises(ValueError, match="NaN or infinity"):
        MiniBatchKMeans(n_clusters=3, random_state=0).fit(to_backend(X, "dask", 10))


@pytest.mark.parametrize("estimator", ["KMeans", "MiniBatchKMeans"])
def test_values_whose_squares_overflow_are_refused(backend_name, estimator):
    import scalecluster

    X = np.random.RandomState(0).uniform(-1, 1, (300, 3)) * 1e300
    with pytest.raises(ValueError, match=r"too wide a range.*overflow"):
        getattr(scalecluster, estimator)(n_clusters=3, random_state=0).fit(to_backend(X, backend_name, 100))


def test_predict_far_from_the_centres_is_refused(backend_name):
    km = KMeans(n_clusters=3, random_state=0).fit(X_GOOD)
    far = np.random.RandomState(1).uniform(-1, 1, (300, 3)) * 1e300
    with pytest.raises(ValueError, match="overflow"):
        _computed(km.predict(to_backend(far, backend_name, 100)))
    # Large but representable: answered, and equal to the float64 reference.
    big = X_GOOD * 1e100
    km_big = KMeans(n_clusters=3, random_state=0).fit(big)
    labels = np.asarray(_computed(km_big.predict(to_backend(big, backend_name, 20))))
    expected = ((big[:, None, :] - km_big.cluster_centers_[None]) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(labels, expected)


def test_float32_overflow_names_float64_as_a_fix():
    X = (np.random.RandomState(0).uniform(-1, 1, (100, 2)) * 1e20).astype(np.float32)
    with pytest.raises(ValueError, match="float32.*converting to float64"):
        KMeans(n_clusters=2).fit(X)
    KMeans(n_clusters=2, random_state=0).fit(X.astype(np.float64))  # representable in float64


def test_string_weights_are_a_type_error_in_our_words(backend_name):
    weights = np.array(["a"] * 50)
    with pytest.raises(TypeError, match="sample_weight must hold numbers"):
        KMeans(n_clusters=3).fit(to_backend(X_GOOD, backend_name), sample_weight=weights)


def test_numeric_strings_as_weights_are_numbers():
    km = KMeans(n_clusters=3, random_state=0).fit(X_GOOD, sample_weight=np.array(["1.5"] * 50))
    ref = KMeans(n_clusters=3, random_state=0).fit(X_GOOD, sample_weight=np.full(50, 1.5))
    np.testing.assert_allclose(km.cluster_centers_, ref.cluster_centers_)


def test_dask_weights_beside_in_memory_data_are_refused():
    import dask.array as da

    with pytest.raises(TypeError, match="sample_weight is a Dask array but X is in memory"):
        KMeans(n_clusters=3).fit(X_GOOD, sample_weight=da.ones(50, chunks=10))
