"""The first stage beyond ``n_micro`` rows: reduce the data to weighted micro-clusters, on any backend.

Our :class:`~scalecluster.KMeans` (or :class:`~scalecluster.MiniBatchKMeans`)
runs with ``n_micro`` centres on the data where it lives (NumPy, CuPy, a
Dask array, persisted or streamed), and its final assignment to the nearest
centre, computed in row blocks by the KMeans operations, gives each row its
micro-cluster.  Only the centres and their row counts, O(n_micro · d), come
to the host for the linkage; the per-row labels stay in the data's backend
(distributed, on Dask) and are relabelled there, by a lookup table of
``n_micro`` entries.

Nothing here holds n × n_micro values: the assignment is blocked (see
:mod:`scalecluster.cluster.kmeans`), and the rest is O(n) integers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ...backends import Backend
from ..kmeans import KMeans, MiniBatchKMeans


@dataclass
class MicroClusters:
    """What the first stage hands to the linkage (host) and to the labelling (backend)."""

    centers: np.ndarray  #: (m, d) float64, host: the non-empty micro-clusters' centres
    sizes: np.ndarray  #: (m,) float64, host: rows in each
    labels: Any  #: (n,) int32 in the backend's type (lazy on Dask): micro-cluster of each row, 0..m-1
    n_iter: int  #: Lloyd iterations (KMeans) or epochs (MiniBatchKMeans) run
    inertia: float  #: sum of squared distances of rows to their micro-cluster's centre


def micro_clusters(
    backend: Backend, X: Any, n_micro: int, method: str, max_iter: int, random_state: Any
) -> MicroClusters:
    """Reduce ``X`` to at most ``n_micro`` weighted micro-clusters.

    Parameters
    ----------
    backend : Backend
        The backend of ``X`` (found once, at the door).
    X : array of the backend, shape (n, d), n > n_micro
        Validated by the estimator (on Dask, NaN/inf are caught by the
        KMeans fit's loading pass).
    n_micro : int
    method : {"kmeans", "minibatch"}
        KMeans (k-means|| and Lloyd, a few passes over the data) or
        MiniBatchKMeans (on Dask: chunks streamed to the driver).
    max_iter : int
        Lloyd iterations, or MiniBatchKMeans epochs: micro-clusters only
        need to be compact, not converged.
    random_state : int, RandomState or None

    Returns
    -------
    MicroClusters
        Empty micro-clusters (possible with duplicate rows) are dropped and
        the labels renumbered, so every leaf holds at least one row.

    Notes
    -----
    Time: the KMeans fit, O(n · n_micro · d) per pass.  Memory: the KMeans
    fit's (no n × n_micro array), plus O(n) labels.
    """
    if method == "kmeans":
        model = KMeans(n_clusters=n_micro, n_init=1, max_iter=max_iter, random_state=random_state)
    else:
        # Batches a few times larger than the number of centres, so that most
        # centres receive rows in every step.
        model = MiniBatchKMeans(
            n_clusters=n_micro, max_iter=max_iter, batch_size=max(1024, 4 * n_micro), random_state=random_state
        )
    with warnings.catch_warnings():
        # Too few distinct rows for n_micro centres is not a failure here: the
        # empty micro-clusters are dropped below, and the estimator warns in its own terms.
        warnings.filterwarnings("ignore", message="Number of distinct clusters", category=ConvergenceWarning)
        model.fit(X)
    labels, counts = _counted(backend, model.labels_, n_micro)
    filled = counts > 0
    centers = np.asarray(backend.to_host(model.cluster_centers_), dtype=np.float64)[filled]
    if not filled.all():
        labels = relabel(backend, labels, (np.cumsum(filled) - 1).astype(np.int32))
    return MicroClusters(centers, counts[filled], labels, int(model.n_iter_), float(model.inertia_))


def _counted(backend: Backend, labels: Any, k: int) -> tuple[Any, np.ndarray]:
    """The labels (persisted, on Dask) and the rows per micro-cluster (host float64)."""
    if backend.lazy:
        import dask.array as da

        # Persisted, so that the count and every later use of labels_ share
        # one assignment pass (n int32 on the workers, an eighth of 8 float32 features).
        labels = labels.persist()
        return labels, np.asarray(backend.to_host(da.bincount(labels, minlength=k)), dtype=np.float64)
    return labels, np.asarray(backend.to_host(backend.xp.bincount(labels, minlength=k)), dtype=np.float64)


def relabel(backend: Backend, labels: Any, table: np.ndarray) -> Any:
    """``table[labels]`` in the backend of ``labels`` (lazily, block by block, on Dask).

    ``table`` is a small host array (one entry per micro-cluster); it is
    moved once to where the labels live.
    """
    table = backend.from_host(table)
    if backend.lazy:
        meta = backend.xp.empty((0,), dtype=table.dtype)
        return labels.map_blocks(_lookup, table, dtype=table.dtype, meta=meta)
    return table[labels]


def _lookup(block: Any, table: Any) -> Any:
    return table[block]
