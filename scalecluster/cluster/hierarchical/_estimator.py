"""AgglomerativeClustering: exact when the rows fit, two-stage beyond, for NumPy, CuPy and Dask inputs."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_memory

from ..._param_validation import (
    BOOLEAN,
    NONE,
    RANDOM_STATE,
    Interval,
    Options,
    validate_params,
)
from ..._validation import check_X
from ...backends import Backend
from ._linkage import linkage_matrix
from ._micro import micro_clusters, relabel
from ._tree import cut, n_clusters_at

#: Attributes a fit may leave; those a new fit does not set are removed, so none is stale.
_FITTED = ("distances_", "micro_labels_", "micro_centers_", "micro_sizes_", "micro_inertia_", "micro_n_iter_")


class _Str:
    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str)

    def __str__(self) -> str:
        return "a str"


class _HasCache:
    def is_satisfied_by(self, value: Any) -> bool:
        return callable(getattr(value, "cache", None))

    def __str__(self) -> str:
        return "an object implementing 'cache'"


_STR, _HAS_CACHE = _Str(), _HasCache()  # the constraints of ``memory``, as scikit-learn's


class AgglomerativeClustering(ClusterMixin, BaseEstimator):
    """Hierarchical clustering at any scale: exact up to ``n_micro`` rows, two-stage beyond.

    Up to ``n_micro`` rows the tree is built on the rows themselves and equals
    scikit-learn's ``AgglomerativeClustering`` (and SciPy's ``linkage``): the
    same merges, the same heights, the same ``labels_``.  Beyond, where the
    O(n²) memory of the exact algorithm is out of reach, the data is first
    reduced to ``n_micro`` weighted micro-clusters by our KMeans on its own
    backend (NumPy, CuPy or Dask, in or out of core); the tree is built on
    those, each weighted by its number of rows; every row takes the label of
    its micro-cluster.

    Parameters
    ----------
    n_clusters : int or None, default=2
        Clusters to find; ``None`` when ``distance_threshold`` is given
        (exactly one of the two must be set).
    metric : {"euclidean", "l2"}, default="euclidean"
        Accepted for compatibility with scikit-learn; only Euclidean
        distances are implemented.
    memory : str, object with the joblib.Memory interface or None, default=None
        Caches the tree (the linkage step), as scikit-learn does: a string is
        the caching directory.  Beyond ``n_micro`` rows only the tree of the
        micro-clusters is cached, not the first stage.
    connectivity : None, default=None
        Accepted for compatibility with scikit-learn, which takes a
        connectivity matrix or callable here; connectivity constraints are
        not implemented, so any value other than ``None`` is refused with a
        ``ValueError``.
    compute_full_tree : "auto" or bool, default="auto"
        Accepted for compatibility with scikit-learn.  Without connectivity
        scikit-learn always builds the full tree, and so do we: the value
        does not change the result, but ``False`` with ``distance_threshold``
        is refused with a ``ValueError``, as in scikit-learn.
    linkage : {"ward", "average", "complete", "single"}, default="ward"
        Distance between clusters: Ward's increase of variance, the mean, the
        largest or the smallest distance between their points.  Beyond
        ``n_micro`` rows, see "What the two-stage mode approximates" below;
        ``"single"`` is refused there.
    distance_threshold : float or None, default=None
        Cut the tree where merges reach this height (merges at heights
        ``>= distance_threshold`` are undone), instead of at ``n_clusters``.
    compute_distances : bool, default=False
        Keep the merge heights in ``distances_`` even without
        ``distance_threshold`` (as scikit-learn; they cost nothing here, and
        ``linkage_matrix_`` always has them).
    n_micro : int, default=1000
        Largest number of rows clustered exactly, and the number of
        micro-clusters beyond.  It sets the memory of the linkage step:
        4 n_micro² bytes for ward, average and complete (4 MB at 1,000, 100 MB
        at 5,000), O(n_micro) for single.  Must be >= ``n_clusters``.
    micro_method : {"kmeans", "minibatch"}, default="kmeans"
        How the micro-clusters are found beyond ``n_micro`` rows:
        :class:`~scalecluster.KMeans` (k-means|| and Lloyd: a few passes over
        the data, on its backend) or :class:`~scalecluster.MiniBatchKMeans`
        (random batches; on Dask the chunks are streamed to the driver, so
        the data never has to fit in the cluster's memory).
    micro_max_iter : int, default=10
        Lloyd iterations (or MiniBatchKMeans epochs) of that first stage.
        Micro-clusters only have to be small and compact, not converged.
    random_state : int, RandomState instance or None, default=None
        Seed of the first stage; the exact path is deterministic.

    Attributes
    ----------
    labels_ : array of shape (n_samples,), intp
        Cluster of each row, in ``X``'s backend (a lazy Dask array for Dask input).
    n_clusters_ : int
        Clusters found (from ``distance_threshold`` when it is set).
    n_leaves_ : int
        Leaves of the tree: ``n_samples`` on the exact path, the (non-empty)
        micro-clusters on the two-stage path.
    children_ : ndarray of shape (n_leaves_ - 1, 2), intp
        Merge i joins ``children_[i]`` into node ``n_leaves_ + i``; values
        below ``n_leaves_`` are leaves (rows, or micro-clusters).
    distances_ : ndarray of shape (n_leaves_ - 1,), float64
        Height of each merge; only with ``distance_threshold`` or
        ``compute_distances=True``, as in scikit-learn.
    linkage_matrix_ : ndarray of shape (n_leaves_ - 1, 4), float64
        The tree in SciPy's format (``children_``, heights, leaves below each
        node), for ``scipy.cluster.hierarchy.dendrogram``, ``fcluster`` and
        friends.  On the two-stage path its leaves are micro-clusters:
        ``fcluster(model.linkage_matrix_, ...)[model.micro_labels_]`` labels
        the rows.
    n_connected_components_ : int
        Always 1 (no connectivity constraint).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` has string column names.
    micro_labels_ : array of shape (n_samples,), int32
        Two-stage path only: the micro-cluster (leaf) of each row, in ``X``'s backend.
    micro_centers_ : array of shape (n_leaves_, n_features)
        Two-stage path only: the leaves' centres, in ``X``'s dtype and chunk type.
    micro_sizes_ : ndarray of shape (n_leaves_,), float64
        Two-stage path only: rows in each leaf (the Ward weights).
    micro_inertia_ : float
        Two-stage path only: sum of squared distances of the rows to their
        micro-cluster's centre, the variance the tree does not see.
    micro_n_iter_ : int
        Two-stage path only: iterations (or epochs) of the first stage.

    Notes
    -----
    **Exact path** (n_samples <= ``n_micro``): ward, average and complete run
    the nearest-neighbour chain on the condensed distance matrix, as SciPy's
    ``linkage`` does, O(n²) time and 4 n² bytes; single linkage runs Prim's
    minimum spanning tree, as scikit-learn does, O(n² d) time and O(n) memory.
    The kernels follow SciPy's and scikit-learn's operation for operation,
    so even ties (duplicate rows) are broken the same way.

    **Two-stage path** (n_samples > ``n_micro``): time O(n · n_micro · d)
    per pass of the first stage (a few passes) plus O(n_micro²) for the
    tree; memory: the KMeans fit's (it never holds n × n_micro values),
    O(n) labels, and 4 n_micro² bytes for the tree.  On Dask, only the
    centres and their counts come to the driver; ``labels_`` stays
    distributed and lazy (the micro-cluster labels are persisted once).

    **What the two-stage mode approximates.** Each row is replaced by its
    micro-cluster's centre, weighted by the micro-cluster's size; the tree
    of those weighted centres is then exact:

    * ward: exactly Ward's hierarchy of the micro-clusters taken as groups.
      A height h means that merge added h²/2 to the within-cluster sum of
      squares, as on the exact path; ``micro_inertia_`` is the sum of squares
      inside the leaves that no merge accounts for.  What is approximated is
      only the first stage: rows are never split from their micro-cluster,
      so each of the ``n_clusters`` clusters is a union of micro-clusters.
    * average: the size-weighted mean of the distances between the centres
      of the two clusters' micro-clusters: average linkage of the data with
      every row moved to its centre.  It is smaller than the mean distance
      between the rows themselves (distances inside a micro-cluster count as 0).
    * complete: the largest distance between the two clusters' centres
      (sizes play no part); the largest distance between rows can exceed it
      by up to the two micro-clusters' radii.
    * single is refused: it follows chains of nearest rows, which
      micro-clusters erase, so its two-stage result would not approximate it.
      Raise ``n_micro`` to n_samples for the exact one (O(n) memory).

    Measured against exact scikit-learn on 20,000 rows of 10 Gaussian blobs
    in 8 dimensions, ``n_micro=1000``: adjusted Rand index of the cuts, the
    median over 3 seeds, or the range where seeds and the first-stage method
    disagree (``benchmarks/hierarchical_at_scale.py``):

    ===========  =========  =========  ==========  ==========
    linkage      2 clusters 5 clusters 10 clusters 20 clusters
    ===========  =========  =========  ==========  ==========
    ward         1.000      1.000      0.999       0.52
    average      1.000      1.000      0.998       0.99
    complete     0.04–1.0   0.65–1.0   0.999       0.66
    ===========  =========  =========  ==========  ==========

    At the blobs' own 10 clusters every linkage agrees with the exact tree
    (and both with the true blobs, ARI 0.999).  Ward's 20-cluster cut splits
    blobs along directions of little variance, which rows grouped ten at a
    time do not keep; complete linkage's top merges are near-ties between
    far-apart blobs, so which one wins depends on the seed.

    Examples
    --------
    >>> import numpy as np
    >>> from scalecluster import AgglomerativeClustering
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 4], [4, 0]])
    >>> model = AgglomerativeClustering().fit(X)
    >>> model.labels_
    array([1, 1, 1, 0, 0, 0])
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left"), NONE],
        "metric": [Options("euclidean", "l2")],
        "memory": [_STR, _HAS_CACHE, NONE],
        "connectivity": "no_validation",  # None only: refused in _check_settings, with the reason
        "compute_full_tree": [Options("auto"), BOOLEAN],
        "linkage": [Options("ward", "average", "complete", "single")],
        "distance_threshold": [Interval(Real, 0, None, closed="left"), NONE],
        "compute_distances": [BOOLEAN],
        "n_micro": [Interval(Integral, 2, None, closed="left")],
        "micro_method": [Options("kmeans", "minibatch")],
        "micro_max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": [RANDOM_STATE],
    }

    def __init__(
        self,
        n_clusters: int | None = 2,
        *,
        metric: str = "euclidean",
        memory: Any = None,
        connectivity: None = None,
        compute_full_tree: str | bool = "auto",
        linkage: str = "ward",
        distance_threshold: float | None = None,
        compute_distances: bool = False,
        n_micro: int = 1000,
        micro_method: str = "kmeans",
        micro_max_iter: int = 10,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.metric = metric
        self.memory = memory
        self.connectivity = connectivity
        self.compute_full_tree = compute_full_tree
        self.linkage = linkage
        self.distance_threshold = distance_threshold
        self.compute_distances = compute_distances
        self.n_micro = n_micro
        self.micro_method = micro_method
        self.micro_max_iter = micro_max_iter
        self.random_state = random_state

    def _check_settings(self) -> None:
        """The checks that involve several parameters (each alone was checked by its constraints)."""
        if self.connectivity is not None:
            raise ValueError(
                "connectivity constraints are not implemented in scalecluster's AgglomerativeClustering: "
                "connectivity must be None. Use sklearn.cluster.AgglomerativeClustering for a structured "
                f"(connectivity-constrained) tree. Got a {type(self.connectivity).__name__}."
            )
        if (self.n_clusters is None) == (self.distance_threshold is None):
            raise ValueError(
                "Exactly one of n_clusters and distance_threshold has to be set, and the other needs to be None. "
                f"Got n_clusters={self.n_clusters!r} and distance_threshold={self.distance_threshold!r}."
            )
        if self.distance_threshold is not None and not self.compute_full_tree:  # "auto" is True here
            raise ValueError("compute_full_tree must be True if distance_threshold is set.")
        if self.n_clusters is not None and self.n_micro < self.n_clusters:
            raise ValueError(
                f"n_micro={self.n_micro} should be >= n_clusters={self.n_clusters}: "
                "the clusters are unions of micro-clusters."
            )

    def _check_size(self, X: Any) -> None:
        n = X.shape[0]
        if n < 2:
            raise ValueError(
                f"Found array with {n} sample(s) (shape={tuple(X.shape)}) while a minimum of 2 is required by "
                f"{type(self).__name__}."
            )
        if self.n_clusters is not None and n < self.n_clusters:
            raise ValueError(f"n_samples={n} should be >= n_clusters={self.n_clusters}.")
        if n > self.n_micro and self.linkage == "single":
            raise ValueError(
                f"linkage='single' runs on the rows themselves only, so n_samples={n} must be <= n_micro={self.n_micro}: "
                "single linkage follows chains of nearest rows, which micro-clusters erase, so a two-stage result "
                "would not approximate it. Set n_micro >= n_samples for the exact tree (O(n) memory, O(n² d) time), "
                "or use linkage='ward', 'average' or 'complete'."
            )

    def fit(self, X: Any, y: Any = None) -> AgglomerativeClustering:
        """Build the tree and cut it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy array, list, pandas DataFrame, CuPy array, Dask array or
            Dask DataFrame.
        y : Ignored

        Returns
        -------
        self : AgglomerativeClustering
        """
        validate_params(self._parameter_constraints, self.get_params(deep=False), type(self).__name__)
        self._check_settings()
        memory = check_memory(self.memory)
        backend, X = check_X(self, X, reset=True, accept_sparse=False)
        self._check_size(X)
        for name in _FITTED:
            if hasattr(self, name):
                delattr(self, name)

        exact = X.shape[0] <= self.n_micro
        if exact:
            points, sizes = _rows_on_host(backend, X), np.ones(X.shape[0])
        else:
            micro = micro_clusters(backend, X, self.n_micro, self.micro_method, self.micro_max_iter, self.random_state)
            points, sizes = micro.centers, micro.sizes

        n_leaves = points.shape[0]
        Z = memory.cache(linkage_matrix)(points, sizes, self.linkage) if n_leaves > 1 else np.empty((0, 4))
        self.children_ = Z[:, :2].astype(np.intp)
        self.linkage_matrix_ = np.array(Z)  # a copy: a cached Z may be read-only (memory=Memory(mmap_mode="r"))
        self.linkage_matrix_[:, :2].sort(axis=1)  # SciPy's convention (single linkage's children_ keep sklearn's)
        self.n_leaves_ = n_leaves
        self.n_connected_components_ = 1
        if self.distance_threshold is not None or self.compute_distances:
            self.distances_ = Z[:, 2].copy()
        if self.distance_threshold is not None:
            self.n_clusters_ = n_clusters_at(Z[:, 2], self.distance_threshold)
        else:
            self.n_clusters_ = int(self.n_clusters)
        if self.n_clusters_ > n_leaves:  # two-stage only: fewer distinct rows than micro-clusters asked for
            warnings.warn(
                f"Number of distinct micro-clusters ({n_leaves}) found smaller than n_clusters ({self.n_clusters_}). "
                "Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
            self.n_clusters_ = n_leaves
        leaf_labels = cut(self.children_, n_leaves, self.n_clusters_)

        if exact:
            self.labels_ = _in_backend(backend, leaf_labels, X)
        else:
            self.labels_ = relabel(backend, micro.labels, leaf_labels)
            self.micro_labels_ = micro.labels
            self.micro_centers_ = backend.from_host(micro.centers.astype(X.dtype))
            self.micro_sizes_ = micro.sizes
            self.micro_inertia_ = micro.inertia
            self.micro_n_iter_ = micro.n_iter
        return self

    def fit_predict(self, X: Any, y: Any = None) -> Any:
        """Fit and return the cluster of each row (lazy on Dask)."""
        return self.fit(X).labels_


def _rows_on_host(backend: Backend, X: Any) -> np.ndarray:
    """The (at most ``n_micro``) rows as host float64, checked for NaN/inf where the door could not."""
    rows = np.ascontiguousarray(backend.to_host(X), dtype=np.float64)
    if backend.name != "numpy" and not np.isfinite(rows).all():  # a Dask input is checked only now it is loaded
        raise ValueError("Input X contains NaN or infinity.")
    return rows


def _in_backend(backend: Backend, labels: np.ndarray, X: Any) -> Any:
    """Host labels returned in ``X``'s backend: NumPy, CuPy, or a Dask array chunked like ``X``'s rows."""
    if backend.lazy:
        return backend.move_here(labels, "labels").rechunk((X.chunks[0],))
    return backend.from_host(labels)
