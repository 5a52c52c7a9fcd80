"""Silhouette: exact in row blocks, or estimated from a sample with an interval.

Both need, for a set of query rows, the sum of distances from each query row to
the rows of each cluster.  :func:`_distance_sums` does that in one pass over
the data, in blocks whose (queries × rows) distance block fits the working
memory budget, and keeps only a (queries × k) accumulator: never n × n.

* Exact: the queries are every row, a block of queries at a time: O(n²) time,
  O(block) memory.
* Sampled (``sample_size=s``): ``s`` query rows drawn uniformly without
  replacement.  Each query's mean distance to each cluster is then estimated
  from a **stratified reference sample** (:func:`_draw_reference`): about
  ``m = reference_size / k`` rows drawn without replacement from every cluster
  (every row of a cluster that has no more than ``m``; the budget those leave
  is shared among the others).  The query's own cluster excludes the query
  itself, exactly as a(i) divides by ``n_c - 1``.  Cost: ``s · reference_size``
  distances instead of ``s · n``.  When the reference would be half the data
  or more, every query is compared with all rows instead (each sampled
  silhouette is then exact).

  The interval accounts for both sources of error.  The estimate is
  ``mean_i f(i, R)`` over queries ``i`` and reference ``R``: its variance is,
  to first order, a query term ``σ_q² / s`` plus a reference term
  ``σ_R² / |R|``.  The reference error is shared by every query (all queries
  are compared with the same rows), so the spread of the per-query values
  cannot see it.  Hence:

  - the query term is the variance of the per-query silhouettes over ``s``,
    with the finite-population correction;
  - the reference term is a delete-a-group jackknife: the reference rows of
    each sampled cluster are dealt at random into ``G = 20`` groups (each
    group is itself a stratified sample), and the estimate is recomputed
    ``G`` times, each time without one group (the distance sums are kept per
    group, so this costs no extra distances);
  - the interval is ``estimate ± t · sqrt(se_q² + se_R²)``, with the
    Welch–Satterthwaite degrees of freedom of the two terms.

  Both terms slightly over-count the O(1 / (s · |R|)) interaction, so the
  interval errs on the wide side.  scikit-learn's ``sample_size`` compares the
  sample with itself only (its reference is the ``s`` queries), which gives a
  larger error and no error bar.

NumPy data runs the fused numba kernel (``_silhouette_kernels``); CuPy data the
array-module code (``backend.xp``); Dask data gathers the query and reference
rows once (only ``s + |R|`` rows travel) and compares them in one task per
part of the queries.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from .._config import rows_per_block
from ._inputs import LabelledData, check_labelled, sum_over_blocks


def query_sq_distances(
    backend: Any,
    offset: int,
    X: Any,
    queries: np.ndarray,
    query_index: np.ndarray,
    extra_bytes_per_row: int = 0,
    shift: np.ndarray | None = None,
) -> Iterator[tuple[int, Any]]:
    """Squared distances from the queries to ``X``, one row block at a time.

    Yields ``(start, sq)`` with ``sq`` of shape (q, rows in the block), float64,
    computed with the expansion around the queries' mean (so a common offset
    does not cancel the precision away; ``shift`` overrides that mean).
    ``query_index`` holds the global row index of each query (``offset`` is
    that of ``X``'s first row): a query's distance to itself is exactly 0, not
    rounding noise.
    """
    xp = backend.xp
    q = xp.asarray(queries, dtype=xp.float64)
    shift = q.mean(axis=0) if shift is None else xp.asarray(shift, dtype=xp.float64)
    q = q - shift
    q_norms = (q * q).sum(axis=1)
    # Per data row: a distance column (q), its float64 copy (d), and the caller's extra.
    step = rows_per_block(
        (q.shape[0] + X.shape[1]) * 8 + extra_bytes_per_row, X.shape[0]
    )
    own = xp.asarray(query_index) - offset
    for a in range(0, X.shape[0], step):
        block = X[a : a + step].astype(xp.float64) - shift
        sq = xp.maximum(
            q_norms[:, None] + (block * block).sum(axis=1)[None, :] - 2 * (q @ block.T),
            0,
        )
        rows = xp.nonzero((own >= a) & (own < a + block.shape[0]))[0]
        sq[rows, own[rows] - a] = 0.0
        yield a, sq


def _distance_sums(
    backend: Any,
    offset: int,
    X: Any,
    labels: Any,
    queries: np.ndarray,
    query_index: np.ndarray,
    k: int,
) -> np.ndarray:
    """(q × k) sums of Euclidean distances from each query to the rows of each label."""
    if backend.name == "numpy":
        return _distance_sums_numba(offset, X, labels, queries, query_index, k)
    xp = backend.xp
    out = xp.zeros((len(queries), k), dtype=xp.float64)
    for a, sq in query_sq_distances(
        backend, offset, X, queries, query_index, extra_bytes_per_row=k * 8
    ):
        one_hot = (labels[a : a + sq.shape[1], None] == xp.arange(k)[None, :]).astype(
            xp.float64
        )
        out += xp.sqrt(sq) @ one_hot
    return backend.to_host(out)


def _distance_sums_numba(
    offset: int,
    X: np.ndarray,
    labels: np.ndarray,
    queries: np.ndarray,
    query_index: np.ndarray,
    k: int,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`_distance_sums` for NumPy data, through the fused kernel (see its module).

    ``shift`` (default: the queries' mean) is the origin of the distance
    expansion; pass the same one to get the same rounding for every part of a
    query set.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .._config import effective_n_threads
    from ._silhouette_kernels import TILE, label_distance_sums

    X = np.ascontiguousarray(X)
    dtype = X.dtype
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    # Tiles of TILE label-sorted rows, cut into segments where the label changes.
    n_rows = len(order)
    cuts = np.union1d(
        np.flatnonzero(np.diff(sorted_labels)) + 1, np.arange(0, n_rows, TILE)
    )
    seg_start = cuts.astype(np.int64)
    seg_stop = np.append(cuts[1:], n_rows).astype(np.int64)
    n_tiles = -(-n_rows // TILE)
    seg_ptr = np.searchsorted(seg_start, np.arange(n_tiles + 1) * TILE).astype(np.int64)
    sorted_labels = sorted_labels.astype(np.int64)

    q64 = np.asarray(queries, dtype=np.float64)
    shift = q64.mean(axis=0) if shift is None else np.asarray(shift, dtype=np.float64)
    centred = q64 - shift
    queries_t = np.ascontiguousarray((-2.0 * centred).T, dtype=dtype)
    q_norms = (centred**2).sum(axis=1).astype(dtype)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    local = np.asarray(query_index, dtype=np.int64) - offset
    inside = (local >= 0) & (local < X.shape[0])
    query_pos = np.where(
        inside, position[np.clip(local, 0, max(X.shape[0] - 1, 0))], -1
    )

    out = np.zeros((len(q64), k))
    # Each thread takes a range of queries against all the data: no reduction needed.
    n_parts = max(1, min(effective_n_threads(), len(q64)))
    cuts = np.linspace(0, len(q64), n_parts + 1).astype(np.int64)

    def work(part: int) -> None:
        a, b = cuts[part], cuts[part + 1]
        label_distance_sums(
            X,
            order,
            sorted_labels,
            seg_ptr,
            seg_start,
            seg_stop,
            np.ascontiguousarray(queries_t[:, a:b]),
            q_norms[a:b],
            shift.astype(dtype),
            query_pos[a:b],
            out[a:b],
        )

    if n_parts == 1:
        work(0)
    else:
        with ThreadPoolExecutor(n_parts) as pool:
            list(pool.map(work, range(n_parts)))
    return out


def _silhouettes(
    sums: np.ndarray, own_labels: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Silhouette of each query from its distance sums (scikit-learn's conventions)."""
    own_count = counts[own_labels]
    per_query = np.broadcast_to(counts[None, :].astype(np.float64), sums.shape).copy()
    per_query[np.arange(len(own_labels)), own_labels] = np.maximum(own_count - 1, 1)
    return _silhouettes_from(sums, per_query, own_labels, own_count == 1)


def _silhouettes_from(
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


#: Groups the reference is dealt into for the jackknife of its error.
REFERENCE_GROUPS = 20
#: Default reference rows per query row (``reference_size = 4 * sample_size``).
#: On 1M × 16 blobs with s = 10,000 the reference term of the standard error is
#: then about 0.3 times the query term (total +4 %), at a quarter of the cost of 16 s.
REFERENCE_PER_QUERY = 4


@dataclass(frozen=True)
class SilhouetteEstimate:
    """A sampled silhouette: the estimate, its interval, and the samples behind them.

    ``reference_size`` is 0 when every query was compared with all rows (each
    sampled silhouette exact); ``query_error`` and ``reference_error`` are the
    two standard-error terms behind ``standard_error``.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    sample_size: int
    standard_error: float
    reference_size: int = 0
    query_error: float = 0.0
    reference_error: float = 0.0


def silhouette_score(
    X: Any,
    labels: Any,
    *,
    sample_size: int | None = None,
    random_state: Any = None,
    confidence: float = 0.95,
    return_interval: bool = False,
    reference_size: int | None = None,
) -> float | tuple[float, tuple[float, float]]:
    """Mean silhouette coefficient, exact or estimated from a sample.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        NumPy, CuPy or Dask.
    labels : array-like of shape (n_samples,)
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
        outside (0, 1).

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
    data = check_labelled(X, labels)
    n = data.X.shape[0]
    if sample_size is None:
        value = float(np.mean(silhouette_samples(data.X, data.labels)))
        return (value, (value, value)) if return_interval else value
    if not 2 <= sample_size <= n:
        raise ValueError(
            f"sample_size must be in [2, n_samples={n}]; got {sample_size}."
        )
    result = estimate_silhouette(
        data, sample_size, random_state, confidence, reference_size
    )
    if return_interval:
        return result.estimate, (result.low, result.high)
    return result.estimate


def estimate_silhouette(
    data: LabelledData,
    sample_size: int,
    random_state: Any,
    confidence: float,
    reference_size: int | None = None,
) -> SilhouetteEstimate:
    """The sampled estimate behind :func:`silhouette_score` (trusts its input)."""
    n = data.X.shape[0]
    rng = check_random_state(random_state)
    index = np.sort(rng.choice(n, size=sample_size, replace=False))
    if reference_size is None:
        reference_size = REFERENCE_PER_QUERY * sample_size
    sizes = _reference_sizes(data.counts, reference_size)
    if sizes is None:
        return _estimate_all_rows(data, index, confidence)
    return _estimate_with_reference(data, index, sizes, rng, confidence)


def _t_interval(
    mean: float, se_q: float, df_q: int, se_r: float, df_r: int, confidence: float
) -> tuple[float, float, float]:
    """``mean ± t · se`` for two independent error terms (Welch–Satterthwaite df)."""
    se = float(np.hypot(se_q, se_r))
    parts = (se_q**4 / df_q if df_q > 0 else 0.0) + (
        se_r**4 / df_r if df_r > 0 else 0.0
    )
    df = se**4 / parts if parts > 0 else np.inf
    half = float(stats.t.ppf(0.5 + confidence / 2, df=df) * se) if se > 0 else 0.0
    return mean - half, mean + half, se


def _query_error(values: np.ndarray, n: int) -> float:
    """Standard error of the mean of ``values``, a sample without replacement from ``n`` rows."""
    s = len(values)
    correction = np.sqrt((n - s) / (n - 1)) if n > 1 else 0.0
    return float(values.std(ddof=1) / np.sqrt(s) * correction)


def _estimate_all_rows(
    data: LabelledData, index: np.ndarray, confidence: float
) -> SilhouetteEstimate:
    """Every query against every row: each sampled silhouette is exact."""
    n, s = data.X.shape[0], len(index)
    rows, own = _host_rows(data, index)
    sums = sum_over_blocks(data, _distance_sums, rows, index, data.n_labels)
    values = _silhouettes(sums, own, data.counts)
    mean = float(values.mean())
    se = _query_error(values, n)
    low, high, se = _t_interval(mean, se, s - 1, 0.0, 0, confidence)
    return SilhouetteEstimate(mean, low, high, confidence, s, se, 0, se, 0.0)


# ----------------------------------------------------------- reference sample
def _reference_sizes(counts: np.ndarray, total: int) -> np.ndarray | None:
    """Reference rows per cluster: ``total`` spread evenly, or ``None`` for all rows.

    Clusters no larger than their share give all their rows, and what they
    leave is shared by the others (water-filling).  A sampled cluster gets at
    least ``2 * REFERENCE_GROUPS`` rows, so that every jackknife group holds
    some of it.  ``None`` when the reference would be half the data or more.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if total >= n / 2:
        return None
    sizes = counts.copy()
    sampled = np.ones(len(counts), dtype=bool)
    while True:
        share = max(
            (total - counts[~sampled].sum()) / max(sampled.sum(), 1),
            2 * REFERENCE_GROUPS,
        )
        small = sampled & (counts <= share)
        if not small.any():
            break
        sampled &= ~small
    sizes[sampled] = np.minimum(counts[sampled], int(np.ceil(share)))
    if sizes.sum() >= n / 2:
        return None
    return sizes


def _label_counts_chunk(
    backend: Any, offset: int, X: Any, labels: Any, k: int
) -> np.ndarray:
    """Rows of each label in one chunk: a (1 × k) host array."""
    return np.bincount(np.asarray(backend.to_host(labels)), minlength=k)[
        None, :
    ].astype(np.int64)


def _locate_chunk(
    backend: Any,
    offset: int,
    X: Any,
    labels: Any,
    wanted_labels: np.ndarray,
    wanted_ranks: np.ndarray,
    queries: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Global index of the ``r``-th row of label ``c`` in this chunk, and the labels of the queries in it."""
    host = np.asarray(backend.to_host(labels))
    order = np.argsort(host, kind="stable")
    starts = np.concatenate(
        [
            [0],
            np.cumsum(
                np.bincount(host, minlength=int(wanted_labels.max(initial=0)) + 1)
            ),
        ]
    )
    found = order[starts[wanted_labels] + wanted_ranks] + offset
    inside = queries[(queries >= offset) & (queries < offset + len(host))]
    return found.astype(np.int64), host[inside - offset].astype(np.int64)


def _per_chunk(
    data: LabelledData, fn: Any, per_chunk_args: list[tuple], *args: Any
) -> list[Any]:
    """``fn(backend, offset, None, label_block, *chunk_args, *args)`` for every chunk, in order.

    Labels only: on Dask the tasks do not depend on ``X``'s chunks, so the
    features are not read.
    """
    if not data.backend.lazy:
        return [fn(data.backend, 0, None, data.labels, *per_chunk_args[0], *args)]
    import dask

    ls = data.labels.to_delayed().ravel()
    offsets = np.concatenate([[0], np.cumsum(data.X.chunks[0])[:-1]]).tolist()
    task = dask.delayed(fn, pure=True)
    return list(
        dask.compute(
            *[
                task(data.backend.chunk, o, None, lab, *c, *args)
                for o, lab, c in zip(offsets, ls, per_chunk_args)
            ]
        )
    )


def _chunk_bounds(data: LabelledData) -> np.ndarray:
    if not data.backend.lazy:
        return np.array([0, data.X.shape[0]])
    return np.concatenate([[0], np.cumsum(data.X.chunks[0])]).astype(np.int64)


def _draw_reference(
    data: LabelledData,
    sizes: np.ndarray,
    queries: np.ndarray,
    rng: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stratified reference and the labels of the queries.

    Returns ``(index, code, query_labels)``: the global row index of each
    reference row, its code ``group * k + label`` (groups ``0 .. G - 1`` for
    the rows of sampled clusters, dealt at random; group ``G`` for clusters
    taken whole), and the label of each query.  The draw is defined by the
    rank of a row among the rows of its label, so it is the same whatever the
    chunking: one light pass over the labels counts each label per chunk, a
    second finds the drawn rows.
    """
    k, groups = data.n_labels, REFERENCE_GROUPS
    counts = data.counts
    labels_of, ranks, codes = [], [], []
    for c in range(k):
        whole = sizes[c] >= counts[c]
        r = (
            np.arange(counts[c])
            if whole
            else rng.choice(counts[c], size=sizes[c], replace=False)
        )
        group = np.full(len(r), groups) if whole else np.arange(len(r)) % groups
        labels_of.append(np.full(len(r), c))
        ranks.append(r)
        codes.append(group * k + c)
    labels_of, ranks, codes = (
        np.concatenate(a).astype(np.int64) for a in (labels_of, ranks, codes)
    )

    bounds = _chunk_bounds(data)
    n_chunks = len(bounds) - 1
    if n_chunks == 1:
        before = np.zeros((1, k), dtype=np.int64)
    else:
        per_chunk = np.concatenate(
            _per_chunk(data, _label_counts_chunk, [()] * n_chunks, k)
        )
        before = np.concatenate(
            [np.zeros((1, k), dtype=np.int64), np.cumsum(per_chunk, axis=0)[:-1]]
        )
    # Chunk of each wanted rank: the last chunk whose rows of that label start at or before it.
    chunk_of = np.empty(len(ranks), dtype=np.int64)
    for c in range(k):
        mine = labels_of == c
        chunk_of[mine] = np.searchsorted(before[:, c], ranks[mine], side="right") - 1
    args = []
    for b in range(n_chunks):
        mine = chunk_of == b
        args.append((labels_of[mine], ranks[mine] - before[b, labels_of[mine]]))
    parts = _per_chunk(data, _locate_chunk, args, queries)
    index = np.empty(len(ranks), dtype=np.int64)
    for b, (found, _) in enumerate(parts):
        index[chunk_of == b] = found
    query_labels = np.concatenate([p[1] for p in parts])
    order = np.argsort(codes, kind="stable")
    return index[order], codes[order], query_labels


def _estimate_with_reference(
    data: LabelledData,
    index: np.ndarray,
    sizes: np.ndarray,
    rng: np.random.RandomState,
    confidence: float,
) -> SilhouetteEstimate:
    n, s, k, groups = data.X.shape[0], len(index), data.n_labels, REFERENCE_GROUPS
    ref_index, ref_codes, own = _draw_reference(data, sizes, index, rng)
    # One gather for the queries and the reference rows.
    rows = data.backend.take_rows(data.X, np.concatenate([index, ref_index]))
    queries, ref_rows = rows[:s], rows[s:].astype(data.X.dtype)
    # Position of each query in the reference (-1: not in it).
    by_index = np.argsort(ref_index, kind="stable")
    at = np.clip(
        np.searchsorted(ref_index, index, sorter=by_index), 0, len(ref_index) - 1
    )
    query_pos = np.where(ref_index[by_index[at]] == index, by_index[at], -1)
    code_counts = np.bincount(ref_codes, minlength=(groups + 1) * k).reshape(
        groups + 1, k
    )
    alone = data.counts[own] == 1
    shift = queries.mean(axis=0)
    plan = {"ref_codes": ref_codes, "code_counts": code_counts, "shift": shift}
    values, dropped = _reference_parts(
        data, queries, query_pos, own, alone, ref_rows, plan
    )

    mean = float(values.mean())
    se_q = _query_error(values, n)
    leave_out = dropped / s  # the estimate without each group
    se_r = float(
        np.sqrt((groups - 1) / groups * np.sum((leave_out - leave_out.mean()) ** 2))
    )
    low, high, se = _t_interval(mean, se_q, s - 1, se_r, groups - 1, confidence)
    return SilhouetteEstimate(
        mean, low, high, confidence, s, se, len(ref_index), se_q, se_r
    )


def _reference_parts(
    data: LabelledData,
    queries: np.ndarray,
    query_pos: np.ndarray,
    own: np.ndarray,
    alone: np.ndarray,
    ref_rows: np.ndarray,
    plan: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-query silhouettes and, per group, their sum without that group.

    In memory: one call.  On Dask: the queries in parts, one task each, with
    the reference rows sent once; every part returns O(part + G) numbers.
    """
    if not data.backend.lazy:
        return _reference_silhouettes(
            data.backend, ref_rows, queries, query_pos, own, alone, plan
        )
    import dask

    from .._config import config_context

    def task(backend: Any, ref: Any, *args: Any) -> tuple[np.ndarray, np.ndarray]:
        with config_context(n_threads=1):
            return _reference_silhouettes(backend, ref, *args)

    s = len(queries)
    n_parts = int(max(1, min(data.X.numblocks[0], s // 1000, 16)))
    cuts = np.linspace(0, s, n_parts + 1).astype(np.int64)
    # The reference and its plan: one key each, sent once to whichever worker needs them.
    ref, plan = dask.delayed(ref_rows), dask.delayed(plan, traverse=False)
    fn = dask.delayed(task, pure=True)
    parts = dask.compute(
        *[
            fn(
                data.backend.chunk,
                ref,
                *(a[lo:hi] for a in (queries, query_pos, own, alone)),
                plan,
            )
            for lo, hi in itertools.pairwise(cuts)
        ]
    )
    return np.concatenate([p[0] for p in parts]), sum(p[1] for p in parts)


def _reference_silhouettes(
    backend: Any,
    ref_rows: Any,
    queries: np.ndarray,
    query_pos: np.ndarray,
    own: np.ndarray,
    alone: np.ndarray,
    plan: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_reference_parts` for one part of the queries, in blocks of queries."""
    code_counts = plan["code_counts"]
    groups = code_counts.shape[0] - 1
    k = code_counts.shape[1]
    total_counts = code_counts.sum(axis=0)
    in_ref = query_pos >= 0
    self_group = np.where(in_ref, plan["ref_codes"][np.maximum(query_pos, 0)] // k, -1)
    values = np.empty(len(queries))
    dropped = np.zeros(groups)
    # Per query: the (G + 1) k sums, and a few (q × k) temporaries.
    step = rows_per_block((groups + 1 + 6) * k * 8, len(queries))
    for a in range(0, len(queries), step):
        b = min(a + step, len(queries))
        sums = _reference_sums(
            backend,
            ref_rows,
            plan["ref_codes"],
            queries[a:b],
            query_pos[a:b],
            (groups + 1) * k,
            plan["shift"],
        )
        sums = sums.reshape(b - a, groups + 1, k)
        total = sums.sum(axis=1)
        rows = np.arange(b - a)
        lab = own[a:b]
        counts = np.broadcast_to(total_counts.astype(np.float64), total.shape).copy()
        counts[rows, lab] -= in_ref[a:b]
        values[a:b] = _silhouettes_from(total, counts, lab, alone[a:b])
        for g in range(groups):
            without = np.broadcast_to(
                (total_counts - code_counts[g]).astype(np.float64), total.shape
            ).copy()
            # The query itself is not among its own cluster's rows, unless it sat in the dropped group.
            without[rows, lab] -= in_ref[a:b] & (self_group[a:b] != g)
            dropped[g] += _silhouettes_from(
                total - sums[:, g, :], without, lab, alone[a:b]
            ).sum()
    return values, dropped


def _reference_sums(
    backend: Any,
    ref_rows: Any,
    ref_codes: np.ndarray,
    queries: np.ndarray,
    query_pos: np.ndarray,
    n_codes: int,
    shift: np.ndarray,
) -> np.ndarray:
    """(q × codes) sums of distances from each query to the reference rows of each code.

    The reference rows are sorted by code.  NumPy: the fused numba kernel.
    Other array modules: distance blocks, summed per code run by a cumulative
    sum along the rows (no one-hot product over the codes).
    """
    if backend.name == "numpy":
        return _distance_sums_numba(
            0, np.asarray(ref_rows), ref_codes, queries, query_pos, n_codes, shift=shift
        )
    xp = backend.xp
    ref = xp.asarray(ref_rows)
    out = np.zeros((len(queries), n_codes))
    # Per reference row, besides the distance column: its square root and running sum.
    for a, sq in query_sq_distances(
        backend,
        0,
        ref,
        queries,
        query_pos,
        extra_bytes_per_row=2 * len(queries) * 8,
        shift=shift,
    ):
        m = sq.shape[1]
        codes = ref_codes[a : a + m]
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1, [m]])
        running = xp.cumsum(xp.sqrt(sq), axis=1)
        ends = backend.to_host(running[:, xp.asarray(cuts[1:] - 1)])
        starts = np.concatenate([np.zeros((len(queries), 1)), ends[:, :-1]], axis=1)
        out[:, codes[cuts[:-1]]] += ends - starts
    return out
