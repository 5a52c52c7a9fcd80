"""KMeans: one estimator for NumPy, CuPy and Dask inputs."""

from __future__ import annotations

import logging
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..._param_validation import ARRAY_LIKE, BOOLEAN, CALLABLE, RANDOM_STATE, Interval, Options, validate_params
from ..._validation import check_sample_weight, check_X
from ...backends import get_backend
from ._lloyd import LloydResult, lloyd
from ._ops import KMeansOps, kmeans_ops
from ._seeding import SeedingInfo, kmeans_parallel, kmeans_plusplus, random_centers


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-Means clustering on NumPy, CuPy or Dask data, seeded with k-means||.

    The same object fits a NumPy array (or SciPy CSR matrix, list, pandas
    DataFrame) on the CPU, a CuPy array on a GPU, and a Dask array or
    DataFrame on a Dask cluster.  Results mirror the input: NumPy in, NumPy
    out; CuPy in, CuPy out; Dask in, ``labels_`` is a lazy Dask array.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means||", "k-means++", "random"}, callable or array-like of shape (n_clusters, n_features), default="k-means||"
        How the initial centres are chosen.

        * ``"k-means||"``: scalable k-means++ (Bahmani et al., 2012): a few
          passes that each keep about ``oversampling_factor * n_clusters``
          rows, weighted by the rows they attract, clustered down to
          ``n_clusters``; the weighted candidates are clustered with several
          k-means++ and Lloyd trials and the best is kept (the candidates are
          few, so the trials cost little next to one pass over ``X``). Few
          passes, so it suits Dask.
        * ``"k-means++"``: greedy k-means++ as in scikit-learn; on the NumPy
          backend, scikit-learn's own code with the same random state.
        * ``"random"``: ``n_clusters`` rows drawn with probability ∝ weight.
        * a callable ``init(X, n_clusters, random_state)`` returning an array
          of shape (n_clusters, n_features), as in scikit-learn. It receives
          ``X`` as validated, in its backend's type (a Dask array for Dask
          input) and not centred (scikit-learn passes dense data centred on
          its mean), and the ``RandomState`` of the fit; its result may be
          of any backend and is moved to the host.
        * an array: the initial centres themselves.
    n_init : "auto" or int, default="auto"
        Runs with different seeds; the lowest inertia wins. ``"auto"`` is 1 for
        ``"k-means||"``, ``"k-means++"`` and an array, 10 for ``"random"`` and
        a callable.
    max_iter : int, default=300
        Maximum Lloyd iterations per run.
    tol : float, default=1e-4
        Relative tolerance: a run stops when the squared shift of the centres
        is at most ``tol`` times the mean per-feature variance of ``X``.
    oversampling_factor : float, default=2.0
        k-means||: expected candidates per round, as a multiple of ``n_clusters``.
    init_max_iter : int, default=5
        k-means||: number of sampling rounds (fewer if every row has become a
        candidate).
    verbose : int or bool, default=0
        Print scikit-learn's messages: "Initialization complete" after each
        seeding, the inertia of every iteration, and why the run stopped.
    random_state : int, RandomState instance or None, default=None
        Seed for the initialisation.
    copy_x : bool, default=True
        Accepted for compatibility with scikit-learn, and without effect:
        ``X`` is never modified (distances are computed from shifted centres,
        not from a centred copy of ``X``), so no copy is ever needed.
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Accepted for compatibility with scikit-learn. Both names run the same
        exact Lloyd iterations, so they give the same result (scikit-learn's
        own tests require its two algorithms to agree). Elkan's algorithm is
        not implemented: its bounds take n × k values, which no step of this
        library allocates (memory is bounded by design), and the fused Lloyd
        sweep of the CPU kernels was faster than scikit-learn's Elkan
        wherever we measured it (k from 16 to 256, 2 and 8 features). As in
        scikit-learn, ``"elkan"`` with one cluster warns that it makes no
        sense.
    persist : bool or "auto", default="auto"
        Dask only: keep ``X`` in the cluster's memory for the iterations
        (``True``), or re-read it from its source (e.g. Parquet) every pass
        (``False``: slower, but a fit never needs the data to fit in memory).
        ``"auto"`` persists unless ``X`` is larger than half of the memory of
        the cluster's workers, and logs the decision.

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
        Centres, in the dtype of ``X`` and the array type of its (chunks).
    labels_ : array of shape (n_samples,)
        Label of each row (a lazy Dask array for Dask input).
    inertia_ : float
        Sum of weighted squared distances of rows to their centre.
    n_iter_ : int
        Lloyd iterations of the best run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` has string column names.
    init_rounds_ : int
        k-means|| rounds run in the best run (0 for other inits).
    init_candidates_ : int
        Candidates k-means|| gathered in the best run (0 for other inits).

    Notes
    -----
    Time: O(n k d) per Lloyd iteration; k-means|| costs about one such pass per
    round against that round's ``oversampling_factor * k`` new candidates.
    Memory: no step holds n × k values; beyond ``X`` a fit keeps O(n) per-row
    values (labels, seeding distances) and O(k d) on the driver.

    On Dask, ``X`` is persisted once; each Lloyd iteration is one compute whose
    results are (k × d)-sized, plus one last pass for the final inertia.

    Examples
    --------
    >>> import numpy as np
    >>> from scalecluster import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [Options("k-means||", "k-means++", "random"), CALLABLE, ARRAY_LIKE],
        "n_init": [Options("auto"), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "oversampling_factor": [Interval(Real, 0, None, closed="neither")],
        "init_max_iter": [Interval(Integral, 1, None, closed="left")],
        "verbose": [Interval(Integral, 0, None, closed="left"), BOOLEAN],
        "random_state": [RANDOM_STATE],
        "copy_x": [BOOLEAN],
        "algorithm": [Options("lloyd", "elkan")],
        "persist": [Options("auto"), BOOLEAN],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | Any = "k-means||",
        n_init: str | int = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        oversampling_factor: float = 2.0,
        init_max_iter: int = 5,
        verbose: int = 0,
        random_state: Any = None,
        copy_x: bool = True,
        algorithm: str = "lloyd",
        persist: bool | str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.oversampling_factor = oversampling_factor
        self.init_max_iter = init_max_iter
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.persist = persist

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------------ fit
    def _as_centres(self, init: Any, n_features: int) -> np.ndarray:
        """Initial centres given as an array (or returned by a callable ``init``) as host float64, checked."""
        if sp.issparse(init):
            init = init.toarray()
        elif _array_module_name(init) not in (None, "numpy"):  # centres given on a GPU or as Dask
            init = get_backend(init).to_host(init)
        init = np.asarray(init, dtype=np.float64)
        if init.ndim != 2 or init.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {init.shape} does not match the number of clusters {self.n_clusters}."
            )
        if init.shape[1] != n_features:
            raise ValueError(
                f"The shape of the initial centers {init.shape} does not match the number of features of the data {n_features}."
            )
        if not np.isfinite(init).all():
            raise ValueError("The initial centers contain NaN or infinity.")
        return init

    def _explicit_init(self, n_features: int) -> np.ndarray | None:
        if isinstance(self.init, str) or callable(self.init):
            return None
        return self._as_centres(self.init, n_features)

    #: ``n_init="auto"`` for ``"random"`` and a callable ``init`` (scikit-learn's: 10 for KMeans).
    _default_n_init = 10

    def _resolved_n_init(self, explicit: np.ndarray | None) -> int:
        if explicit is not None:
            if self.n_init != "auto" and self.n_init != 1:
                warnings.warn(
                    "Explicit initial center position passed: performing only one init in "
                    f"{type(self).__name__} instead of n_init={self.n_init}.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return 1
        if self.n_init == "auto":
            return self._default_n_init if self.init == "random" or callable(self.init) else 1
        return int(self.n_init)

    def _seed(
        self, ops: KMeansOps, X: Any, weights: Any, rng: np.random.RandomState, explicit: Any, data_rows: int | None = None
    ) -> tuple[np.ndarray, SeedingInfo]:
        """Initial centres (host float64) for one run; ``data_rows``: see :func:`._seeding.kmeans_parallel`."""
        if explicit is not None:
            return explicit, SeedingInfo()
        if callable(self.init):
            # As scikit-learn: init(X, n_clusters, random_state=...), then checked like an array.
            return self._as_centres(self.init(X, self.n_clusters, random_state=rng), X.shape[1]), SeedingInfo()
        if self.init == "k-means++":
            return kmeans_plusplus(ops, X, weights, self.n_clusters, rng), SeedingInfo()
        if self.init == "random":
            return random_centers(ops, X, weights, self.n_clusters, rng), SeedingInfo()
        return kmeans_parallel(
            ops,
            X,
            weights,
            self.n_clusters,
            rng,
            oversampling_factor=self.oversampling_factor,
            n_rounds=self.init_max_iter,
            data_rows=data_rows,
        )

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "KMeans":
        """Compute k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy array, list, pandas DataFrame, SciPy CSR matrix, CuPy array,
            Dask array or Dask DataFrame.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows (same backend as ``X``; NumPy is accepted
            beside Dask).

        Returns
        -------
        self : KMeans
        """
        validate_params(self._parameter_constraints, self.get_params(deep=False), type(self).__name__)
        backend, X = check_X(self, X, reset=True)
        n_samples, n_features = X.shape
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        weights = check_sample_weight(backend, X, sample_weight)
        explicit = self._explicit_init(n_features)
        n_init = self._n_init = self._resolved_n_init(explicit)
        if self.algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
                stacklevel=2,
            )

        persist = _should_persist(X, self.persist) if backend.lazy else True
        X, weights, summary = backend.describe(X, weights, need_variance=self.tol > 0, persist=persist)
        if summary is None:  # streamed from its source: one pass for the checks
            summary = backend.block_stats(X, spread=self.tol > 0)
        summary.check(X.dtype)  # NaN/inf, or a range whose squared distances overflow
        tol = self.tol * summary.mean_variance if self.tol > 0 else 0.0

        ops = kmeans_ops(backend)
        rng = check_random_state(self.random_state)
        best: LloydResult | None = None
        best_info = SeedingInfo()
        with ops.resident(X, weights):  # on a Dask cluster: one actor per worker for the whole fit
            for _ in range(n_init):
                centers, info = self._seed(ops, X, weights, rng, explicit)
                if self.verbose:
                    print("Initialization complete")
                result = lloyd(ops, X, weights, centers, max_iter=self.max_iter, tol=tol, verbose=self.verbose)
                if best is None or result.inertia < best.inertia:
                    best, best_info = result, info

        distinct = int(np.count_nonzero(best.weight_sums > 0))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({self.n_clusters}). "
                "Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = backend.from_host(best.centers.astype(X.dtype))
        self.labels_ = best.labels
        self.inertia_ = float(best.inertia)
        self.n_iter_ = best.n_iter
        self.init_rounds_ = best_info.rounds
        self.init_candidates_ = best_info.candidates
        self._n_features_out = self.cluster_centers_.shape[0]
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit and return the label of each row (lazy on Dask)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    # ------------------------------------------------------- after the fit
    def _host_centers(self) -> np.ndarray:
        return np.asarray(get_backend(self.cluster_centers_).to_host(self.cluster_centers_), dtype=np.float64)

    def predict(self, X: Any) -> Any:
        """Index of the nearest centre of each row of ``X`` (lazy on Dask).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : array of shape (n_samples,), int32, of ``X``'s backend
        """
        check_is_fitted(self)
        backend, X = check_X(self, X, reset=False)
        centers = self._host_centers()
        return kmeans_ops(backend).labels(self._checked(backend, X, centers), centers)

    def transform(self, X: Any) -> Any:
        """Euclidean distance of each row to each centre, shape (n_samples, n_clusters).

        This output is n × k by definition: on Dask it stays lazy and chunked.
        As in scikit-learn, it is float32 only when both ``X`` and the centres
        are float32, float64 otherwise (float32 rows on a float64 model are
        measured in float64).
        """
        check_is_fitted(self)
        backend, X = check_X(self, X, reset=False)
        centers = self._host_centers()
        dtype = np.result_type(X.dtype, self.cluster_centers_.dtype)
        if X.dtype != dtype:
            X = X.astype(dtype)
        return kmeans_ops(backend).distances(self._checked(backend, X, centers), centers)

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit, then return the distances of ``X`` to the centres."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the inertia of ``X`` on the fitted centres (higher is better)."""
        check_is_fitted(self)
        backend, X = check_X(self, X, reset=False)
        weights = check_sample_weight(backend, X, sample_weight)
        centers = self._host_centers()
        return -kmeans_ops(backend).accumulate(self._checked(backend, X, centers), weights, centers).inertia

    @staticmethod
    def _checked(backend: Any, X: Any, centers: np.ndarray) -> Any:
        """``X`` after a range check against the centres (squared distances must not overflow).

        In memory it is one min/max pass; on Dask the check runs inside the
        tasks that read each block (see ``_ops_dask``), with the NaN check that
        a lazy input could not get at the door.
        """
        if not backend.lazy:
            backend.check_range(X, points=centers)
        return X


logger = logging.getLogger("scalecluster")

#: "auto" persists data up to this fraction of the workers' total memory limit.
_PERSIST_FRACTION = 0.5


def _cluster_memory_bytes() -> float | None:
    """Total memory limit of the distributed cluster computing now (None: no such cluster or no limit)."""
    from ...backends.dask_backend import active_distributed_client

    client = active_distributed_client()
    if client is None:
        return None
    limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
    return float(sum(limits)) or None


def _should_persist(X: Any, setting: bool | str) -> bool:
    if setting != "auto":
        if not setting:
            logger.info("persist=False: every pass re-reads X (%.3g GiB) from its source.", X.nbytes / 2**30)
        return bool(setting)
    memory = _cluster_memory_bytes()
    if memory is None or X.nbytes <= _PERSIST_FRACTION * memory:
        return True
    logger.warning(
        "X (%.3g GiB) is larger than half of the cluster's memory (%.3g GiB): not persisting it; "
        "every Lloyd iteration re-reads it from its source.",
        X.nbytes / 2**30,
        memory / 2**30,
    )
    return False


def _array_module_name(obj: Any) -> str | None:
    try:
        return get_backend(obj).name
    except TypeError:
        return None
