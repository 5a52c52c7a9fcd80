"""Choosing k for KMeans and eps for DBSCAN: the analysts' sweeps, at scale.

* :func:`k_sweep` fits KMeans for each k and tabulates inertia (elbow),
  silhouette (sampled, with its interval), Davies–Bouldin and
  Calinski–Harabasz; it suggests the k with the best silhouette.
* :func:`suggest_eps` computes the k-distance curve (distance of sampled rows
  to their ``min_samples``-th nearest row in the whole data, in one pass over
  blocks of rows) and returns the distance at its knee.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._validation import check_X
from ._indices import calinski_harabasz_score, davies_bouldin_score
from ._inputs import WrongLabelCount, _MetricInput
from .silhouette import silhouette_score
from .silhouette._distance_sums import query_sq_distances

_METRICS = ("inertia", "silhouette", "davies_bouldin", "calinski_harabasz")


@dataclass
class KSweep:
    """Result of :func:`k_sweep`."""

    table: Any  #: pandas DataFrame, one row per k
    suggested_k: int
    rule: str
    models: dict = field(default_factory=dict)  #: fitted estimator per k

    def plot(self, axes: Any = None) -> Any:
        """Elbow, silhouette (with its interval) and Davies–Bouldin panels (needs matplotlib)."""
        import matplotlib.pyplot as plt

        panels = [m for m in ("inertia", "silhouette", "davies_bouldin") if m in self.table]
        if axes is None:
            _, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2), squeeze=False)
            axes = axes[0]
        for ax, name in zip(axes, panels):
            ax.plot(self.table["k"], self.table[name], marker="o")
            if name == "silhouette" and "silhouette_low" in self.table:
                ax.fill_between(self.table["k"], self.table["silhouette_low"], self.table["silhouette_high"], alpha=0.25)
            ax.axvline(self.suggested_k, color="grey", linestyle="--", linewidth=1)
            ax.set_xlabel("k")
            ax.set_title(name.replace("_", " "))
        return axes


def k_sweep(
    X: Any,
    k_values: Sequence[int],
    *,
    estimator: Any = None,
    metrics: Sequence[str] = _METRICS,
    sample_size: int | None = 10_000,
    random_state: Any = 0,
) -> KSweep:
    """Fit KMeans for every k and tabulate the quality of each clustering.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        NumPy, CuPy or Dask (persisted once, then reused for every k).
    k_values : sequence of int
        Each at least 2 and below ``n_samples``.
    estimator : KMeans-like, default=None
        Cloned for each k with ``n_clusters=k``; ``scalecluster.KMeans`` by default.
    metrics : sequence of str, default=all
        Among "inertia", "silhouette", "davies_bouldin", "calinski_harabasz".
    sample_size : int or None, default=10000
        Rows for the sampled silhouette (``None``: exact, O(n²)); capped at n.
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    KSweep
        ``table`` (pandas DataFrame), ``suggested_k`` and the ``rule`` used.
    """
    import pandas as pd

    from ..cluster import KMeans

    unknown = set(metrics) - set(_METRICS)
    if unknown:
        raise ValueError(f"Unknown metrics {sorted(unknown)}; choose among {list(_METRICS)}.")
    ks = list(k_values)
    if not ks or any(isinstance(k, bool) or not isinstance(k, (Integral, np.integer)) or k < 2 for k in ks):
        raise ValueError(f"k_values must be ints of at least 2; got {ks!r}.")
    backend, X = check_X(_MetricInput(), X, reset=True)
    if max(ks) >= X.shape[0]:
        raise ValueError(f"k_values must be below n_samples={X.shape[0]}; got {max(ks)}.")
    if backend.lazy:
        X = X.persist()
    rng = check_random_state(random_state)
    base = estimator if estimator is not None else KMeans(random_state=rng.randint(2**31))
    rows, models = [], {}
    for k in ks:
        model = clone(base).set_params(n_clusters=k).fit(X)
        labels = model.labels_
        row: dict[str, Any] = {"k": k}
        if "inertia" in metrics:
            row["inertia"] = float(model.inertia_)
        try:
            if "silhouette" in metrics:
                size = None if sample_size is None else min(sample_size, X.shape[0])
                value, (low, high) = silhouette_score(X, labels, sample_size=size, random_state=rng, return_interval=True)
                row.update(silhouette=value, silhouette_low=low, silhouette_high=high)
            if "davies_bouldin" in metrics:
                row["davies_bouldin"] = davies_bouldin_score(X, labels)
            if "calinski_harabasz" in metrics:
                row["calinski_harabasz"] = calinski_harabasz_score(X, labels)
        except WrongLabelCount as error:
            if error.n_labels != 1:
                raise
            raise ValueError(
                f"k_sweep: KMeans(n_clusters={k}) put every row in one cluster: X has fewer distinct rows "
                "than k (all rows may be identical), so no silhouette or index can be computed. Check X "
                "for duplicated or constant rows, or sweep the inertia only (metrics=['inertia'])."
            ) from None
        rows.append(row)
        models[k] = model
    table = pd.DataFrame(rows)
    if "silhouette" in table:
        best, rule = int(table.loc[table["silhouette"].idxmax(), "k"]), "highest mean silhouette"
    elif "davies_bouldin" in table:
        best, rule = int(table.loc[table["davies_bouldin"].idxmin(), "k"]), "lowest Davies–Bouldin index"
    elif "calinski_harabasz" in table:
        best, rule = int(table.loc[table["calinski_harabasz"].idxmax(), "k"]), "highest Calinski–Harabasz index"
    else:
        best, rule = _knee(np.asarray(ks, float), table["inertia"].to_numpy()), "knee of the inertia curve"
        best = int(ks[best])
    return KSweep(table, best, rule, models)


def _knee(x: np.ndarray, y: np.ndarray) -> int:
    """Index of the point farthest from the chord joining the ends (Kneedle-like)."""
    if len(x) < 3:
        return len(x) - 1
    xs = (x - x[0]) / (x[-1] - x[0] or 1.0)
    ys = (y - y.min()) / ((y.max() - y.min()) or 1.0)
    chord = ys[0] + (ys[-1] - ys[0]) * xs
    return int(np.argmax(np.abs(ys - chord)))


#: Up to this many features a KD-tree per block of rows finds the k nearest rows
#: of a few thousand queries far faster than the blocked brute force, which is
#: O(rows · queries · d): measured on 10M rows of 6 traffic features, 2000
#: queries took 306 s brute force on two cores.  Beyond it, KD-trees degrade.
_TREE_MAX_FEATURES = 16

#: Rows per KD-tree: a tree copies its rows (float64), so this bounds the extra memory.
_TREE_BLOCK_ROWS = 1_000_000


def _kth_distances(backend: Any, offset: int, X: Any, queries: np.ndarray, query_index: np.ndarray, k: int) -> np.ndarray:
    """The k smallest distances from each query to the rows of this block (q × k, host).

    The block's NaN/inf and range checks ride on this pass (a Dask chunk is
    read here for the first time).
    """
    backend.check_range(X)
    run = _KTH_DISTANCES.get(backend.name, _kth_distances_blocked)
    return run(backend, offset, X, queries, query_index, k)


def _kth_distances_host(backend: Any, offset: int, X: Any, queries: np.ndarray, query_index: np.ndarray, k: int) -> np.ndarray:
    """NumPy data: KD-trees for dense data of few features, the blocked brute force otherwise."""
    import scipy.sparse as sp

    if not sp.issparse(X) and X.shape[1] <= _TREE_MAX_FEATURES:
        return _kth_distances_tree(X, queries, k)
    return _kth_distances_blocked(backend, offset, X, queries, query_index, k)


def _kth_distances_blocked(
    backend: Any, offset: int, X: Any, queries: np.ndarray, query_index: np.ndarray, k: int
) -> np.ndarray:
    """Any array module: blocks of squared distances, partially sorted."""
    xp = backend.xp
    best = np.full((len(queries), k), np.inf)
    # A row is its own first neighbour, at distance 0 (as DBSCAN's min_samples counts it).
    for _, sq in query_sq_distances(backend, offset, X, queries, query_index):
        take = min(k, sq.shape[1])
        part = backend.to_host(xp.sqrt(xp.partition(sq, take - 1, axis=1)[:, :take]))
        best = np.sort(np.concatenate([best, part], axis=1), axis=1)[:, :k]
    return best


def _kth_distances_tree(X: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """:func:`_kth_distances` with a KD-tree over each block of rows.

    A query that is a row of ``X`` finds itself at distance exactly 0, as in
    the brute-force path.
    """
    from sklearn.neighbors import KDTree

    queries = np.asarray(queries, dtype=np.float64)
    best = np.full((len(queries), k), np.inf)
    for a in range(0, X.shape[0], _TREE_BLOCK_ROWS):
        block = np.asarray(X[a : a + _TREE_BLOCK_ROWS], dtype=np.float64)
        take = min(k, block.shape[0])
        part, _ = KDTree(block).query(queries, k=take)
        best = np.sort(np.concatenate([best, part], axis=1), axis=1)[:, :k]
    return best


#: backend name -> how the k nearest distances of the queries are found in one block.
_KTH_DISTANCES = {"numpy": _kth_distances_host}


@dataclass
class EpsSuggestion:
    """Result of :func:`suggest_eps`."""

    eps: float
    k_distances: np.ndarray  #: sorted distance of each sampled row to its min_samples-th neighbour
    knee_index: int

    def plot(self, ax: Any = None) -> Any:
        """The sorted k-distance curve with its knee (needs matplotlib)."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5, 3.2))[1]
        ax.plot(self.k_distances)
        ax.axhline(self.eps, color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("sampled rows, sorted")
        ax.set_ylabel("distance to k-th neighbour")
        return ax


def suggest_eps(X: Any, min_samples: int, *, sample_size: int | None = 5_000, random_state: Any = 0) -> EpsSuggestion:
    """DBSCAN's eps from the knee of the k-distance curve.

    For ``sample_size`` rows drawn without replacement, the distance to the
    ``min_samples``-th nearest row of the *whole* data (the row itself counts,
    as in DBSCAN's ``min_samples``) is found in one blocked pass; the sorted
    curve's knee is the suggestion.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        NumPy, CuPy or Dask.
    min_samples : int
        DBSCAN's ``min_samples`` (at least 1, at most n_samples).
    sample_size : int or None, default=5000
        Rows whose k-distance is computed (``None``: all; capped at n).
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    EpsSuggestion
        ``eps``, the sorted ``k_distances`` curve, and the ``knee_index``.

    Notes
    -----
    Up to 16 features, a KD-tree per block of up to a million rows answers the
    queries: O(n log n) time; beyond, a blocked brute force: O(n · sample_size · d).
    Memory O(sample_size · min_samples) beyond one block (and its tree).
    """
    backend, X = check_X(_MetricInput(), X, reset=True)
    n = X.shape[0]
    if isinstance(min_samples, bool) or not isinstance(min_samples, (Integral, np.integer)) or not 1 <= min_samples <= n:
        raise ValueError(f"min_samples must be an int in [1, n_samples={n}]; got {min_samples!r}.")
    if sample_size is not None and (isinstance(sample_size, bool) or not isinstance(sample_size, (Integral, np.integer)) or sample_size < 2):
        raise ValueError(f"sample_size must be an int of at least 2 or None; got {sample_size!r}.")
    size = n if sample_size is None else min(sample_size, n)
    index = np.sort(check_random_state(random_state).choice(n, size=size, replace=False))
    rows = backend.take_rows(X, index)
    if backend.lazy:
        best = _merge_kth(backend, X, rows, index, min_samples)
    else:
        best = _kth_distances(backend, 0, X, rows, index, min_samples)
    curve = np.sort(best[:, min_samples - 1])
    if not np.isfinite(curve).all():
        raise ValueError(
            f"suggest_eps: X has fewer than min_samples={min_samples} rows near some sampled rows"
            " (infinite k-distance); lower min_samples."
        )
    knee = _knee(np.arange(len(curve), dtype=float), curve)
    if curve[knee] <= 0:
        # Piles of identical rows flatten the curve at 0, and DBSCAN refuses eps=0:
        # the smallest positive k-distance is the knee of what is left.
        positive = np.flatnonzero(curve > 0)
        if positive.size == 0:
            raise ValueError(
                f"suggest_eps: every sampled row has at least min_samples={min_samples} identical rows, so "
                "the k-distance curve is 0 everywhere and has no knee. Any eps > 0 joins each pile of "
                "identical rows; pick eps on the scale of the differences that matter in your data, "
                "or drop duplicates (with sample_weight counting them) first."
            )
        knee = int(positive[0] + _knee(np.arange(positive.size, dtype=float), curve[positive]))
    return EpsSuggestion(float(curve[knee]), curve, knee)


def _merge_kth(backend: Any, X: Any, rows: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    """Per-chunk k nearest distances on Dask, merged on the driver (only q × k travels)."""
    import dask

    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).tolist()
    task = dask.delayed(_kth_distances, pure=False)
    parts = dask.compute(*[task(backend.chunk, o, x, rows, index, k) for o, x in zip(offsets, X.to_delayed().ravel())])
    return np.sort(np.concatenate(parts, axis=1), axis=1)[:, :k]
