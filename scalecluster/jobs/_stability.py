"""Choosing the number of segments by stability under resampling, then separation.

A segmentation is only worth acting on if it is reproducible: refit on other
customers of the same population, or from another random start, the same
customers should land together.  For each candidate k:

* ``n_fits`` KMeans fits (k-means||, the best of ``n_init`` = 10 starts each,
  so that a poor start does not pass for instability; k-means++ seeding was
  faster on small subsamples but fell into a worse optimum more often, which
  made the measured stability depend on the seed), each on its own random
  subsample of the customers (80 % of them, at most ``subsample``);
* each fit labels one common evaluation sample (at most ``eval_size``
  customers) by its nearest centre;
* **stability** = the mean adjusted Rand index over all pairs of fits' labels
  of that sample (1: the same partition every time; near 0: chance), with its
  minimum over pairs;
* **separation**: the silhouette (exact, on the evaluation sample) and the
  Davies–Bouldin index of each fit, averaged; and the inertia per customer on
  the evaluation sample (for an elbow).

**The rule** (:func:`choose_k`): among the k whose stability is at least
:data:`STABILITY_THRESHOLD`, the one with the highest silhouette.  When no k is
that stable, the most stable k, and the reason says so.

The customers the sweep uses are the same whatever the backend and the seed:
all of them up to :data:`POOL_SIZE`, beyond that those picked by a fixed hash
of their id (so pandas and Dask pick the same ones), sorted by id; the
evaluation sample is drawn from them with a fixed seed.  The seed drives the
subsamples and the starts of the refits.  (With a pool and an evaluation
sample drawn per seed, the silhouettes of 4 and 5 segments of a continuum,
0.005 apart, swapped places between seeds 0 and 1 on 150,000 customers.)

The work is small and on the driver whatever the data's size:
``len(k_values) * n_fits`` fits of at most ``subsample`` rows, and exact
silhouettes on ``eval_size`` rows (measured: 7.7 s for k = 3..8 on a pool of
100,000 customers of a 10M-line log, two cores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: A k is stable when the mean pairwise adjusted Rand index of its refits reaches this.
STABILITY_THRESHOLD = 0.9
#: At most this many customers are brought to the driver for the sweep.
POOL_SIZE = 100_000
#: The default k to search: a range a marketing team can act on.
DEFAULT_K_VALUES = range(3, 9)
_SUBSAMPLE_FRACTION = 0.8
_EVALUATION_SEED = 20_241_231
_POOL_KEY = "scalecluster0000"  # pandas hash_key: 16 characters


def stability_sweep(
    X: np.ndarray,
    k_values: Sequence[int],
    *,
    n_fits: int = 5,
    subsample: int = 20_000,
    eval_size: int = 4_000,
    n_init: int = 10,
    random_state: int = 0,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> pd.DataFrame:
    """Stability and separation of KMeans for each k (see the module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The scaled features (in memory: at most :data:`POOL_SIZE` rows are enough).
    k_values : sequence of int
        Candidates, each at least 2 and below the subsample size.
    n_fits : int, default=5
        Fits per k (``n_fits * (n_fits - 1) / 2`` pairs).
    subsample : int, default=20000
        Rows per fit: 80 % of ``X``, at most this.
    eval_size : int, default=4000
        Rows of the common evaluation sample (silhouettes are exact on it:
        O(eval_size²)); drawn with a fixed seed, the same for every ``random_state``.
    n_init : int, default=10
        k-means|| starts per fit (the best inertia is kept), so that a poor
        start does not pass for instability: with 3, fits on blurred
        behaviours fell into one of two local optima at k = 5 and the
        measured stability, hence k, changed with the seed.
    random_state : int, default=0
        Drives the subsamples and the starts of the refits.
    progress : callable, default=None
        Called with (k, row) after each k.

    Returns
    -------
    table : pandas.DataFrame
        One row per k: ``k``, ``stability`` (mean pairwise ARI), ``stability_min``,
        ``silhouette`` (mean over fits), ``silhouette_low`` / ``silhouette_high``
        (min / max over fits), ``davies_bouldin`` (mean), ``inertia`` (mean
        squared distance to the nearest centre on the evaluation sample, mean
        over fits) and ``stable`` (stability ≥ :data:`STABILITY_THRESHOLD`).

    Notes
    -----
    Time: ``len(k_values) * n_fits * n_init`` KMeans fits of ``subsample``
    rows, plus as many exact silhouettes of ``eval_size`` rows.  Memory:
    O(subsample + eval_size²/blocks) on the driver.
    """
    from sklearn.metrics import adjusted_rand_score

    from .. import KMeans
    from ..metrics import davies_bouldin_score, silhouette_score

    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    rng = np.random.default_rng(random_state)
    size = max(2, min(subsample, round(_SUBSAMPLE_FRACTION * n)))
    # The same evaluation sample whatever the seed: the silhouettes that decide between close k are measured on
    # the same customers (with one drawn per seed, 4 and 5 segments of a continuum swapped places).
    fixed = np.random.default_rng(_EVALUATION_SEED)
    evaluation = X[np.sort(fixed.choice(n, size=min(eval_size, n), replace=False))]
    rows = []
    for k in k_values:
        if k >= size:
            raise ValueError(f"{n:,} customers are too few to test {k} segments on subsamples of {size:,}; "
                             "ask for fewer segments with k_values= or k=.")
        labels, silhouettes, indices, inertias = [], [], [], []
        for _ in range(n_fits):
            rows_fit = rng.choice(n, size=size, replace=False)
            model = KMeans(n_clusters=int(k), n_init=n_init, random_state=int(rng.integers(2**31 - 1)))
            model.fit(X[rows_fit])
            centres = np.asarray(model.cluster_centers_, dtype=np.float64)
            found, distances = nearest(evaluation, centres)
            labels.append(found)
            inertias.append(float(distances.mean()))
            if len(np.unique(found)) < 2:
                silhouettes.append(np.nan)
                indices.append(np.nan)
                continue
            silhouettes.append(float(silhouette_score(evaluation, found)))
            indices.append(float(davies_bouldin_score(evaluation, found)))
        pairs = [adjusted_rand_score(labels[i], labels[j]) for i in range(n_fits) for j in range(i + 1, n_fits)]
        row = {
            "k": int(k),
            "stability": float(np.mean(pairs)) if pairs else 1.0,
            "stability_min": float(np.min(pairs)) if pairs else 1.0,
            "silhouette": float(np.nanmean(silhouettes)) if not np.all(np.isnan(silhouettes)) else np.nan,
            "silhouette_low": float(np.nanmin(silhouettes)) if not np.all(np.isnan(silhouettes)) else np.nan,
            "silhouette_high": float(np.nanmax(silhouettes)) if not np.all(np.isnan(silhouettes)) else np.nan,
            "davies_bouldin": float(np.nanmean(indices)) if not np.all(np.isnan(indices)) else np.nan,
            "inertia": float(np.mean(inertias)),
        }
        row["stable"] = bool(row["stability"] >= STABILITY_THRESHOLD)
        rows.append(row)
        if progress is not None:
            progress(int(k), row)
    return pd.DataFrame(rows)


def choose_k(table: pd.DataFrame) -> tuple[int, str]:
    """The k of a :func:`stability_sweep` table, and the reason in words.

    Among the k with ``stability`` ≥ :data:`STABILITY_THRESHOLD`, the highest
    ``silhouette`` (ties: the smaller k).  If none is that stable: the most
    stable k (ties: the higher silhouette).
    """
    missing = {"k", "stability", "silhouette"} - set(table.columns)
    if missing:
        raise ValueError(f"choose_k needs the columns k, stability and silhouette (a stability_sweep table); "
                         f"missing: {sorted(missing)}.")
    ks = ", ".join(str(int(v)) for v in table["k"])
    stable = table[table["stability"] >= STABILITY_THRESHOLD]
    if len(stable):
        best = stable.sort_values(["silhouette", "k"], ascending=[False, True], na_position="last").iloc[0]
        return int(best["k"]), (
            f"the best-separated of the stable k (silhouette {best['silhouette']:.3f}, stability "
            f"{best['stability']:.3f}; stable: refits on other customers agree, mean adjusted Rand index ≥ "
            f"{STABILITY_THRESHOLD}) among k = {ks}"
        )
    best = table.sort_values(["stability", "silhouette"], ascending=[False, False]).iloc[0]
    return int(best["k"]), (
        f"no k was stable (mean adjusted Rand index of refits ≥ {STABILITY_THRESHOLD}) among k = {ks}; the most "
        f"stable ({best['stability']:.3f}, silhouette {best['silhouette']:.3f}): treat the segments as a rough cut"
    )


def nearest(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre of each row (ties: the lower index) and the squared distance to it.

    Rows in blocks of 65,536: memory O(block · k).
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.empty(X.shape[0], dtype=np.int64)
    best = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], 65_536):
        block = X[start:start + 65_536]
        distances = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels[start:start + len(block)] = np.argmin(distances, axis=1)
        best[start:start + len(block)] = distances[np.arange(len(block)), labels[start:start + len(block)]]
    return labels, best


def pool(scaled: Any, *, lazy: bool, client: Any, steps: Any, size: int = POOL_SIZE) -> np.ndarray:
    """The customers the sweep uses, as a NumPy array: all up to ``size``, else about ``size`` picked by a fixed
    hash of their id (the same customers on every backend and for every seed), sorted by id."""
    n = int(scaled.index.size.compute()) if lazy else len(scaled)
    picked = scaled
    if n > size:
        share = size / n
        picked = scaled.map_partitions(_hash_pick, share, meta=scaled._meta) if lazy else _hash_pick(scaled, share)
    if lazy:
        (picked,) = steps.compute(client, picked)
    picked = picked.sort_index(kind="stable")
    return picked.to_numpy(dtype=np.float64)


def _hash_pick(part: pd.DataFrame, share: float) -> pd.DataFrame:
    hashes = pd.util.hash_pandas_object(pd.Series(part.index.astype("string")), index=False,
                                        hash_key=_POOL_KEY).to_numpy()
    return part[(hashes % np.uint64(2**32)) < np.uint64(int(share * 2**32))]
