"""Choosing initial centres: k-means|| (default), k-means++ and random.

All three are written against the backend operations, so they run on NumPy,
CuPy and Dask alike.  On the NumPy backend, ``"k-means++"`` and ``"random"``
call scikit-learn's own code with the same random state, so a fit with the
same seed starts where scikit-learn's starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

from ..backends import Backend


@dataclass
class SeedingInfo:
    """What k-means|| did: rounds run and candidates gathered (for diagnostics)."""

    rounds: int = 0
    candidates: int = 0


def _host_dense(X: Any) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else X


def random_centers(backend: Backend, X: Any, weights: Any, k: int, rng: np.random.RandomState) -> np.ndarray:
    """``k`` distinct rows drawn with probability ∝ weight."""
    if backend.name == "numpy":
        w = np.asarray(weights)
        seeds = rng.choice(X.shape[0], size=k, replace=False, p=w / w.sum())
        return np.asarray(_host_dense(X[seeds]), dtype=np.float64)
    # Elsewhere draw with replacement and keep the first k distinct rows; on
    # tiny or very skewed data, fewer may exist and repeats fill the rest.
    picks: list[int] = []
    for _ in range(8):
        for i in backend.sample_rows(X, weights, None, 4 * k, rng):
            if i not in picks:
                picks.append(int(i))
        if len(picks) >= k:
            break
    if len(picks) < k:
        picks += list(backend.sample_rows(X, weights, None, k - len(picks), rng))
    return backend.take_rows(X, np.asarray(picks[:k]))


def kmeans_plusplus(backend: Backend, X: Any, weights: Any, k: int, rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, with 2 + log k local trials).

    Each step draws the trial centres by D² sampling and keeps the one that
    lowers the potential most, as scikit-learn does.  On Dask every step is a
    few small computes, so this costs O(k) round trips: prefer k-means|| there.
    """
    if backend.name == "numpy":
        centers, _ = sklearn_kmeans_plusplus(X, k, sample_weight=np.asarray(weights), random_state=rng)
        return np.asarray(centers, dtype=np.float64)
    n_trials = 2 + int(np.log(k))
    first = backend.sample_rows(X, weights, None, 1, rng)
    centers = [backend.take_rows(X, first)[0]]
    state = backend.update_nearest(X, weights, None, np.asarray(centers), 0)
    for _ in range(1, k):
        trial_rows = backend.take_rows(X, backend.sample_rows(X, weights, state, n_trials, rng))
        potentials = [
            backend.update_nearest(X, weights, _copy_state(backend, state), row[None, :], 0).potential
            for row in trial_rows
        ]
        best = int(np.argmin(potentials))
        centers.append(trial_rows[best])
        state = backend.update_nearest(X, weights, state, trial_rows[best][None, :], len(centers) - 1)
    return np.asarray(centers, dtype=np.float64)


def _copy_state(backend: Backend, state: Any) -> Any:
    """A copy of the per-row state that an update may change in place."""
    from ..backends import NearestState

    if backend.lazy:  # Dask updates build new blocks and never change old ones
        return state
    return NearestState((state.rows[0].copy(), state.rows[1].copy()), state.potential)


def kmeans_parallel(
    backend: Backend,
    X: Any,
    weights: Any,
    k: int,
    rng: np.random.RandomState,
    *,
    oversampling_factor: float,
    n_rounds: int,
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
       weighted k-means++ and Lloyd iterations.

    Only candidate-sized arrays reach the driver; the per-row distances stay
    with the data (on Dask, on the workers).
    """
    ell = oversampling_factor * k
    first = backend.sample_rows(X, weights, None, 1, rng)
    candidates = [backend.take_rows(X, first)]
    state = backend.update_nearest(X, weights, None, candidates[0], 0)
    n_candidates = 1
    seed = int(rng.randint(np.iinfo(np.int32).max))
    info = SeedingInfo()
    for round_ in range(n_rounds):
        if state.potential <= 0:
            break  # every row coincides with a candidate
        info.rounds += 1
        chosen = backend.bernoulli_rows(X, weights, state, ell / state.potential, seed, round_)
        if chosen.size == 0:
            continue
        rows = backend.take_rows(X, chosen)
        state = backend.update_nearest(X, weights, state, rows, n_candidates)
        candidates.append(rows)
        n_candidates += rows.shape[0]
    pool = np.concatenate(candidates)
    pool_weights = backend.weight_per_nearest(weights, state, n_candidates)
    info.candidates = n_candidates
    if n_candidates <= k:
        # Fewer candidates than clusters: the data has (almost) no more
        # distinct points. Top up with rows drawn by weight; repeats are
        # reported by KMeans as fewer distinct clusters.
        extra = backend.take_rows(X, backend.sample_rows(X, weights, None, k - n_candidates, rng))
        return np.concatenate([pool, extra])[:k], info
    return recluster(pool, pool_weights, k, rng), info


def recluster(points: np.ndarray, point_weights: np.ndarray, k: int, rng: np.random.RandomState) -> np.ndarray:
    """Cluster weighted candidates down to ``k`` centres, on the host."""
    from ..backends import get_backend
    from ._lloyd import lloyd

    if not np.any(point_weights > 0):
        point_weights = np.ones_like(point_weights)
    centers, _ = sklearn_kmeans_plusplus(points, k, sample_weight=point_weights, random_state=rng)
    variance = float(np.average((points - np.average(points, axis=0, weights=point_weights)) ** 2, axis=0, weights=point_weights).mean())
    result = lloyd(get_backend(points), points, point_weights, centers, max_iter=30, tol=1e-4 * variance)
    return result.centers.astype(np.float64)
