"""DBSCAN: one estimator for NumPy, CuPy and Dask inputs, in memory proportional to n."""

from __future__ import annotations

import functools
import logging
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from ..._param_validation import NONE, Interval, Options, validate_params
from ..._validation import check_sample_weight, check_X
from ._grid import GRID_MAX_FEATURES, grid_dbscan, grid_fits
from ._tree import make_tree as tree_for
from ._tree import tree_dbscan

logger = logging.getLogger(__name__)

#: Metrics the tree path supports (scikit-learn's KD-tree metrics); the grid needs Euclidean.
METRICS = ("euclidean", "manhattan", "chebyshev", "minkowski")

#: Beyond this many features a forced ``algorithm="grid"`` is refused: 3^(d-1)
#: neighbour columns per cell (19 683 at d = 10) would make it hopeless.
_GRID_FORCED_MAX_FEATURES = 10


class DBSCAN(ClusterMixin, BaseEstimator):
    """Density-based clustering (DBSCAN) on NumPy, CuPy or Dask data.

    Gives scikit-learn's answer — the same core points, the same clusters,
    the same noise, and the same label for every point, border points
    included — without ever holding all neighbourhoods in memory:
    scikit-learn's DBSCAN stores every neighbourhood at once (memory
    n × mean neighbours), this one stays O(n).

    Parameters
    ----------
    eps : float, default=0.5
        Radius of a neighbourhood: two points are neighbours when their
        distance is at most ``eps``.
    min_samples : int, default=5
        A point is a core point when the weight of its neighbourhood (the
        point itself included) is at least ``min_samples``.
    metric : {"euclidean", "manhattan", "chebyshev", "minkowski"}, default="euclidean"
        Distance. The grid needs Euclidean distance (``"minkowski"`` with
        ``p=2`` counts); the others use the tree path.
    algorithm : {"auto", "grid", "tree"}, default="auto"
        How neighbours are found.

        * ``"grid"``: a uniform grid tied to ``eps``; cells are sorted so that
          a neighbourhood query reads a few contiguous slices of points, and a
          cell whose points are all within eps of each other is handled
          without pairwise distances. Fast while the ``3^(d-1)`` neighbouring
          columns of a cell stay few.
        * ``"tree"``: scikit-learn's KD-tree (ball tree for other metrics),
          queried in chunks that fit the working memory.
        * ``"auto"``: the grid for Euclidean distance and at most
          8 features (the number of cells to visit grows as 3^d; up to 8-D
          the grid was measured faster than the tree), the tree otherwise,
          and also when ``eps`` is so
          small against the data's range that the grid's cell keys would
          overflow 64 bits.
    leaf_size : int, default=30
        Leaf size of the tree (tree path only).
    p : float, default=None
        Power of the Minkowski metric (``None``: 2).

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
        The core points (the array type of ``X``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.

    Notes
    -----
    ``sample_weight`` must be non-negative (scikit-learn also accepts
    negative weights, which lower a neighbour's count; they are refused here
    because they would rule out the early exits that keep the grid fast).

    CuPy input is clustered on its GPU by the grid's CUDA kernels
    (:mod:`._grid_cuda`), with the same result; what the tree would take
    (other metrics, more than 8 features, an ``eps`` too small for the
    grid's keys) is copied to the host and back.

    On Dask, the space is cut along one feature into slabs of about equal
    rows, never thinner than their halo of width 2·eps (the feature whose
    largest slab is smallest); each slab is clustered where its data lives
    together with its halo, and clusters that share core points across slab
    borders are merged on the client, which receives only pairs of cluster
    ids. The result equals the in-memory result for any chunking.

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
        "metric": [Options(*METRICS)],
        "algorithm": [Options("auto", "grid", "tree")],
        "leaf_size": [Interval(Integral, 1, None, closed="left")],
        "p": [Interval(Real, 1.0, None, closed="left"), NONE],
    }

    def __init__(
        self,
        eps: float = 0.5,
        *,
        min_samples: int = 5,
        metric: str = "euclidean",
        algorithm: str = "auto",
        leaf_size: int = 30,
        p: float | None = None,
    ) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> DBSCAN:
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy array, list, pandas DataFrame, CuPy array, Dask array or Dask
            DataFrame. Sparse matrices are not accepted.
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
        backend, X = check_X(self, X, reset=True, accept_sparse=False)
        weights = None if sample_weight is None else check_sample_weight(backend, X, sample_weight)
        use_grid = self._use_grid(X.shape[1])

        if backend.lazy:
            from ._dask import dask_dbscan

            make_tree = functools.partial(tree_for, metric=self.metric, p=self.p, leaf_size=self.leaf_size)
            slab = functools.partial(_SLABS.get(backend.name, _slab_on_the_host), self, backend.chunk)
            result = dask_dbscan(backend, X, weights, slab, make_tree, eps=float(self.eps))
            self.labels_, self.core_sample_indices_ = result
            self.components_ = X[self.core_sample_indices_]
            return self

        run = _IN_MEMORY.get(backend.name, _through_the_host)
        labels, core_index = run(self, backend, X, weights, use_grid)
        self.labels_ = labels
        self.core_sample_indices_ = core_index
        self.components_ = X[self.core_sample_indices_]
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Cluster ``X`` and return ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : array of shape (n_samples,)
            Cluster of every point, -1 for noise.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def _use_grid(self, n_features: int) -> bool | None:
        """True/False when decided by the parameters, None when the data decides (auto)."""
        euclidean = self.metric == "euclidean" or (self.metric == "minkowski" and self.p in (None, 2))
        if self.algorithm == "tree":
            return False
        if self.algorithm == "grid":
            if not euclidean:
                raise ValueError(
                    f"algorithm='grid' needs the Euclidean metric; got metric={self.metric!r}"
                    + (f", p={self.p!r}" if self.p is not None else "")
                    + ". Use algorithm='tree' or 'auto'."
                )
            if n_features > _GRID_FORCED_MAX_FEATURES:
                raise ValueError(
                    f"algorithm='grid' supports at most {_GRID_FORCED_MAX_FEATURES} features (3^(d-1) neighbour "
                    f"columns per cell); X has {n_features}. Use algorithm='tree' or 'auto'."
                )
            return True
        if not euclidean or n_features > GRID_MAX_FEATURES:
            return False
        return None

    def _host_dbscan(self, X: np.ndarray, weights: np.ndarray | None, use_grid: bool | None = None):
        """(labels, core mask) of a NumPy array, on the grid or the tree."""
        if use_grid is None:
            use_grid = self._use_grid(X.shape[1])
        if use_grid is None:
            use_grid = grid_fits(X, self.eps)
            if not use_grid:
                logger.info(
                    "DBSCAN: eps=%g is too small for a grid over this range; using the tree.",
                    self.eps,
                )
        elif use_grid and not grid_fits(X, self.eps):
            raise ValueError(
                f"algorithm='grid' cannot index this data: eps={self.eps} is so small against the data's range "
                "that the cell keys overflow 64 bits. Use algorithm='tree' or 'auto'."
            )
        min_samples = float(self.min_samples)
        if use_grid:
            return grid_dbscan(X, weights, self.eps, min_samples)
        return tree_dbscan(
            X,
            weights,
            self.eps,
            min_samples,
            metric=self.metric,
            p=self.p,
            leaf_size=self.leaf_size,
        )


def _on_the_host(est: DBSCAN, backend: Any, X: Any, weights: Any, use_grid: bool | None) -> tuple[Any, Any]:
    """NumPy data: the grid's CPU kernels (or the tree), in place."""
    labels, core = est._host_dbscan(X, weights, use_grid)
    return labels, np.flatnonzero(core)


def _through_the_host(est: DBSCAN, backend: Any, X: Any, weights: Any, use_grid: bool | None) -> tuple[Any, Any]:
    """Other in-memory data: copied to the host, clustered there, results copied back."""
    # check_X has already refused NaN/inf on the device.
    logger.info("DBSCAN: %s input is clustered on the host.", backend.name)
    host_w = None if weights is None else backend.to_host(weights)
    labels, core = est._host_dbscan(backend.to_host(X), host_w, use_grid)
    return backend.from_host(labels), backend.from_host(np.flatnonzero(core))


def _on_the_device(est: DBSCAN, backend: Any, X: Any, weights: Any, use_grid: bool | None) -> tuple[Any, Any]:
    """CuPy data: the grid's CUDA kernels, on the device (:mod:`._grid_cuda`); the tree's cases through the host."""
    from ._grid_cuda import cuda_grid_dbscan, grid_fits_on_device

    if use_grid is False or not grid_fits_on_device(backend, X, est.eps):
        # The tree, or keys that overflow: the host path chooses, logs or refuses as for NumPy.
        return _through_the_host(est, backend, X, weights, use_grid)
    labels, core = cuda_grid_dbscan(backend, X, weights, est.eps, float(est.min_samples))
    return labels, backend.xp.flatnonzero(core)


def _slab_on_the_host(est: DBSCAN, chunk: Any, X: np.ndarray, weights: np.ndarray | None) -> tuple:
    """One Dask slab (host arrays): the grid's CPU kernels, or the tree."""
    return est._host_dbscan(X, weights)


def _slab_on_the_device(est: DBSCAN, chunk: Any, X: np.ndarray, weights: np.ndarray | None) -> tuple:
    """One slab of a Dask array of CuPy chunks: its rows to the GPU, the grid's CUDA kernels, results back.

    The slab merge runs on the host (see :mod:`._dask` for the cost); what the
    tree takes stays on the host.
    """
    if est._use_grid(X.shape[1]) is False or not grid_fits(X, est.eps):
        return est._host_dbscan(X, weights)  # it also logs or refuses as for in-memory data
    from ._grid_cuda import cuda_grid_dbscan

    w = None if weights is None else chunk.from_host(weights)
    labels, core = cuda_grid_dbscan(chunk, chunk.from_host(X), w, est.eps, float(est.min_samples))
    return chunk.to_host(labels), chunk.to_host(core)


#: backend name -> how in-memory data is clustered (Dask goes to the slabs of :mod:`._dask`).
_IN_MEMORY = {"numpy": _on_the_host, "cupy": _on_the_device}
#: Dask backend name -> how each slab (host rows) is clustered.
_SLABS = {"dask[cupy]": _slab_on_the_device}
