"""Choosing initial centres: k-means|| (default), k-means++ and random.

All three are written against the KMeans operations (:mod:`._ops`), so they
run on NumPy, CuPy and Dask alike.  For in-memory host data, ``"k-means++"``
and ``"random"`` are scikit-learn's own code with the same random state (the
tables below), so a fit with the same seed starts where scikit-learn's
starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

from ._ops import BernoulliDraw, KMeansOps


@dataclass
class SeedingInfo:
    """What k-means|| did: rounds run and candidates gathered (for diagnostics)."""

    rounds: int = 0
    candidates: int = 0


def _host_dense(X: Any) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else X


def _random_on_host(ops: KMeansOps, X: Any, weights: Any, k: int, rng: np.random.RandomState) -> np.ndarray:
    w = np.asarray(weights)
    seeds = rng.choice(X.shape[0], size=k, replace=False, p=w / w.sum())
    return np.asarray(_host_dense(X[seeds]), dtype=np.float64)


def _random_anywhere(ops: KMeansOps, X: Any, weights: Any, k: int, rng: np.random.RandomState) -> np.ndarray:
    # Draw with replacement and keep the first k distinct rows; on tiny or
    # very skewed data, fewer may exist and repeats fill the rest.
    picks: list[int] = []
    for _ in range(8):
        for i in ops.sample_rows(X, weights, None, 4 * k, rng):
            if i not in picks:
                picks.append(int(i))
        if len(picks) >= k:
            break
    if len(picks) < k:
        picks += list(ops.sample_rows(X, weights, None, k - len(picks), rng))
    return ops.take_rows(X, np.asarray(picks[:k]))


def _plusplus_on_host(
    ops: KMeansOps, X: Any, weights: Any, k: int, rng: np.random.RandomState, n_local_trials: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    centers, indices = sklearn_kmeans_plusplus(
        X, k, sample_weight=np.asarray(weights), random_state=rng, n_local_trials=n_local_trials
    )
    return np.asarray(centers, dtype=np.float64), np.asarray(indices)


def _plusplus_anywhere(
    ops: KMeansOps, X: Any, weights: Any, k: int, rng: np.random.RandomState, n_local_trials: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    n_trials = 2 + int(np.log(k)) if n_local_trials is None else n_local_trials
    first = ops.sample_rows(X, weights, None, 1, rng)
    indices = [int(first[0])]
    centers = [ops.take_rows(X, first)[0]]
    state = ops.update_nearest(X, weights, None, np.asarray(centers), 0)
    for _ in range(1, k):
        trial_index = ops.sample_rows(X, weights, state, n_trials, rng)
        trial_rows = ops.take_rows(X, trial_index)
        potentials = [
            ops.update_nearest(X, weights, ops.copy_state(state), row[None, :], 0).potential for row in trial_rows
        ]
        best = int(np.argmin(potentials))
        indices.append(int(trial_index[best]))
        centers.append(trial_rows[best])
        state = ops.update_nearest(X, weights, state, trial_rows[best][None, :], len(centers) - 1)
    return np.asarray(centers, dtype=np.float64), np.asarray(indices, dtype=np.int64)


Seeding = Callable[..., Any]
#: backend name -> implementation; other backends use the ``_anywhere`` versions.
_RANDOM: dict[str, Seeding] = {"numpy": _random_on_host}
_PLUSPLUS: dict[str, Seeding] = {"numpy": _plusplus_on_host}


def random_centers(ops: KMeansOps, X: Any, weights: Any, k: int, rng: np.random.RandomState) -> np.ndarray:
    """``k`` distinct rows drawn with probability ∝ weight."""
    return _RANDOM.get(ops.backend.name, _random_anywhere)(ops, X, weights, k, rng)


def kmeans_plusplus(ops: KMeansOps, X: Any, weights: Any, k: int, rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, with 2 + log k local trials).

    Each step draws the trial centres by D² sampling and keeps the one that
    lowers the potential most, as scikit-learn does.  On Dask every step is a
    few small computes, so this costs O(k) round trips: prefer k-means|| there.
    """
    return kmeans_plusplus_indices(ops, X, weights, k, rng)[0]


def kmeans_plusplus_indices(
    ops: KMeansOps, X: Any, weights: Any, k: int, rng: np.random.RandomState, n_local_trials: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kmeans_plusplus` with the row index of each centre, and a choice of local trials.

    Returns host arrays: the centres (k, d) float64 and their row indices (k,).
    ``n_local_trials=None`` is ``2 + int(log(k))``.
    """
    return _PLUSPLUS.get(ops.backend.name, _plusplus_anywhere)(ops, X, weights, k, rng, n_local_trials)


def kmeans_parallel(
    ops: KMeansOps,
    X: Any,
    weights: Any,
    k: int,
    rng: np.random.RandomState,
    *,
    oversampling_factor: float,
    n_rounds: int,
    data_rows: int | None = None,
) -> tuple[np.ndarray, SeedingInfo]:
    """k-means|| (Bahmani et al., "Scalable K-Means++", VLDB 2012).

    1. One centre drawn with probability ∝ weight.
    2. ``n_rounds`` rounds; in each, every row is kept independently with
       probability ``min(1, ℓ · w · d²(x) / φ)``, ``ℓ = oversampling_factor · k``,
       where ``d²(x)`` is its squared distance to the nearest candidate so far
       and ``φ`` the total.  One sweep per round then lowers ``d²`` with the new
       candidates.  (So about ℓ candidates per round, ``1 + ℓ · n_rounds`` in all.)
    3. Each candidate is weighted by the weight of the rows nearest to it.
    4. The weighted candidates are clustered down to ``k`` on the host with
       weighted k-means++ and Lloyd iterations, several times (see
       :func:`recluster`): the start with the lowest weighted inertia wins.

    ``data_rows``: rows of the data the centres are for (default: ``X``'s),
    which sets how many recluster trials are worth their cost
    (:func:`recluster_trials`); MiniBatchKMeans seeds on a sample of them.

    Only candidate-sized arrays reach the driver; the per-row distances stay
    with the data (on Dask, on the workers).
    """
    ell = oversampling_factor * k
    _, first_rows = ops.sample_rows_and_values(X, weights, 1, rng)
    candidates = [first_rows]
    seed = int(rng.randint(np.iinfo(np.int32).max))

    def draw(stream: int) -> BernoulliDraw | None:
        return BernoulliDraw(ell, seed, stream) if stream < n_rounds else None

    # Each step lowers the distances with the last round's rows and draws the
    # next round's from the new potential (one round trip on a Dask cluster).
    state, chosen, rows = ops.nearest_then_draw(X, weights, None, first_rows, 0, draw(0))
    n_candidates = 1
    info = SeedingInfo()
    for round_ in range(n_rounds):
        if state.potential <= 0:
            break  # every row coincides with a candidate
        info.rounds += 1
        if chosen.size == 0:  # nothing kept this round: draw the next one from the same state
            state, chosen, rows = ops.nearest_then_draw(X, weights, state, None, 0, draw(round_ + 1))
            continue
        new_rows = rows
        state, chosen, rows = ops.nearest_then_draw(X, weights, state, new_rows, n_candidates, draw(round_ + 1))
        candidates.append(new_rows)
        n_candidates += new_rows.shape[0]
    pool = np.concatenate(candidates)
    pool_weights = ops.weight_per_nearest(weights, state, n_candidates)
    info.candidates = n_candidates
    if n_candidates <= k:
        # Fewer candidates than clusters: the data has (almost) no more
        # distinct points. Top up with rows drawn by weight; repeats are
        # reported by KMeans as fewer distinct clusters.
        extra = ops.take_rows(X, ops.sample_rows(X, weights, None, k - n_candidates, rng))
        return np.concatenate([pool, extra])[:k], info
    rows = X.shape[0] if data_rows is None else data_rows
    trials = recluster_trials(n_candidates, k, X.shape[1], rows)
    return recluster(pool, pool_weights, k, rng, trials), info


#: Seeding trials on the k-means|| candidates: each a weighted k-means++ and
#: Lloyd's iterations on the candidates only; the lowest weighted inertia wins.
RECLUSTER_TRIALS = 10
#: Lloyd iterations per trial on the candidates.
RECLUSTER_MAX_ITER = 30
#: The trials' work is kept within this many passes over the data (in
#: multiply-adds: one pass is n k d) ...
RECLUSTER_BUDGET_PASSES = 4
#: ... or within this many multiply-adds (some tens of milliseconds), if that is more.
RECLUSTER_BUDGET_FLOOR = 1e8


def recluster_trials(n_candidates: int, k: int, d: int, data_rows: int) -> int:
    """Recluster trials for ``n_candidates`` candidates, between 1 and :data:`RECLUSTER_TRIALS`.

    A trial costs about ``n_candidates * (2 + log k + RECLUSTER_MAX_ITER) * k * d``
    multiply-adds (k-means++ with its local trials, then Lloyd).  With the
    default settings there are about ``10 k`` candidates, so for all but large
    k on small data every trial fits in the budget; there, fewer trials run,
    so that the trials never cost more than a few passes over the data (or
    some tens of milliseconds, when that is more).
    """
    per_trial = n_candidates * (2 + int(np.log(k)) + RECLUSTER_MAX_ITER) * float(k) * d
    budget = max(RECLUSTER_BUDGET_PASSES * float(data_rows) * k * d, RECLUSTER_BUDGET_FLOOR)
    return int(min(RECLUSTER_TRIALS, max(1, budget // per_trial)))


def recluster(
    points: np.ndarray,
    point_weights: np.ndarray,
    k: int,
    rng: np.random.RandomState,
    n_trials: int | None = None,
) -> np.ndarray:
    """Cluster weighted candidates down to ``k`` centres, on the host: the best of ``n_trials``.

    ``n_trials=None`` is :data:`RECLUSTER_TRIALS`.

    Each trial is a weighted k-means++ on the candidates followed by Lloyd's
    iterations on them; the trial with the lowest weighted inertia of the
    candidates wins.  One k-means++ start lands in a poor local minimum now
    and then (two centres in one blob, one centre for two), which the full
    data's Lloyd iterations cannot repair; it is rare that all of several
    starts do, and the candidates' weighted inertia ranks the starts much as
    the full data would.  The candidates number about
    ``1 + oversampling_factor * k * rounds``, so a trial costs
    O(m k d (log k + iterations)) for m candidates: far less than one pass
    over the data unless k is large and the data small (see
    :func:`recluster_trials`).
    """
    from ...backends import get_backend
    from ._lloyd import lloyd
    from ._ops import kmeans_ops

    if not np.any(point_weights > 0):
        point_weights = np.ones_like(point_weights)
    variance = float(
        np.average((points - np.average(points, axis=0, weights=point_weights)) ** 2, axis=0, weights=point_weights).mean()
    )
    ops = kmeans_ops(get_backend(points))
    best = None
    for _ in range(max(1, RECLUSTER_TRIALS if n_trials is None else n_trials)):
        centers, _ = sklearn_kmeans_plusplus(points, k, sample_weight=point_weights, random_state=rng)
        result = lloyd(ops, points, point_weights, centers, max_iter=RECLUSTER_MAX_ITER, tol=1e-4 * variance)
        if best is None or result.inertia < best.inertia:
            best = result
    return best.centers.astype(np.float64)
