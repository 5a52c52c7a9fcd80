"""The density model behind the anomaly job: DBSCAN on a bounded fit sample, and a score for every row.

How it works, and why it holds as the data grows:

* **A fit sample of fixed size.**  DBSCAN and the choice of eps see at most
  ``fit_size`` rows (50,000 by default): all of them when there are fewer,
  else the rows with the smallest of a pseudo-random draw made from each row's
  number and the seed (:func:`row_draws`), so the sample is the same in memory
  and on Dask, however the data is partitioned.
* **eps at the knee of the sample's k-distance curve** (k = ``min_samples``;
  :func:`scalecluster.metrics.suggest_eps` over every row of the sample).  A
  k-distance measures density: with n rows it shrinks like n^(-1/d), so a knee
  read from all n flows moved with n (0.26 at 20k flows, 0.05 at 10M on the
  generator), and sparse normal traffic became noise while scans piled up into
  clusters.  Read from a sample of fixed size it measures the *distribution*,
  not n: on the generator eps is 0.21 at 100k, 1M and 10M flows (0.25 at 20k,
  where the sample is all 20k), and F1 stays at 0.97-0.99 (benchmarks/RESULTS.md).
* **Clusters: normal traffic or suspicious groups.**  The caller decides per
  cluster (small, or a profile far from the bulk: see
  :mod:`scalecluster.jobs._groups`); only *normal* clusters define normal
  traffic.
* **A score for every row**: its distance to the nearest core point of a normal
  cluster, divided by eps.  0 at a core point; at most 1 within reach of normal
  traffic (where DBSCAN would put the row in that cluster); above 1 an alert.
  The row's ``cluster`` is that of its nearest core point of any cluster when
  that point is within eps, else -1 (noise).  On the fit sample both are
  DBSCAN's (a border point within reach of two clusters goes to the nearer).
  The core points are indexed by KD-trees (:class:`_Index`) and the rows are
  queried in blocks of :data:`QUERY_ROWS`, so memory is that of the core
  points and one block.
* **Bounded core set.**  At most ``max_core_points`` core points are kept (a
  sample stratified by cluster beyond it).  A row's distance to the nearest
  *kept* core point is never smaller than to the nearest core point, so a
  subsample can only raise scores (rows at the edge of normal traffic may
  become alerts), never hide one.  Fit and :meth:`DensityModel.score` use the
  same kept points, so a saved model gives the fit's scores exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Rows DBSCAN and the choice of eps see at most (the default of ``fit_size``).
FIT_SIZE = 50_000
#: Core points kept at most (the default of ``max_core_points``).
MAX_CORE_POINTS = 200_000
#: Rows per KD-tree query: the memory of one block of distances and indices.
QUERY_ROWS = 65_536

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def row_draws(rows: Any, seed: int) -> np.ndarray:
    """A draw in [0, 1) for each row number, a function of the row and the seed only (splitmix64).

    The same row gets the same draw in memory and in any Dask partition, so
    "the ``size`` rows with the smallest draws" is one sample whatever the
    partitioning.
    """
    x = np.asarray(rows, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        z = x + np.array([seed], dtype=np.uint64) * _GOLDEN + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def sample_threshold(n_rows: int, size: int) -> float:
    """A draw below which comfortably more than ``size`` of ``n_rows`` rows fall (six standard deviations)."""
    if size >= n_rows:
        return 1.0
    return min(1.0, (size + 6.0 * np.sqrt(size) + 100.0) / n_rows)


def smallest_draws(draws: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """Positions of the ``size`` smallest draws (ties by row number), in row order."""
    if len(draws) <= size:
        return np.argsort(rows, kind="stable")
    order = np.lexsort((rows, draws))[:size]
    return order[np.argsort(rows[order], kind="stable")]


def choose_eps(S: np.ndarray, min_samples: int, sample_size: int | None, random_state: int) -> Any:
    """The knee of the k-distance curve of the fit sample (an :class:`~scalecluster.metrics.EpsSuggestion`).

    ``sample_size=None`` uses every row of the sample (no second draw).
    """
    from ..metrics import suggest_eps

    size = None if sample_size is None or sample_size >= len(S) else int(sample_size)
    try:
        return suggest_eps(S, min_samples, sample_size=size, random_state=random_state)
    except ValueError as error:
        if not str(error).startswith("suggest_eps:"):
            raise
        raise ValueError(
            f"eps cannot be chosen from the data: {str(error).removeprefix('suggest_eps: ')} "
            "Give eps= yourself, or lower min_samples=."
        ) from None


def cluster_sample(S: np.ndarray, eps: float, min_samples: int, algorithm: str | None,
                   notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN on the fit sample: (labels, core sample indices).

    ``algorithm=None``: the grid up to 8 features (on the 6 traffic features
    it was about 30 times faster than the tree), ``"auto"`` beyond; a grid
    that cannot number its cells (eps tiny against the range) falls back to the
    tree, with a note.
    """
    from .. import DBSCAN

    chosen = algorithm if algorithm is not None else ("grid" if S.shape[1] <= 8 else "auto")
    try:
        model = DBSCAN(eps=eps, min_samples=min_samples, algorithm=chosen).fit(S)
    except ValueError as error:
        if algorithm is not None or "cannot index this data" not in str(error):
            raise
        notes.append(f"eps = {eps:.4g} is too small against the data's range for the grid index; "
                     "DBSCAN used its tree index.")
        model = DBSCAN(eps=eps, min_samples=min_samples, algorithm="auto").fit(S)
    return np.asarray(model.labels_, dtype=np.int64), np.asarray(model.core_sample_indices_, dtype=np.int64)


def stratified(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of about ``size`` items: each label's share, at least min(20, its count)."""
    rng = np.random.default_rng(seed)
    _values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = np.maximum(np.minimum(counts, 20), np.floor(counts * size / counts.sum()).astype(np.int64))
    order = np.argsort(inverse, kind="stable")
    groups = np.split(order, np.cumsum(counts)[:-1])
    keep = [rng.choice(g, size=min(len(g), q), replace=False) for g, q in zip(groups, quota)]
    return np.sort(np.concatenate(keep))


@dataclass
class DensityModel:
    """Core points of the clusters of a fit sample, which of the clusters are normal, and eps.

    :meth:`score` gives every row its cluster and score (see the module docstring).
    """

    eps: float
    min_samples: int
    core: np.ndarray  #: (c, d) float64: the kept core points (scaled features)
    core_cluster: np.ndarray  #: (c,) int64: the cluster of each
    normal: np.ndarray  #: (k,) bool: cluster i is normal traffic (False: a suspicious group)
    n_core: int  #: core points DBSCAN found (c < n_core when they were subsampled)
    _trees: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_fit(cls, S: np.ndarray, labels: np.ndarray, core_index: np.ndarray, normal: np.ndarray, eps: float,
                 min_samples: int, max_core_points: int, seed: int) -> DensityModel:
        core_index = np.asarray(core_index, dtype=np.int64)
        core_cluster = np.asarray(labels, dtype=np.int64)[core_index]
        n_core = len(core_index)
        if n_core > max_core_points:
            keep = stratified(core_cluster, max_core_points, seed)
            core_index, core_cluster = core_index[keep], core_cluster[keep]
        core = np.ascontiguousarray(S[core_index], dtype=np.float64)
        return cls(float(eps), int(min_samples), core, core_cluster, np.asarray(normal, dtype=bool), n_core)

    @property
    def n_clusters(self) -> int:
        return len(self.normal)

    @property
    def subsampled(self) -> bool:
        return len(self.core) < self.n_core

    def __getstate__(self) -> dict[str, Any]:  # the trees are rebuilt where the model is used (a Dask worker)
        state = dict(self.__dict__)
        state["_trees"] = None
        return state

    def _built(self) -> tuple[Any, Any]:
        if self._trees is None:
            every = _Index(self.core) if len(self.core) else None
            is_normal = self.normal[self.core_cluster] if len(self.core) else np.zeros(0, dtype=bool)
            if is_normal.all():
                normal = every
            else:
                normal = _Index(self.core[is_normal]) if is_normal.any() else None
            self._trees = (every, normal)
        return self._trees

    def score(self, X: np.ndarray, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Each row's cluster (-1: noise) and score (distance to normal traffic in units of eps; inf when no
        cluster is normal), in blocks of :data:`QUERY_ROWS` rows.

        The model trusts ``X``: float64, finite, its columns the model's features, scaled.
        ``threads``: the KD-tree's worker threads (1 inside a Dask task).
        """
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        cluster = np.full(n, -1, dtype=np.int64)
        score = np.full(n, np.inf, dtype=np.float64)
        every, normal = self._built()
        if every is None or n == 0:
            return cluster, score
        all_normal = normal is every
        for start in range(0, n, QUERY_ROWS):
            block = np.ascontiguousarray(X[start:start + QUERY_ROWS])
            distance, nearest = every.query(block, self.eps, threads)
            near = self.core_cluster[nearest]
            cluster[start:start + len(block)] = np.where(distance <= self.eps, near, -1)
            if not all_normal:
                odd = ~self.normal[near]
                if odd.any():
                    distance[odd] = normal.query(block[odd], self.eps, threads)[0] if normal is not None \
                        else np.inf
            score[start:start + len(block)] = distance / self.eps
        return cluster, score


class _Index:
    """Two indexes of one set of points, each used where it was measured to be fast.

    On traffic features most flows have a core point within eps: SciPy's
    ``cKDTree`` answers "the nearest within eps" about 3 times as fast as an
    unbounded query.  The rows beyond eps (the alerts) are slow for it (0.4 ms
    each) and fast for scikit-learn's ``KDTree`` (11 µs each).  Both return the
    exact nearest distance, so the result is that of one exact query.
    """

    def __init__(self, points: np.ndarray) -> None:
        from scipy.spatial import cKDTree
        from sklearn.neighbors import KDTree

        self.near = cKDTree(points)
        self.far = KDTree(points)
        self.size = len(points)

    def query(self, X: np.ndarray, eps: float, threads: int) -> tuple[np.ndarray, np.ndarray]:
        distance, index = self.near.query(X, k=1, workers=threads, distance_upper_bound=eps * (1 + 1e-12))
        beyond = ~np.isfinite(distance)
        if beyond.any():
            far_distance, far_index = self.far.query(X[beyond], k=1)
            distance[beyond], index[beyond] = far_distance[:, 0], far_index[:, 0]
        return distance, np.asarray(index, dtype=np.int64)

