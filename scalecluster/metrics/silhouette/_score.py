"""``silhouette_score``: the public entry, exact or sampled."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from ._exact import call_budget, exact_silhouettes, labelled_for
from ._pairwise import split_kwds
from ._sampled import estimate_silhouette


def silhouette_score(
    X: Any,
    labels: Any,
    *,
    metric: Any = "euclidean",
    sample_size: int | None = None,
    random_state: Any = None,
    confidence: float = 0.95,
    return_interval: bool = False,
    reference_size: int | None = None,
    **kwds: Any,
) -> float | tuple[float, tuple[float, float]]:
    """Mean silhouette coefficient, exact or estimated from a sample.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features), or (n_samples, n_samples)
        NumPy, CuPy or Dask with the Euclidean metric; NumPy or SciPy sparse
        (any format, as CSR) otherwise.  With ``metric="precomputed"``, the
        distances between samples (a zero diagonal).
    labels : array-like of shape (n_samples,)
    metric : str or callable, default="euclidean"
        ``"euclidean"`` runs the fast kernels on every backend.  Any other
        name :func:`sklearn.metrics.pairwise_distances` accepts, a callable,
        or ``"precomputed"``, runs scikit-learn's distances on NumPy data (a
        ``TypeError`` for other backends), exact or sampled alike.
    sample_size : int, default=None
        ``None``: the exact mean over all rows (O(n²) time).  Otherwise the
        number of query rows drawn uniformly without replacement; the score is
        the mean of their silhouettes.
    random_state : int, RandomState instance or None, default=None
        Seed for the query and reference samples.
    confidence : float, default=0.95
        Level of the interval.
    return_interval : bool, default=False
        Also return ``(low, high)``.  Exact scores have a zero-width interval.
    reference_size : int, default=None
        Rows of the stratified reference sample each query is compared with
        (``None``: ``4 * sample_size``).  They are spread evenly over the
        clusters (all rows of a cluster smaller than its share, the rest shared
        by the others).  If the reference would reach half of ``n_samples``,
        the queries are compared with all rows instead.  Ignored without
        ``sample_size``.
    **kwds : optional keyword parameters
        Passed to the distance function (e.g. ``p=3`` for ``"minkowski"``);
        as in scikit-learn, ``n_jobs`` goes to ``pairwise_distances`` and
        ``working_memory`` (MiB) bounds the blocks.

    Returns
    -------
    score : float
    interval : tuple of float
        Only with ``return_interval=True``.

    Raises
    ------
    ValueError
        For a single label or one label per row, a ``sample_size`` outside
        ``[2, n_samples]``, a ``reference_size`` below 1, or a ``confidence``
        outside (0, 1); with ``metric="precomputed"``, a matrix that is not
        square, has negative values, or a non-zero diagonal.
    TypeError
        For a metric other than Euclidean on CuPy or Dask data.

    Notes
    -----
    **The sampled estimator.**  Query ``i``'s mean distance to each cluster
    ``c`` is estimated by its mean distance to the reference rows of ``c``
    (without ``i`` itself for its own cluster, as a(i) divides by
    ``n_c - 1``); its silhouette follows, and the score is the mean over the
    queries.  Cost: ``sample_size * reference_size`` distances (``4 · 10^8`` by
    default for ``sample_size=10_000``), independent of ``n_samples``; memory: the
    ``sample_size + reference_size`` rows and (query block × 21 k) sums.

    **The interval** is ``estimate ± t · sqrt(se_q² + se_R²)``.  ``se_q`` is
    the standard deviation of the per-query silhouettes over
    ``sqrt(sample_size)``, with the finite-population correction.  ``se_R``
    is the reference sample's error, which is shared by all queries and so
    invisible in their spread: the reference rows of every sampled cluster are
    dealt into 20 random groups, the estimate is recomputed without each
    group in turn, and ``se_R`` is the jackknife standard error of those 20
    values.  ``t`` has the Welch–Satterthwaite degrees of freedom.  Without a
    reference (all rows), ``se_R = 0``.

    scikit-learn's ``silhouette_score(sample_size=s)`` computes the silhouette
    of the sample within itself: its reference is the ``s`` sampled rows.
    With another metric or precomputed distances the same estimator runs, on
    scikit-learn's distances between the sampled rows and the reference (a
    precomputed matrix is read at those rows and columns only).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")
    for name, value in (
        ("sample_size", sample_size),
        ("reference_size", reference_size),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (Integral, np.integer))
        ):
            raise ValueError(f"{name} must be an int or None; got {value!r}.")
    if reference_size is not None and reference_size < 1:
        raise ValueError(f"reference_size must be at least 1; got {reference_size}.")
    _, _, working_memory = split_kwds(kwds)
    with call_budget(working_memory):
        data, pairwise = labelled_for("silhouette_score", X, labels, metric, kwds)
        n = data.X.shape[0]
        if sample_size is None:
            value = float(np.mean(exact_silhouettes(data, pairwise)))
            return (value, (value, value)) if return_interval else value
        if not 2 <= sample_size <= n:
            raise ValueError(f"sample_size must be in [2, n_samples={n}]; got {sample_size}.")
        result = estimate_silhouette(data, sample_size, random_state, confidence, reference_size, pairwise)
    if return_interval:
        return result.estimate, (result.low, result.high)
    return result.estimate
