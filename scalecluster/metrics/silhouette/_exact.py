"""The exact silhouette, in blocks of queries: never n × n.

Each block of query rows is compared with every row in one pass
(:func:`._distance_sums.distance_sums`, mapped over the chunks on Dask),
keeping only a (queries × k) accumulator of distance sums; the silhouettes
follow from those sums with scikit-learn's conventions.  O(n² d) time,
memory O(block) plus O(n k / blocks) on the host.  Other metrics and
precomputed distances (NumPy data) take blocks of scikit-learn's distances
instead (:mod:`._pairwise`).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics.pairwise import _VALID_METRICS

from ..._config import config_context, rows_per_block
from ..._param_validation import CALLABLE, Options, validate_params
from .._inputs import LabelledData, check_labelled, sum_over_blocks
from ._distance_sums import distance_sums
from ._pairwise import (
    EUCLIDEAN,
    PairwiseDistances,
    check_precomputed_distances,
    data_params,
    require_host,
    split_kwds,
    uses_kernels,
)

#: Metric names accepted, as scikit-learn's silhouette accepts them (besides callables).
METRICS = tuple(sorted(set(_VALID_METRICS) | {"precomputed"}))


def silhouettes(
    sums: np.ndarray, own_labels: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Silhouette of each query from its distance sums (scikit-learn's conventions)."""
    own_count = counts[own_labels]
    per_query = np.broadcast_to(counts[None, :].astype(np.float64), sums.shape).copy()
    per_query[np.arange(len(own_labels)), own_labels] = np.maximum(own_count - 1, 1)
    return silhouettes_from(sums, per_query, own_labels, own_count == 1)


def silhouettes_from(
    sums: np.ndarray, counts: np.ndarray, own_labels: np.ndarray, alone: np.ndarray
) -> np.ndarray:
    """Silhouettes from (q × k) distance sums and the (q × k) row counts behind them.

    ``counts[i, own_labels[i]]`` already excludes query ``i`` itself; ``alone``
    marks queries alone in their cluster, which score 0.
    """
    rows = np.arange(len(own_labels))
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / counts
        intra = means[rows, own_labels].copy()
        means[rows, own_labels] = np.inf
        inter = means.min(axis=1)
        values = (inter - intra) / np.maximum(intra, inter)
    # A point alone in its cluster scores 0, and so does 0/0.
    values[alone] = 0.0
    return np.nan_to_num(values)


def host_rows(data: LabelledData, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = data.backend.take_rows(data.X, index)
    return rows, np.asarray(data.backend.to_host(data.labels[index])).astype(np.int64)


def check_metric(caller: str, metric: Any) -> None:
    """``metric`` must be a name scikit-learn's ``pairwise_distances`` accepts, ``"precomputed"``, or a callable."""
    validate_params({"metric": [Options(*METRICS), CALLABLE]}, {"metric": metric}, caller)


def labelled_for(caller: str, X: Any, labels: Any, metric: Any, kwds: dict) -> tuple[LabelledData, PairwiseDistances | None]:
    """The validated data, and the :class:`PairwiseDistances` when the fast kernels do not run."""
    check_metric(caller, metric)
    kwds, n_jobs, _ = split_kwds(kwds)
    if uses_kernels(X, metric, kwds):
        return check_labelled(X, labels, accept_sparse=True), None
    require_host(X, metric, caller)
    euclidean = isinstance(metric, str) and metric in EUCLIDEAN
    data = check_labelled(X, labels, accept_sparse=True, check_range=euclidean)
    if isinstance(metric, str) and metric == "precomputed":
        check_precomputed_distances(data.X)
    elif isinstance(metric, str) and not sp.issparse(data.X):
        kwds = {**data_params(data.X, metric, kwds), **kwds}
    return data, PairwiseDistances(data.X, metric, kwds, n_jobs)


def exact_silhouettes(data: LabelledData, pairwise: PairwiseDistances | None = None) -> np.ndarray:
    """Silhouette of every row (trusts its input): the fast kernels, or blocks of ``pairwise`` distances."""
    n = data.X.shape[0]
    if pairwise is not None:
        codes = np.asarray(data.labels).astype(np.int64)
        out = np.empty(n)
        # Blocks of rows against all rows: (rows × n) distances, summed per label.
        for index in pairwise.query_blocks(np.arange(n), n, extra_per_row=4 * data.n_labels * 8):
            sums = pairwise.label_sums(index, codes, data.n_labels)
            out[index] = silhouettes(sums, codes[index], data.counts)
        return out
    out = np.empty(n)
    # Queries a block at a time, each block compared with all the data in one
    # pass; square-ish distance blocks (queries ≈ data rows) use the budget best.
    # With many labels the (queries × labels) sums and their temporaries (four
    # such arrays) bound the block instead.
    step = max(1, int(np.sqrt(rows_per_block(8, 2**62) / 2)))
    step = min(step, rows_per_block(4 * data.n_labels * 8, n))
    for a in range(0, n, step):
        index = np.arange(a, min(a + step, n))
        rows, own = host_rows(data, index)
        sums = sum_over_blocks(data, distance_sums, rows, index, data.n_labels)
        out[a : a + len(index)] = silhouettes(sums, own, data.counts)
    return out


def silhouette_samples(X: Any, labels: Any, *, metric: Any = "euclidean", **kwds: Any) -> np.ndarray:
    """Silhouette coefficient of every row, computed exactly in row blocks.

    Equal to scikit-learn's ``silhouette_samples``.

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
        ``TypeError`` for other backends).
    **kwds : optional keyword parameters
        Passed to the distance function (e.g. ``p=3`` for ``"minkowski"``);
        as in scikit-learn, ``n_jobs`` goes to ``pairwise_distances`` and
        ``working_memory`` (MiB) bounds the blocks.

    Returns
    -------
    silhouette : ndarray of shape (n_samples,)
        On the host (NumPy), float64.

    Raises
    ------
    ValueError
        For a single label or one label per row; with ``metric="precomputed"``,
        a matrix that is not square, has negative values, or a non-zero
        diagonal.
    TypeError
        For a metric other than Euclidean on CuPy or Dask data.

    Notes
    -----
    O(n² d) time; memory O(block) plus O(n k / blocks) on the host: the
    distance matrix is never held (a precomputed one is read a block of rows
    at a time).  A squared Euclidean distance too small for the kernels'
    expansion to resolve is recomputed from the differences, so identical
    rows are exactly 0 apart (a cluster of identical points scores exactly 1).
    """
    _, _, working_memory = split_kwds(kwds)
    with call_budget(working_memory):
        data, pairwise = labelled_for("silhouette_samples", X, labels, metric, kwds)
        return exact_silhouettes(data, pairwise)


def call_budget(working_memory: float | None) -> Any:
    """The working-memory budget of one call (scikit-learn's ``working_memory`` keyword), or no change."""
    return config_context(working_memory=working_memory) if working_memory is not None else nullcontext()
