"""The exact silhouette, in blocks of queries: never n × n.

Each block of query rows is compared with every row in one pass
(:func:`._distance_sums.distance_sums`, mapped over the chunks on Dask),
keeping only a (queries × k) accumulator of distance sums; the silhouettes
follow from those sums with scikit-learn's conventions.  O(n² d) time,
memory O(block) plus O(n k / blocks) on the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._config import rows_per_block
from .._inputs import LabelledData, check_labelled, sum_over_blocks
from ._distance_sums import distance_sums


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


def silhouette_samples(X: Any, labels: Any) -> Any:
    """Silhouette coefficient of every row, computed exactly in row blocks.

    Equal to scikit-learn's ``silhouette_samples`` (Euclidean).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        NumPy, CuPy or Dask.
    labels : array-like of shape (n_samples,)

    Returns
    -------
    silhouette : ndarray of shape (n_samples,)
        On the host (NumPy), float64.

    Notes
    -----
    O(n² d) time; memory O(block) plus O(n k / blocks) on the host: the
    distance matrix is never held.
    """
    data = check_labelled(X, labels)
    n = data.X.shape[0]
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

