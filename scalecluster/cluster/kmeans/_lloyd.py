"""Lloyd's iterations, written once against the KMeans operations (:mod:`._ops`).

Each iteration is one sweep of :meth:`~._ops.KMeansOps.accumulate` (one compute on
Dask) that returns only (k × d) sums; the M-step runs on the host.  The loop
mirrors scikit-learn's ``_kmeans_single_lloyd``: empty clusters take the
points farthest from their centres (unless every point sits on its centre:
then there is nothing to take, and an empty centre joins the heaviest
cluster), the run stops when the squared centre shift is ``<= tol``, and a
last E-step gives labels and inertia that match the returned centres.

scikit-learn also stops when the labels did not change ("strict
convergence").  Every implementation adds its sums in a fixed order (the
GPU kernel has no atomics either), so unchanged labels give unchanged
centres, a zero shift, and the same stop at the same iteration; such a stop
after the first iteration is reported as strict convergence.  The GPU's
sweeps also count the labels that changed (``Accumulated.n_changed``), so
the loop stops there without comparing centres.

With ``verbose``, the messages are scikit-learn's, word for word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._ops import Accumulated, KMeansOps


@dataclass
class LloydResult:
    centers: np.ndarray  #: (k, d) host, in the data's dtype
    labels: Any  #: (n,) int32 in the backend's type (lazy on Dask)
    inertia: float
    n_iter: int
    weight_sums: np.ndarray  #: (k,) weight per final cluster


def relocate_empty_clusters(ops: KMeansOps, X: Any, weights: Any, centers: np.ndarray, acc: Accumulated) -> None:
    """Give each empty cluster one of the points farthest from their centre (in place).

    As in scikit-learn: the point leaves its old cluster's sums and becomes
    the empty cluster's only member.  When even the farthest point sits on
    its centre (fewer distinct points than clusters), moving points would
    only trade one empty cluster for another, so nothing moves (scikit-learn
    does the same); :func:`lloyd` then places the empty centres on the
    heaviest cluster.
    """
    empty = np.flatnonzero(acc.weight_sums == 0)
    if empty.size == 0:
        return
    rows, owners, row_weights = ops.farthest(X, weights, centers, empty.size)
    if rows.shape[0] == 0 or not np.any(rows[0] != centers[owners[0]]):
        return  # every point coincides with its centre: nothing to relocate
    for new_id, row, old_id, w in zip(empty, rows, owners, row_weights):
        acc.sums[old_id] -= row * w
        acc.weight_sums[old_id] -= w
        acc.sums[new_id] = row * w
        acc.weight_sums[new_id] = w


def lloyd(
    ops: KMeansOps,
    X: Any,
    weights: Any,
    centers_init: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    verbose: int = 0,
) -> LloydResult:
    """Run Lloyd's algorithm from ``centers_init``.

    Parameters
    ----------
    ops : KMeansOps
        The operations for the data's backend (:func:`._ops.kmeans_ops`).
    X : array of the backend, shape (n, d)
    weights : array of the backend, shape (n,)
    centers_init : ndarray of shape (k, d)
    max_iter : int
    tol : float
        Absolute tolerance on the squared centre shift (already scaled).
    verbose : int

    Returns
    -------
    LloydResult

    Notes
    -----
    Time O(n k d) per iteration; memory O(k d) on the driver beyond the
    operations' row blocks.
    """
    dtype = X.dtype
    centers = np.asarray(centers_init, dtype=dtype).copy()
    n_iter = 0
    with ops.sweeps(X, weights) as sweep:
        for n_iter in range(1, max_iter + 1):
            acc = sweep(centers, want_inertia=bool(verbose))
            if verbose:
                print(f"Iteration {n_iter - 1}, inertia {acc.inertia}.")
            relocate_empty_clusters(ops, X, weights, centers, acc)
            new_centers = centers.astype(np.float64)
            filled = acc.weight_sums > 0
            new_centers[filled] = acc.sums[filled] / acc.weight_sums[filled, None]
            if not filled.all() and filled.any():
                # Still empty (fewer distinct points than clusters): as in
                # scikit-learn, the centre joins the heaviest cluster.
                new_centers[~filled] = new_centers[int(np.argmax(acc.weight_sums))]
            new_centers = new_centers.astype(dtype)
            shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
            centers = new_centers
            # Strict convergence, as scikit-learn checks it: the labels did not
            # change.  The GPU's sweeps count changed labels; elsewhere unchanged
            # labels show as a zero shift (never on the first sweep, which has
            # no previous labels).
            if acc.n_changed == 0 or (acc.n_changed is None and shift == 0.0 and n_iter > 1):
                if verbose:
                    print(f"Converged at iteration {n_iter - 1}: strict convergence.")
                break
            if shift <= tol:
                if verbose:
                    print(f"Converged at iteration {n_iter - 1}: center shift {shift} within tolerance {tol}.")
                break
    labels, final = ops.assign(X, weights, centers)
    return LloydResult(centers, labels, final.inertia, n_iter, final.weight_sums)
