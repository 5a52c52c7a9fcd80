"""scikit-learn's public KMeans functions, ``k_means`` and ``kmeans_plusplus``, on every backend.

Both validate their parameters at the door, in the one voice of
:mod:`scalecluster._param_validation` (naming the function), then hand over
to the same code as :class:`~._estimator.KMeans`.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from ..._param_validation import ARRAY_LIKE, BOOLEAN, NONE, RANDOM_STATE, Interval, validate_params
from ..._validation import check_sample_weight, check_X
from ._estimator import KMeans
from ._ops import kmeans_ops
from ._seeding import kmeans_plusplus_indices

_K_MEANS_PARAMETERS = ("n_clusters", "init", "n_init", "max_iter", "verbose", "tol", "random_state", "copy_x", "algorithm")


def k_means(
    X: Any,
    n_clusters: int,
    *,
    sample_weight: Any = None,
    init: Any = "k-means||",
    n_init: str | int = "auto",
    max_iter: int = 300,
    verbose: bool | int = False,
    tol: float = 1e-4,
    random_state: Any = None,
    copy_x: bool = True,
    algorithm: str = "lloyd",
    return_n_iter: bool = False,
) -> tuple:
    """K-means clustering as a function: scikit-learn's ``k_means``, on NumPy, CuPy or Dask data.

    Parameters
    ----------
    X : array-like or sparse CSR matrix of shape (n_samples, n_features)
        NumPy, list, pandas DataFrame, SciPy CSR, CuPy array, Dask array or
        Dask DataFrame.
    n_clusters : int
        Number of clusters.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows.
    init : {"k-means||", "k-means++", "random"}, callable or array-like of shape (n_clusters, n_features), default="k-means||"
        As for :class:`KMeans`. The default is this library's k-means||, as
        for :class:`KMeans` (scikit-learn's is ``"k-means++"``: pass it to
        get scikit-learn's own result on NumPy input for the same
        ``random_state``).
    n_init : "auto" or int, default="auto"
    max_iter : int, default=300
    verbose : bool or int, default=False
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
    copy_x : bool, default=True
        Without effect: ``X`` is never modified (see :class:`KMeans`).
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Both run Lloyd's iterations (see :class:`KMeans`).
    return_n_iter : bool, default=False
        Also return the number of iterations of the best run.

    Returns
    -------
    centroid : array of shape (n_clusters, n_features)
        In ``X``'s dtype and array type (of its chunks, for Dask).
    label : array of shape (n_samples,)
        Index of each row's centre (a lazy Dask array for Dask input).
    inertia : float
        Sum of weighted squared distances of the rows to their centre.
    best_n_iter : int
        Only with ``return_n_iter=True``.

    Notes
    -----
    Costs as :meth:`KMeans.fit`: O(n k d) per Lloyd iteration, no n × k memory.

    Examples
    --------
    >>> import numpy as np
    >>> from scalecluster.cluster.kmeans import k_means
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> centroid, label, inertia = k_means(X, n_clusters=2, random_state=0)
    >>> sorted(centroid.tolist()), inertia
    ([[1.0, 2.0], [10.0, 2.0]], 16.0)
    """
    params = {
        "n_clusters": n_clusters,
        "sample_weight": sample_weight,
        "init": init,
        "n_init": n_init,
        "max_iter": max_iter,
        "verbose": verbose,
        "tol": tol,
        "random_state": random_state,
        "copy_x": copy_x,
        "algorithm": algorithm,
        "return_n_iter": return_n_iter,
    }
    constraints = {name: KMeans._parameter_constraints[name] for name in _K_MEANS_PARAMETERS}
    constraints.update({"sample_weight": [ARRAY_LIKE, NONE], "return_n_iter": [BOOLEAN]})
    validate_params(constraints, params, "k_means")
    est = KMeans(**{name: params[name] for name in _K_MEANS_PARAMETERS}).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_


class _KMeansPlusPlusInput(BaseEstimator):
    """What input validation records features on, for :func:`kmeans_plusplus` (messages name it)."""


_KMeansPlusPlusInput.__name__ = "kmeans_plusplus"


def kmeans_plusplus(
    X: Any,
    n_clusters: int,
    *,
    sample_weight: Any = None,
    x_squared_norms: Any = None,
    random_state: Any = None,
    n_local_trials: int | None = None,
) -> tuple[Any, Any]:
    """Initial centres by greedy k-means++: scikit-learn's ``kmeans_plusplus``, on every backend.

    Parameters
    ----------
    X : array-like or sparse CSR matrix of shape (n_samples, n_features)
        NumPy, list, pandas DataFrame, SciPy CSR, CuPy array, Dask array or
        Dask DataFrame.
    n_clusters : int
        Number of centres.
    sample_weight : array-like of shape (n_samples,), default=None
        Rows are drawn with probability ∝ weight × squared distance.
    x_squared_norms : array-like of shape (n_samples,), default=None
        Squared Euclidean norms of the rows, passed on to scikit-learn for
        NumPy input. Other backends compute distances from shifted centres
        and do not use them (their length is still checked).
    random_state : int, RandomState instance or None, default=None
    n_local_trials : int, default=None
        Candidates tried for each centre; ``None`` is ``2 + int(log(n_clusters))``.

    Returns
    -------
    centers : array of shape (n_clusters, n_features)
        In ``X``'s dtype; NumPy for NumPy input, the array type of the data
        (of its chunks, for Dask) otherwise.
    indices : array of shape (n_clusters,)
        Row of ``X`` each centre was taken from.

    Notes
    -----
    For NumPy input (dense or CSR) this is scikit-learn's own code: the
    same ``random_state`` gives scikit-learn's centres and indices.  Other
    backends run this library's k-means++ (the same greedy rule with D²
    sampling), which on Dask persists ``X`` once and then costs a few small
    computes per centre: O(n_clusters) round trips, so k-means|| (the
    default of :class:`KMeans`) suits Dask better.  Time O(n k d log k).
    """
    validate_params(
        {
            "n_clusters": [Interval(Integral, 1, None, closed="left")],
            "sample_weight": [ARRAY_LIKE, NONE],
            "x_squared_norms": [ARRAY_LIKE, NONE],
            "random_state": [RANDOM_STATE],
            "n_local_trials": [Interval(Integral, 1, None, closed="left"), NONE],
        },
        {
            "n_clusters": n_clusters,
            "sample_weight": sample_weight,
            "x_squared_norms": x_squared_norms,
            "random_state": random_state,
            "n_local_trials": n_local_trials,
        },
        "kmeans_plusplus",
    )
    backend, X = check_X(_KMeansPlusPlusInput(), X, reset=True)
    n_samples = X.shape[0]
    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")
    weights = check_sample_weight(backend, X, sample_weight)
    if x_squared_norms is not None:
        length = len(x_squared_norms)
        if length != n_samples:
            raise ValueError(
                f"The length of x_squared_norms ({length}) should be equal to the length of n_samples ({n_samples})."
            )
    rng = check_random_state(random_state)
    if backend.name == "numpy":
        from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

        norms = None if x_squared_norms is None else np.asarray(x_squared_norms, dtype=X.dtype)
        return sklearn_kmeans_plusplus(
            X, n_clusters, sample_weight=weights, x_squared_norms=norms, random_state=rng, n_local_trials=n_local_trials
        )
    # Persisted once (and checked for NaN/inf on that pass): k-means++ reads X many times.
    X, weights, summary = backend.describe(X, weights, need_variance=False, persist=True)
    summary.check(X.dtype)
    centers, indices = kmeans_plusplus_indices(kmeans_ops(backend), X, weights, n_clusters, rng, n_local_trials)
    return backend.from_host(centers.astype(X.dtype)), backend.from_host(indices)


__all__ = ["k_means", "kmeans_plusplus"]
