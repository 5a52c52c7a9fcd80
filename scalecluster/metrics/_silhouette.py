"""Silhouette: exact in row blocks, or estimated from a sample with an interval.

Both need, for a set of query rows, the sum of distances from each query row to
every row of each cluster.  :func:`_distance_sums` does that in one pass over
the data, in blocks whose (queries × rows) distance block fits the working
memory budget, and keeps only a (queries × k) accumulator: never n × n.

* Exact: the queries are every row, a block of queries at a time: O(n²) time,
  O(block) memory.
* Sampled: the queries are ``sample_size`` rows drawn without replacement,
  compared with **all** the data in one pass.  Each sampled row's silhouette is
  then exact, so their mean is an unbiased estimate of the mean silhouette,
  with a t-interval from the sample's spread (with the finite-population
  correction).  scikit-learn's ``sample_size`` instead compares the sample with
  itself only, which is biased and gives no error bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any, Iterator

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from .._config import rows_per_block
from ._inputs import LabelledData, check_labelled, sum_over_blocks


def query_sq_distances(
    backend: Any, offset: int, X: Any, queries: np.ndarray, query_index: np.ndarray, extra_bytes_per_row: int = 0
) -> Iterator[tuple[int, Any]]:
    """Squared distances from the queries to ``X``, one row block at a time.

    Yields ``(start, sq)`` with ``sq`` of shape (q, rows in the block), float64,
    computed with the expansion around the queries' mean (so a common offset
    does not cancel the precision away).  ``query_index`` holds the global row
    index of each query (``offset`` is that of ``X``'s first row): a query's
    distance to itself is exactly 0, not rounding noise.
    """
    xp = backend.xp
    q = xp.asarray(queries, dtype=xp.float64)
    shift = q.mean(axis=0)
    q = q - shift
    q_norms = (q * q).sum(axis=1)
    # Per data row: a distance column (q), its float64 copy (d), and the caller's extra.
    step = rows_per_block((q.shape[0] + X.shape[1]) * 8 + extra_bytes_per_row, X.shape[0])
    own = xp.asarray(query_index) - offset
    for a in range(0, X.shape[0], step):
        block = X[a : a + step].astype(xp.float64) - shift
        sq = xp.maximum(q_norms[:, None] + (block * block).sum(axis=1)[None, :] - 2 * (q @ block.T), 0)
        rows = xp.nonzero((own >= a) & (own < a + block.shape[0]))[0]
        sq[rows, own[rows] - a] = 0.0
        yield a, sq


def _distance_sums(
    backend: Any, offset: int, X: Any, labels: Any, queries: np.ndarray, query_index: np.ndarray, k: int
) -> np.ndarray:
    """(q × k) sums of Euclidean distances from each query to the rows of each label."""
    if backend.name == "numpy":
        return _distance_sums_numba(offset, X, labels, queries, query_index, k)
    xp = backend.xp
    out = xp.zeros((len(queries), k), dtype=xp.float64)
    for a, sq in query_sq_distances(backend, offset, X, queries, query_index, extra_bytes_per_row=k * 8):
        one_hot = (labels[a : a + sq.shape[1], None] == xp.arange(k)[None, :]).astype(xp.float64)
        out += xp.sqrt(sq) @ one_hot
    return backend.to_host(out)


def _distance_sums_numba(
    offset: int, X: np.ndarray, labels: np.ndarray, queries: np.ndarray, query_index: np.ndarray, k: int
) -> np.ndarray:
    """:func:`_distance_sums` for NumPy data, through the fused kernel (see its module)."""
    from concurrent.futures import ThreadPoolExecutor

    from .._config import effective_n_threads
    from ._silhouette_kernels import TILE, label_distance_sums

    X = np.ascontiguousarray(X)
    dtype = X.dtype
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    # Tiles of the label-sorted rows that never straddle two labels.
    bounds = np.flatnonzero(np.diff(sorted_labels)) + 1
    starts, stops = [], []
    for a, b in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(order)]])):
        for t in range(a, b, TILE):
            starts.append(t)
            stops.append(min(t + TILE, b))
    tile_start, tile_stop = np.asarray(starts, dtype=np.int64), np.asarray(stops, dtype=np.int64)
    tile_label = sorted_labels[tile_start].astype(np.int64)

    q64 = np.asarray(queries, dtype=np.float64)
    shift = q64.mean(axis=0)
    centred = q64 - shift
    queries_t = np.ascontiguousarray((-2.0 * centred).T, dtype=dtype)
    q_norms = (centred**2).sum(axis=1).astype(dtype)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    local = np.asarray(query_index, dtype=np.int64) - offset
    inside = (local >= 0) & (local < X.shape[0])
    query_pos = np.where(inside, position[np.clip(local, 0, max(X.shape[0] - 1, 0))], -1)

    out = np.zeros((len(q64), k))
    # Each thread takes a range of queries against all the data: no reduction needed.
    n_parts = max(1, min(effective_n_threads(), len(q64)))
    cuts = np.linspace(0, len(q64), n_parts + 1).astype(np.int64)

    def work(part: int) -> None:
        a, b = cuts[part], cuts[part + 1]
        label_distance_sums(
            X, order, tile_start, tile_stop, tile_label, np.ascontiguousarray(queries_t[:, a:b]),
            q_norms[a:b], shift.astype(dtype), query_pos[a:b], out[a:b],
        )

    if n_parts == 1:
        work(0)
    else:
        with ThreadPoolExecutor(n_parts) as pool:
            list(pool.map(work, range(n_parts)))
    return out


def _silhouettes(sums: np.ndarray, own_labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Silhouette of each query from its distance sums (scikit-learn's conventions)."""
    rows = np.arange(len(own_labels))
    own_count = counts[own_labels]
    with np.errstate(divide="ignore", invalid="ignore"):
        intra = sums[rows, own_labels] / np.maximum(own_count - 1, 1)
        means = sums / counts[None, :]
        means[rows, own_labels] = np.inf
        inter = means.min(axis=1)
        values = (inter - intra) / np.maximum(intra, inter)
    # A point alone in its cluster scores 0, and so does 0/0.
    values[own_count == 1] = 0.0
    return np.nan_to_num(values)


def _host_rows(data: LabelledData, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    step = max(1, int(np.sqrt(rows_per_block(8, 2**62) / 2)))
    for a in range(0, n, step):
        index = np.arange(a, min(a + step, n))
        rows, own = _host_rows(data, index)
        sums = sum_over_blocks(data, _distance_sums, rows, index, data.n_labels)
        out[a : a + len(index)] = _silhouettes(sums, own, data.counts)
    return out


@dataclass(frozen=True)
class SilhouetteEstimate:
    """A sampled silhouette: the estimate, its interval, and the sample behind them."""

    estimate: float
    low: float
    high: float
    confidence: float
    sample_size: int
    standard_error: float


def silhouette_score(
    X: Any,
    labels: Any,
    *,
    sample_size: int | None = None,
    random_state: Any = None,
    confidence: float = 0.95,
    return_interval: bool = False,
) -> float | tuple[float, tuple[float, float]]:
    """Mean silhouette coefficient, exact or estimated from a sample.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        NumPy, CuPy or Dask.
    labels : array-like of shape (n_samples,)
    sample_size : int, default=None
        ``None``: the exact mean over all rows (O(n²) time).  Otherwise the
        number of rows drawn without replacement; each is compared with all the
        data in one pass (O(n · sample_size) time).
    random_state : int, RandomState instance or None, default=None
        Seed for the sample.
    confidence : float, default=0.95
        Level of the interval.
    return_interval : bool, default=False
        Also return ``(low, high)``.  Exact scores have a zero-width interval.

    Returns
    -------
    score : float
    interval : tuple of float
        Only with ``return_interval=True``.

    Raises
    ------
    ValueError
        For a single label or one label per row, a ``sample_size`` outside
        ``[2, n_samples]``, or a ``confidence`` outside (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")
    if sample_size is not None and (isinstance(sample_size, bool) or not isinstance(sample_size, (Integral, np.integer))):
        raise ValueError(f"sample_size must be an int or None; got {sample_size!r}.")
    data = check_labelled(X, labels)
    n = data.X.shape[0]
    if sample_size is None:
        value = float(np.mean(silhouette_samples(data.X, data.labels)))
        return (value, (value, value)) if return_interval else value
    if not 2 <= sample_size <= n:
        raise ValueError(f"sample_size must be in [2, n_samples={n}]; got {sample_size}.")
    result = estimate_silhouette(data, sample_size, random_state, confidence)
    if return_interval:
        return result.estimate, (result.low, result.high)
    return result.estimate


def estimate_silhouette(data: LabelledData, sample_size: int, random_state: Any, confidence: float) -> SilhouetteEstimate:
    """The sampled estimate behind :func:`silhouette_score` (trusts its input)."""
    n = data.X.shape[0]
    rng = check_random_state(random_state)
    index = np.sort(rng.choice(n, size=sample_size, replace=False))
    rows, own = _host_rows(data, index)
    sums = sum_over_blocks(data, _distance_sums, rows, index, data.n_labels)
    values = _silhouettes(sums, own, data.counts)
    mean = float(values.mean())
    # Sampling without replacement from n rows: finite-population correction.
    correction = np.sqrt((n - sample_size) / (n - 1)) if n > 1 else 0.0
    se = float(values.std(ddof=1) / np.sqrt(sample_size) * correction)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=sample_size - 1) * se)
    return SilhouetteEstimate(mean, mean - half, mean + half, confidence, sample_size, se)
