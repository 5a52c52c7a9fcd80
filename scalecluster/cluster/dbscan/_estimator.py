"""DBSCAN: one estimator for NumPy, CuPy and Dask inputs, in memory proportional to n; and :func:`dbscan`."""

from __future__ import annotations

import functools
import logging
import os
import warnings
from dataclasses import replace
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics.pairwise import _VALID_METRICS

from ..._config import config_context
from ..._param_validation import CALLABLE, NONE, Interval, Options, validate_params
from ..._validation import check_sample_weight, check_X
from ...backends import backend_name_of
from ._brute import BruteNeighbours
from ._chunked import chunked_dbscan
from ._grid import GRID_MAX_FEATURES, grid_dbscan, grid_fits
from ._plan import SearchPlan, plan_search
from ._precomputed import DensePrecomputed, SparsePrecomputed, check_precomputed
from ._tree import make_tree as tree_for
from ._tree import tree_dbscan

logger = logging.getLogger(__name__)

#: Metric names accepted, as scikit-learn's DBSCAN accepts them (besides callables).
METRICS = tuple(sorted(set(_VALID_METRICS) | {"precomputed"}))

#: Values of ``algorithm``: scikit-learn's, and the grid and "any tree" of ours.
ALGORITHMS = ("auto", "brute", "kd_tree", "ball_tree", "grid", "tree")


class _Dict:
    """Constraint: a dict (``metric_params``)."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, dict)

    def __str__(self) -> str:
        return "an instance of 'dict'"


class _NonZeroInt:
    """Constraint: an int other than 0 (``n_jobs``, as joblib reads it)."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, (Integral, np.integer)) and not isinstance(value, bool) and value != 0

    def __str__(self) -> str:
        return "a non-zero int"


def threads_for(n_jobs: int | None) -> int | None:
    """Threads for ``n_jobs`` as joblib counts them (-1: every core, -2: all but one); None: unchanged."""
    if n_jobs is None:
        return None
    if n_jobs > 0:
        return int(n_jobs)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores + 1 + int(n_jobs))


class DBSCAN(ClusterMixin, BaseEstimator):
    """Density-based clustering (DBSCAN) on NumPy, CuPy or Dask data.

    Gives scikit-learn's answer — the same core points, the same clusters,
    the same noise, and the same label for every point, border points
    included — without ever holding all neighbourhoods in memory:
    scikit-learn's DBSCAN stores every neighbourhood at once (memory
    n × mean neighbours), this one stays O(n) plus one bounded chunk.

    Parameters
    ----------
    eps : float, default=0.5
        Radius of a neighbourhood: two points are neighbours when their
        distance is at most ``eps``.
    min_samples : int, default=5
        A point is a core point when the weight of its neighbourhood (the
        point itself included) is at least ``min_samples``.
    metric : str or callable, default="euclidean"
        Distance, as in scikit-learn: any name
        :func:`sklearn.metrics.pairwise_distances` accepts, a callable taking
        two rows, or ``"precomputed"`` (``X`` is a square matrix of distances,
        dense or a sparse radius-neighbours graph; NumPy/SciPy only).  The
        grid needs Euclidean distance (``"minkowski"`` with ``p=2`` counts);
        other metrics use a tree or the brute force (see ``algorithm``).
    metric_params : dict, default=None
        Keyword arguments of the metric (e.g. ``{"p": 3}``, ``{"w": weights}``,
        ``{"V": covariance}``); ``p`` given here wins over ``p`` below.
    algorithm : {"auto", "grid", "kd_tree", "ball_tree", "tree", "brute"}, default="auto"
        How neighbours are found.  Every choice gives the same labels.

        * ``"grid"``: a uniform grid tied to ``eps``; cells are sorted so that
          a neighbourhood query reads a few contiguous slices of points, and a
          cell whose points are all within eps of each other is handled
          without pairwise distances. Fast while the ``3^(d-1)`` neighbouring
          columns of a cell stay few.  Euclidean distance, dense data.
        * ``"kd_tree"``, ``"ball_tree"``: scikit-learn's trees, queried in
          chunks that fit the working memory (a ball tree also takes callables).
        * ``"tree"``: a KD-tree when the metric allows it, else a ball tree
          (else the brute force, for metrics no tree takes).
        * ``"brute"``: scikit-learn's brute-force radius queries, in chunks:
          any metric, sparse rows.
        * ``"auto"``: the grid for Euclidean distance and at most
          8 features (the number of cells to visit grows as 3^d; up to 8-D
          the grid was measured faster than the tree), ``"tree"`` otherwise,
          and also when ``eps`` is so small against the data's range that the
          grid's cell keys would overflow 64 bits.  Sparse input always takes
          the brute force, as in scikit-learn (a tree asked for is refused
          with scikit-learn's warning).
    leaf_size : int, default=30
        Leaf size of the trees.
    p : float, default=None
        Power of the Minkowski metric (``None``: 2); ignored by other metrics.
        ``0 < p < 1`` is not a metric: the brute force runs it, with
        scikit-learn's warning.
    n_jobs : int, default=None
        Threads of this fit's in-memory work (the grid's kernels, tree
        queries): ``None`` keeps scalecluster's ``n_threads`` setting (every
        core by default), ``-1`` every core, ``-2`` all but one.  The brute
        force runs scikit-learn's own threads.  On Dask it is ignored: every
        task is single-threaded and Dask's workers are the parallelism.

    Attributes
    ----------
    labels_ : array of shape (n_samples,)
        Cluster of every point, -1 for noise (NumPy, CuPy, or a lazy Dask
        array chunked like ``X``'s rows). Clusters are numbered by their first
        core point in input order, as scikit-learn numbers them.
    core_sample_indices_ : ndarray of shape (n_core_samples,)
        Indices of the core points, ascending (NumPy for NumPy and Dask input,
        CuPy for CuPy input).
    components_ : array of shape (n_core_samples, n_features)
        The core points (the array type of ``X``; a CSR matrix for sparse
        ``X``, an empty dense array when there is no core point).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.

    Notes
    -----
    ``sample_weight`` must be non-negative (scikit-learn also accepts
    negative weights, which lower a neighbour's count; they are refused here
    because they would rule out the early exits that keep the grid fast).

    Memory: the grid holds a sorted copy of ``X`` and a few arrays of length
    n; the trees, the brute force and precomputed distances answer queries
    for chunks of points whose neighbourhoods fit the working memory
    (``scalecluster.config_context(working_memory=MiB)``).  No path builds an
    n × n array: the only one is a precomputed matrix the user gave (whose
    core points' rows ``components_`` copies, as in scikit-learn).

    CuPy input is clustered on its GPU by the grid's CUDA kernels
    (:mod:`._grid_cuda`), with the same result; what the tree or the brute
    force would take (other metrics, more than 8 features, an ``eps`` too
    small for the grid's keys) is copied to the host and back.  Precomputed
    distances and sparse matrices are NumPy/SciPy only.

    On Dask, the space is cut along one feature into slabs of about equal
    rows, never thinner than their halo of width 2·eps (the feature whose
    largest slab is smallest); each slab is clustered where its data lives
    together with its halo, and clusters that share core points across slab
    borders are merged on the client, which receives only pairs of cluster
    ids. The result equals the in-memory result for any chunking.  The halo
    holds every neighbour only for metrics never below the difference along
    one feature: the Minkowski family (Euclidean, Manhattan, Chebyshev,
    Minkowski with ``p >= 1``); other metrics are refused on Dask.

    Examples
    --------
    >>> import numpy as np
    >>> from scalecluster import DBSCAN
    >>> X = np.array([[1, 2], [2, 2], [2, 3], [8, 7], [8, 8], [25, 80]])
    >>> DBSCAN(eps=3, min_samples=2).fit(X).labels_
    array([ 0,  0,  0,  1,  1, -1])
    """

    _parameter_constraints: ClassVar[dict] = {
        "eps": [Interval(Real, 0.0, None, closed="neither")],
        "min_samples": [Interval(Integral, 1, None, closed="left")],
        "metric": [Options(*METRICS), CALLABLE],
        "metric_params": [_Dict(), NONE],
        "algorithm": [Options(*ALGORITHMS)],
        "leaf_size": [Interval(Integral, 1, None, closed="left")],
        "p": [Interval(Real, 0.0, None, closed="neither"), NONE],
        "n_jobs": [_NonZeroInt(), NONE],
    }

    def __init__(
        self,
        eps: float = 0.5,
        *,
        min_samples: int = 5,
        metric: Any = "euclidean",
        metric_params: dict | None = None,
        algorithm: str = "auto",
        leaf_size: int = 30,
        p: float | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.metric_params = metric_params
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.n_jobs = n_jobs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # SciPy sparse rows (brute force), or a sparse distance graph
        tags.input_tags.pairwise = isinstance(self.metric, str) and self.metric == "precomputed"
        return tags

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> DBSCAN:
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features), or (n_samples, n_samples)
            NumPy array, list, pandas DataFrame, SciPy sparse matrix (any
            format, converted to CSR as scikit-learn does), CuPy array, Dask
            array or Dask DataFrame; with ``metric="precomputed"``, the
            distances between samples (NumPy or SciPy sparse).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of every point; a point with weight at least
            ``min_samples`` is a core point by itself.

        Returns
        -------
        self : DBSCAN
        """
        validate_params(
            self._parameter_constraints,
            self.get_params(deep=False),
            type(self).__name__,
        )
        if not np.isfinite(self.eps):
            raise ValueError(f"The 'eps' parameter of DBSCAN must be finite. Got {self.eps!r} instead.")
        name = backend_name_of(X)
        if self.metric == "precomputed" and name != "numpy":
            raise TypeError(
                f"DBSCAN(metric='precomputed') takes a NumPy array or SciPy sparse matrix of distances; "
                f"X is a {_kind(name)}. Bring the matrix to the host (.get() for CuPy, .compute() for Dask), "
                "or pass the features with a metric instead."
            )
        backend, X = check_X(self, small_index_sparse(X), reset=True, accept_sparse=True)
        weights = None if sample_weight is None else check_sample_weight(backend, X, sample_weight)
        plan = self._plan(X.shape[1], sp.issparse(X))
        if plan.kind == "precomputed":
            check_precomputed(X)

        if backend.lazy:
            from ._dask import dask_dbscan

            if not plan.halo_safe:
                raise TypeError(
                    f"DBSCAN on a Dask array supports the Minkowski family of metrics (euclidean, manhattan, "
                    f"chebyshev, minkowski with p >= 1 and no weights); got metric={_metric_name(self.metric)}"
                    f"{'' if self.metric_params is None else f', metric_params={self.metric_params!r}'}: "
                    "only for those do the slabs' 2·eps halos hold every neighbour. Use one of them, or "
                    "compute X into memory (X.compute()) for this metric."
                )
            make_tree = functools.partial(
                tree_for, metric=plan.metric, p=None, leaf_size=self.leaf_size, metric_params=plan.params
            )
            slab = functools.partial(_SLABS.get(backend.name, _slab_on_the_host), self, backend.chunk)
            result = dask_dbscan(backend, X, weights, slab, make_tree, eps=float(self.eps))
            self.labels_, self.core_sample_indices_ = result
            self.components_ = X[self.core_sample_indices_]
            return self

        run = _IN_MEMORY.get(backend.name, _through_the_host)
        with config_context(n_threads=threads_for(self.n_jobs)):
            labels, core_index = run(self, backend, X, weights, plan)
        self.labels_ = labels
        self.core_sample_indices_ = core_index
        if sp.issparse(X) and core_index.size == 0:
            self.components_ = np.empty((0, X.shape[1]))  # as scikit-learn: a dense empty array
        else:
            self.components_ = X[self.core_sample_indices_]
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Cluster ``X`` and return ``labels_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features), or (n_samples, n_samples)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : array of shape (n_samples,)
            Cluster of every point, -1 for noise.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def _plan(self, n_features: int, sparse: bool = False) -> SearchPlan:
        """How this fit finds neighbours (:mod:`._plan`); warns and refuses as scikit-learn would."""
        return plan_search(
            metric=self.metric,
            p=self.p,
            metric_params=self.metric_params,
            algorithm=self.algorithm,
            leaf_size=self.leaf_size,
            n_features=n_features,
            sparse=sparse,
            grid_max_features=GRID_MAX_FEATURES,
        )

    def _quiet_plan(self, n_features: int) -> SearchPlan:
        """:meth:`_plan` for a Dask slab: its warnings were given once, at the door."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._plan(n_features)

    def _host_dbscan(self, X: Any, weights: np.ndarray | None, plan: SearchPlan | None = None):
        """(labels, core mask) of a NumPy array or SciPy CSR matrix, by the path of ``plan``."""
        if plan is None:
            plan = self._quiet_plan(X.shape[1])
        eps, min_samples = float(self.eps), float(self.min_samples)
        kind = plan.kind
        if kind == "auto-grid":
            kind = "grid" if grid_fits(X, eps) else "kd_tree"
            if kind != "grid":
                logger.info("DBSCAN: eps=%g is too small for a grid over this range; using the tree.", eps)
        elif kind == "grid" and not grid_fits(X, eps):
            raise ValueError(
                f"algorithm='grid' cannot index this data: eps={self.eps} is so small against the data's range "
                "that the cell keys overflow 64 bits. Use algorithm='tree' or 'auto'."
            )
        if kind == "grid":
            return grid_dbscan(X, weights, eps, min_samples)
        if kind in ("kd_tree", "ball_tree"):
            return tree_dbscan(X, weights, eps, min_samples, plan=replace(plan, kind=kind))
        if kind == "brute":
            return chunked_dbscan(BruteNeighbours(X, eps, plan), weights, min_samples)
        source = SparsePrecomputed(X, eps) if sp.issparse(X) else DensePrecomputed(X, eps)
        return chunked_dbscan(source, weights, min_samples)


def dbscan(
    X: Any,
    eps: float = 0.5,
    *,
    min_samples: int = 5,
    metric: Any = "minkowski",
    metric_params: dict | None = None,
    algorithm: str = "auto",
    leaf_size: int = 30,
    p: float | None = 2,
    sample_weight: Any = None,
    n_jobs: int | None = None,
) -> tuple[Any, Any]:
    """DBSCAN of ``X`` as a function: ``(core_sample_indices, labels)``, as :func:`sklearn.cluster.dbscan`.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features), or (n_samples, n_samples)
        As for :meth:`DBSCAN.fit` (distances with ``metric="precomputed"``).
    eps : float, default=0.5
    min_samples : int, default=5
    metric : str or callable, default="minkowski"
        With the default ``p=2``: Euclidean distance.
    metric_params : dict, default=None
    algorithm : {"auto", "grid", "kd_tree", "ball_tree", "tree", "brute"}, default="auto"
    leaf_size : int, default=30
    p : float, default=2
    sample_weight : array-like of shape (n_samples,), default=None
    n_jobs : int, default=None

    Returns
    -------
    core_samples : ndarray of shape (n_core_samples,)
        Indices of the core points (CuPy for CuPy input).
    labels : array of shape (n_samples,)
        Cluster of every point, -1 for noise (a lazy Dask array for Dask input).

    See Also
    --------
    DBSCAN : the estimator, with every parameter explained.
    """
    est = DBSCAN(
        eps=eps,
        min_samples=min_samples,
        metric=metric,
        metric_params=metric_params,
        algorithm=algorithm,
        leaf_size=leaf_size,
        p=p,
        n_jobs=n_jobs,
    )
    est.fit(X, sample_weight=sample_weight)
    return est.core_sample_indices_, est.labels_


def small_index_sparse(X: Any) -> Any:
    """A SciPy sparse ``X`` with 64-bit indices as CSR with 32-bit ones (when they fit), else ``X``.

    scikit-learn's graphs (``radius_neighbors_graph``) come with 64-bit indices,
    which the door (``check_X``) refuses.  The copy shares nothing the door may
    change: the indices are new, and the values are copied too unless already
    sorted (sorting permutes them in place).
    """
    if not sp.issparse(X) or X.format not in ("csr", "csc", "coo"):
        return X
    X = X.tocsr()
    if X.indices.dtype == np.int32 and X.indptr.dtype == np.int32:
        return X
    if max(X.nnz, X.shape[1]) >= 2**31:
        return X  # the door says why
    data = X.data if X.has_sorted_indices else X.data.copy()
    return sp.csr_matrix((data, X.indices.astype(np.int32), X.indptr.astype(np.int32)), shape=X.shape)


def _kind(name: str | None) -> str:
    return {"cupy": "CuPy array", "dask[numpy]": "Dask array", "dask[cupy]": "Dask array of CuPy chunks"}.get(
        str(name), str(name)
    )


def _metric_name(metric: Any) -> str:
    return getattr(metric, "__name__", repr(metric)) if callable(metric) else repr(metric)


def _on_the_host(est: DBSCAN, backend: Any, X: Any, weights: Any, plan: SearchPlan) -> tuple[Any, Any]:
    """NumPy data (dense or CSR): the grid's CPU kernels, a tree, the brute force or the distances given."""
    labels, core = est._host_dbscan(X, weights, plan)
    return labels, np.flatnonzero(core)


def _through_the_host(est: DBSCAN, backend: Any, X: Any, weights: Any, plan: SearchPlan) -> tuple[Any, Any]:
    """Other in-memory data: copied to the host, clustered there, results copied back."""
    # check_X has already refused NaN/inf on the device.
    logger.info("DBSCAN: %s input is clustered on the host.", backend.name)
    host_w = None if weights is None else backend.to_host(weights)
    labels, core = est._host_dbscan(backend.to_host(X), host_w, plan)
    return backend.from_host(labels), backend.from_host(np.flatnonzero(core))


def _on_the_device(est: DBSCAN, backend: Any, X: Any, weights: Any, plan: SearchPlan) -> tuple[Any, Any]:
    """CuPy data: the grid's CUDA kernels, on the device (:mod:`._grid_cuda`); the other paths through the host."""
    from ._grid_cuda import cuda_grid_dbscan, grid_fits_on_device

    if plan.kind not in ("grid", "auto-grid") or not grid_fits_on_device(backend, X, est.eps):
        # A tree, or keys that overflow: the host path chooses, logs or refuses as for NumPy.
        return _through_the_host(est, backend, X, weights, plan)
    labels, core = cuda_grid_dbscan(backend, X, weights, est.eps, float(est.min_samples))
    return labels, backend.xp.flatnonzero(core)


def _slab_on_the_host(est: DBSCAN, chunk: Any, X: np.ndarray, weights: np.ndarray | None) -> tuple:
    """One Dask slab (host arrays): the grid's CPU kernels, or a tree (or the brute force)."""
    return est._host_dbscan(X, weights)


def _slab_on_the_device(est: DBSCAN, chunk: Any, X: np.ndarray, weights: np.ndarray | None) -> tuple:
    """One slab of a Dask array of CuPy chunks: its rows to the GPU, the grid's CUDA kernels, results back.

    The slab merge runs on the host (see :mod:`._dask` for the cost); what the
    tree takes stays on the host.
    """
    plan = est._quiet_plan(X.shape[1])
    if plan.kind not in ("grid", "auto-grid") or not grid_fits(X, est.eps):
        return est._host_dbscan(X, weights, plan)  # it also logs or refuses as for in-memory data
    from ._grid_cuda import cuda_grid_dbscan

    w = None if weights is None else chunk.from_host(weights)
    labels, core = cuda_grid_dbscan(chunk, chunk.from_host(X), w, est.eps, float(est.min_samples))
    return chunk.to_host(labels), chunk.to_host(core)


#: backend name -> how in-memory data is clustered (Dask goes to the slabs of :mod:`._dask`).
_IN_MEMORY = {"numpy": _on_the_host, "cupy": _on_the_device}
#: Dask backend name -> how each slab (host rows) is clustered.
_SLABS = {"dask[cupy]": _slab_on_the_device}
