"""The sampled silhouette: an estimate from s query rows and a stratified reference, with an interval.

``s`` query rows are drawn uniformly without replacement.  Each query's mean
distance to each cluster is then estimated from a **stratified reference
sample** (:func:`_draw_reference`): about ``m = reference_size / k`` rows
drawn without replacement from every cluster (every row of a cluster that
has no more than ``m``; the budget those leave is shared among the others).
The query's own cluster excludes the query itself, exactly as a(i) divides
by ``n_c - 1``.  Cost: ``s · reference_size`` distances instead of ``s · n``.
When the reference would be half the data or more, every query is compared
with all rows instead (each sampled silhouette is then exact).

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

On Dask, the query and reference rows are gathered once (only ``s + |R|``
rows travel) and compared in one task per part of the queries
(:mod:`._dask`).  Another metric, or precomputed distances (NumPy data),
makes the same draws and reads scikit-learn's distances between the queries
and the reference rows instead (:mod:`._pairwise`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from ..._config import rows_per_block
from .._inputs import LabelledData, sum_over_blocks
from ._dask import chunk_bounds, label_counts_chunk, locate_chunk, per_chunk, reference_parts
from ._distance_sums import code_sums, distance_sums
from ._exact import host_rows, silhouettes, silhouettes_from
from ._kernels_cpu import leave_group_out
from ._pairwise import PairwiseDistances

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



def estimate_silhouette(
    data: LabelledData,
    sample_size: int,
    random_state: Any,
    confidence: float,
    reference_size: int | None = None,
    pairwise: PairwiseDistances | None = None,
) -> SilhouetteEstimate:
    """The sampled estimate behind :func:`silhouette_score` (trusts its input).

    ``pairwise``: the distances of another metric (NumPy data), instead of the
    Euclidean kernels; the draws are the same.
    """
    n = data.X.shape[0]
    rng = check_random_state(random_state)
    index = np.sort(rng.choice(n, size=sample_size, replace=False))
    if reference_size is None:
        reference_size = REFERENCE_PER_QUERY * sample_size
    sizes = _reference_sizes(data.counts, reference_size)
    if sizes is None:
        return _estimate_all_rows(data, index, confidence, pairwise)
    return _estimate_with_reference(data, index, sizes, rng, confidence, pairwise)



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
    data: LabelledData, index: np.ndarray, confidence: float, pairwise: PairwiseDistances | None = None
) -> SilhouetteEstimate:
    """Every query against every row: each sampled silhouette is exact."""
    n, s = data.X.shape[0], len(index)
    if pairwise is None:
        rows, own = host_rows(data, index)
        sums = sum_over_blocks(data, distance_sums, rows, index, data.n_labels)
    else:
        codes = np.asarray(data.labels).astype(np.int64)
        own = codes[index]
        sums = pairwise.label_sums(index, codes, data.n_labels)
    values = silhouettes(sums, own, data.counts)
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

    bounds = chunk_bounds(data)
    n_chunks = len(bounds) - 1
    if n_chunks == 1:
        before = np.zeros((1, k), dtype=np.int64)
    else:
        counts_per_chunk = np.concatenate(
            per_chunk(data, label_counts_chunk, [()] * n_chunks, k)
        )
        before = np.concatenate(
            [np.zeros((1, k), dtype=np.int64), np.cumsum(counts_per_chunk, axis=0)[:-1]]
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
    parts = per_chunk(data, locate_chunk, args, queries)
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
    pairwise: PairwiseDistances | None = None,
) -> SilhouetteEstimate:
    n, s, k, groups = data.X.shape[0], len(index), data.n_labels, REFERENCE_GROUPS
    ref_index, ref_codes, own = _draw_reference(data, sizes, index, rng)
    if pairwise is None:
        # One gather for the queries and the reference rows.
        rows = data.backend.take_rows(data.X, np.concatenate([index, ref_index]))
        queries, ref_rows = rows[:s], rows[s:].astype(data.X.dtype)
    else:
        # Rows by their index: the distances are read or computed from X itself.
        queries, ref_rows = index, ref_index
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
    plan = {"ref_codes": ref_codes, "code_counts": code_counts}
    if pairwise is None:
        plan["shift"] = queries.mean(axis=0)
    else:
        plan["pairwise"] = pairwise
    values, dropped = reference_parts(
        _reference_silhouettes,
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



def _reference_silhouettes(
    backend: Any,
    ref_rows: Any,
    queries: np.ndarray,
    query_pos: np.ndarray,
    own: np.ndarray,
    alone: np.ndarray,
    plan: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-query silhouettes, and per group their sum without it, for one part of the queries (in blocks)."""
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
        if "pairwise" in plan:  # another metric: queries and reference rows are indices
            sums = plan["pairwise"].label_sums(queries[a:b], plan["ref_codes"], (groups + 1) * k, cols=ref_rows)
        else:
            sums = code_sums(
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
        values[a:b] = silhouettes_from(total, counts, lab, alone[a:b])
        # The estimate without each group: one pass over the sums (numba), no
        # (groups × queries × k) temporaries; added over the queries as before.
        dropped += leave_group_out(
            sums, total, code_counts, total_counts, lab, self_group[a:b], alone[a:b], np.empty((groups, b - a))
        ).sum(axis=1)
    return values, dropped
