"""Which neighbour search a DBSCAN fit runs: the metric resolved as scikit-learn resolves it, and the path.

scikit-learn's DBSCAN hands ``metric``, ``p``, ``metric_params`` and
``algorithm`` to :class:`sklearn.neighbors.NearestNeighbors`; this module
makes the same decisions once, at the start of ``fit``, so that the labels are
the same whichever path runs:

* ``metric="minkowski"`` becomes ``"euclidean"`` (p = 2), ``"manhattan"``
  (p = 1) or ``"chebyshev"`` (p = inf) without weights ``w``; ``p`` inside
  ``metric_params`` wins over ``p`` (with scikit-learn's ``SyntaxWarning``
  when both are given); other metrics ignore ``p``.
* the path: ``"grid"`` (Euclidean, dense), ``"kd_tree"``, ``"ball_tree"``,
  ``"brute"`` (scikit-learn's brute force: any metric it accepts, callables,
  sparse input) or ``"precomputed"``.  ``algorithm="auto"`` takes the grid for
  Euclidean distance up to :data:`~._grid.GRID_MAX_FEATURES` features, then a
  KD-tree when the metric allows it, a ball tree for the ball tree's metrics
  and callables, and the brute force otherwise (and always for sparse input,
  as scikit-learn does).  ``"tree"`` is ``"auto"`` without the grid.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from sklearn.neighbors import BallTree, KDTree

#: Metrics whose distance is never below the difference along one feature, so a
#: slab with a halo of 2·eps along that feature holds every neighbour (Dask).
HALO_METRICS = ("euclidean", "l2", "manhattan", "cityblock", "l1", "chebyshev", "infinity", "minkowski")

#: Beyond this many features a forced ``algorithm="grid"`` is refused: 3^(d-1)
#: neighbour columns per cell (19 683 at d = 10) would make it hopeless.
GRID_FORCED_MAX_FEATURES = 10


@dataclass(frozen=True)
class SearchPlan:
    """How neighbours are found: ``kind`` and the resolved metric (trusted by the paths)."""

    kind: str  #: "grid", "auto-grid" (the grid if its keys fit, else a KD-tree), "kd_tree", "ball_tree", "brute", "precomputed"
    metric: Any  #: resolved metric name, or a callable
    params: dict = field(default_factory=dict)  #: resolved metric parameters (``p``, ``w``, ``V`` …)
    leaf_size: int = 30

    @property
    def euclidean(self) -> bool:
        return self.metric in ("euclidean", "l2") and not self.params

    @property
    def halo_safe(self) -> bool:
        """Whether the Dask slabs may run this metric (see :data:`HALO_METRICS`)."""
        if not isinstance(self.metric, str) or self.metric not in HALO_METRICS:
            return False
        if set(self.params) - {"p"}:
            return False  # weights w may shrink a feature's share of the distance
        return float(self.params.get("p", 2.0)) >= 1.0


def resolve_metric(metric: Any, p: float | None, metric_params: dict | None) -> tuple[Any, dict]:
    """``(metric, params)`` as :class:`sklearn.neighbors.NearestNeighbors` resolves them."""
    params = {} if metric_params is None else dict(metric_params)
    if metric_params is not None and "p" in metric_params and p is not None:
        warnings.warn(
            "Parameter p is found in metric_params. The corresponding parameter from __init__ is ignored.",
            SyntaxWarning,
            stacklevel=5,
        )
    if not (isinstance(metric, str) and metric == "minkowski"):
        return metric, params
    power = params.pop("p", p)
    power = 2.0 if power is None else float(power)
    weights = params.pop("w", None)
    if weights is None:
        named = {1.0: "manhattan", 2.0: "euclidean", math.inf: "chebyshev"}.get(power)
        if named is not None:
            return named, params
    params["p"] = power
    if weights is not None:
        params["w"] = weights
    return "minkowski", params


def _name(metric: Any) -> str:
    return getattr(metric, "__name__", repr(metric)) if callable(metric) else repr(metric)


def plan_search(
    *,
    metric: Any,
    p: float | None,
    metric_params: dict | None,
    algorithm: str,
    leaf_size: int,
    n_features: int,
    sparse: bool,
    grid_max_features: int,
) -> SearchPlan:
    """The :class:`SearchPlan` of a fit, or a ``ValueError`` naming the parameters that cannot go together."""
    if metric == "precomputed":
        if algorithm not in ("auto", "brute"):
            raise ValueError(
                f"The 'algorithm' parameter of DBSCAN must be 'auto' or 'brute' with metric='precomputed' "
                f"(X holds the distances: there is nothing to index). Got {algorithm!r} instead."
            )
        return SearchPlan("precomputed", "precomputed", leaf_size=leaf_size)
    resolved, params = resolve_metric(metric, p, metric_params)
    plan = SearchPlan("brute", resolved, params, leaf_size)
    small_p = resolved == "minkowski" and params.get("p", 2.0) < 1
    weighted = resolved == "minkowski" and "w" in params
    if sparse:
        if algorithm == "grid":
            raise ValueError(
                "algorithm='grid' needs dense X; X is a sparse matrix. Use algorithm='auto' or 'brute' "
                "(scikit-learn's brute force, which takes sparse rows), or X.toarray() if it fits in memory."
            )
        if algorithm in ("kd_tree", "ball_tree", "tree"):
            warnings.warn("cannot use tree with sparse input: using brute force", stacklevel=4)
        return plan
    if algorithm == "grid":
        if not plan.euclidean:
            extra = f", p={p!r}" if p is not None else ""
            raise ValueError(
                f"algorithm='grid' needs the Euclidean metric; got metric={_name(metric)}{extra}. "
                "Use algorithm='tree' or 'auto'."
            )
        if n_features > GRID_FORCED_MAX_FEATURES:
            raise ValueError(
                f"algorithm='grid' supports at most {GRID_FORCED_MAX_FEATURES} features (3^(d-1) neighbour "
                f"columns per cell); X has {n_features}. Use algorithm='tree' or 'auto'."
            )
        return SearchPlan("grid", resolved, params, leaf_size)
    if algorithm in ("auto", "tree"):
        if algorithm == "auto" and plan.euclidean and n_features <= grid_max_features:
            return SearchPlan("auto-grid", resolved, params, leaf_size)
        if small_p:
            kind = "brute"
        elif weighted:
            kind = "ball_tree"
        elif not callable(resolved) and resolved in KDTree.valid_metrics:
            kind = "kd_tree"
        elif callable(resolved) or resolved in BallTree.valid_metrics:
            kind = "ball_tree"
        else:
            kind = "brute"
    elif algorithm == "kd_tree":
        if callable(resolved) or resolved not in KDTree.valid_metrics or weighted:
            what = "a weighted Minkowski metric (w)" if weighted else f"metric={_name(metric)}"
            raise ValueError(
                f"algorithm='kd_tree' cannot use {what}: KD-trees take {sorted(KDTree.valid_metrics)}. "
                "Use algorithm='ball_tree', 'brute' or 'auto'."
            )
        kind = "kd_tree"
    elif algorithm == "ball_tree":
        if not callable(resolved) and resolved not in BallTree.valid_metrics:
            raise ValueError(
                f"algorithm='ball_tree' cannot use metric={_name(metric)}: ball trees take "
                f"{sorted(BallTree.valid_metrics)} and callables. Use algorithm='brute' or 'auto'."
            )
        kind = "ball_tree"
    else:
        kind = "brute"
    if small_p:
        if kind != "brute":
            raise ValueError(
                f"algorithm={algorithm!r} does not support 0 < p < 1 for the Minkowski metric (trees need a "
                f"true metric); got p={params['p']!r}. Set p >= 1, or algorithm='brute' or 'auto'."
            )
        warnings.warn(
            "Mind that for 0 < p < 1, Minkowski metrics are not distance metrics. "
            "Continuing the execution with `algorithm='brute'`.",
            stacklevel=4,
        )
    return SearchPlan(kind, resolved, params, leaf_size)
