"""Lloyd's iterations, written once against the KMeans operations (:mod:`._ops`).

Each iteration is one sweep of :meth:`~._ops.KMeansOps.accumulate` (one compute on
Dask) that returns only (k × d) sums; the M-step runs on the host.  The loop
mirrors scikit-learn's ``_kmeans_single_lloyd``: empty clusters take the
points farthest from their centres, the run stops when the squared centre
shift is ``<= tol``, and a last E-step gives labels and inertia that match the
returned centres.

scikit-learn also stops when the labels did not change.  Where sums are
added in a fixed order (CPU kernels, the generic path, Dask) that case needs
no test of its own: unchanged labels give unchanged centres, a zero shift,
and so the same stop at the same iteration.  The GPU adds its sums with
atomics, in no fixed order, so its sweeps report how many labels changed
(``Accumulated.n_changed``) and the loop stops when none did.
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
    the empty cluster's only member.
    """
    empty = np.flatnonzero(acc.weight_sums == 0)
    if empty.size == 0:
        return
    rows, owners, row_weights = ops.farthest(X, weights, centers, empty.size)
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
                print(f"Iteration {n_iter - 1}, inertia {acc.inertia:.6g}.")
            relocate_empty_clusters(ops, X, weights, centers, acc)
            new_centers = centers.astype(np.float64)
            filled = acc.weight_sums > 0
            new_centers[filled] = acc.sums[filled] / acc.weight_sums[filled, None]
            new_centers = new_centers.astype(dtype)
            shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
            centers = new_centers
            if acc.n_changed == 0:
                # Strict convergence, as scikit-learn checks it: the labels did not
                # change, so neither did the true centres.  Needed where sums are
                # added in a varying order (GPU atomics), so that a shift of a few
                # ulps never keeps a tol=0 fit running to max_iter.
                if verbose:
                    print(f"Converged at iteration {n_iter - 1}: strict convergence.")
                break
            if shift <= tol:
                if verbose:
                    print(f"Converged at iteration {n_iter - 1}: center shift {shift:.6g} within tolerance {tol:.6g}.")
                break
    labels, final = ops.assign(X, weights, centers)
    return LloydResult(centers, labels, final.inertia, n_iter, final.weight_sums)
