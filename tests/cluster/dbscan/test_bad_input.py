"""DBSCAN refuses bad input with an error that names the problem, before any work."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scalecluster import DBSCAN
from tests.conftest import to_backend

X_OK = np.random.default_rng(0).normal(size=(50, 2))


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"eps": 0.0},
            "'eps' parameter of DBSCAN must be a float in the range \\(0.0, inf\\)",
        ),
        ({"eps": -1.0}, "'eps' parameter"),
        ({"eps": float("inf")}, "'eps' parameter of DBSCAN must be finite"),
        ({"eps": float("nan")}, "'eps' parameter"),
        ({"min_samples": 0}, "'min_samples' parameter"),
        ({"min_samples": 2.5}, "'min_samples' parameter"),
        ({"metric": "no-such-metric"}, "'metric' parameter of DBSCAN must be a str among"),
        ({"algorithm": "quad_tree"}, "'algorithm' parameter"),
        ({"p": 0.0}, "'p' parameter"),
        ({"p": -1.0}, "'p' parameter"),
        ({"leaf_size": 0}, "'leaf_size' parameter"),
        ({"metric_params": [("p", 1)]}, "'metric_params' parameter of DBSCAN must be an instance of 'dict'"),
        ({"n_jobs": 0}, "'n_jobs' parameter of DBSCAN must be a non-zero int or None. Got 0"),
        ({"n_jobs": 1.5}, "'n_jobs' parameter"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        DBSCAN(**params).fit(X_OK)


def test_grid_needs_euclidean_and_few_features():
    with pytest.raises(ValueError, match="algorithm='grid' needs the Euclidean metric"):
        DBSCAN(metric="manhattan", algorithm="grid").fit(X_OK)
    with pytest.raises(ValueError, match="at most 10 features"):
        DBSCAN(algorithm="grid").fit(np.zeros((5, 11)))


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf(backend_name, bad):
    X = X_OK.copy()
    X[7, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        DBSCAN().fit(to_backend(X, backend_name))


def test_empty_and_wrong_dimensions():
    with pytest.raises(ValueError, match="0 sample"):
        DBSCAN().fit(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="0 sample"):
        DBSCAN().fit(to_backend(np.zeros((0, 2)), "dask"))
    with pytest.raises(ValueError, match="2D array|2-dimensional"):
        DBSCAN().fit(np.zeros(10))


def test_sparse_input_refuses_the_grid_and_warns_for_trees():
    """Sparse rows take the brute force (as in scikit-learn); the grid cannot index them."""
    with pytest.raises(ValueError, match="algorithm='grid' needs dense X; X is a sparse matrix"):
        DBSCAN(algorithm="grid").fit(sp.csr_matrix(X_OK))
    with pytest.warns(UserWarning, match="cannot use tree with sparse input: using brute force"):
        DBSCAN(algorithm="kd_tree").fit(sp.csr_matrix(X_OK))


def test_bad_sample_weight():
    with pytest.raises(ValueError, match="sample_weight"):
        DBSCAN().fit(X_OK, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="[Nn]egative"):
        DBSCAN().fit(X_OK, sample_weight=-np.ones(len(X_OK)))


def test_non_numeric_columns_are_named():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1.0, 2.0], "kind": ["a", "b"]})
    with pytest.raises(TypeError, match="kind"):
        DBSCAN().fit(frame)
