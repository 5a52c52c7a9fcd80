"""Validation shared by the clustering metrics: ``X`` and labels on one backend.

Labels are encoded to ``0 .. k - 1`` once; everything downstream trusts them.
On Dask the labels stay lazy: only their distinct values are computed (a pass
over the labels, not over ``X``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._validation import check_X
from ..backends import Backend, get_backend


class _MetricInput(BaseEstimator):
    """Stands in for an estimator in ``check_X`` (which records feature counts on it)."""


@dataclass
class LabelledData:
    backend: Backend
    X: Any  #: (n, d) float array of the backend
    labels: Any  #: (n,) int32 codes in 0 .. k - 1, same backend (lazy on Dask)
    counts: np.ndarray  #: (k,) host, rows per label
    n_labels: int


def _encode_in_memory(xp: Any, labels: Any) -> tuple[Any, np.ndarray]:
    classes, codes = xp.unique(labels, return_inverse=True)
    return codes.reshape(-1).astype(xp.int32), classes


def check_labelled(X: Any, labels: Any) -> LabelledData:
    """Validate ``X`` and ``labels`` and encode the labels.

    Raises
    ------
    ValueError
        For labels of the wrong length or shape, or fewer than 2 or more than
        ``n_samples - 1`` distinct labels (scikit-learn's rule).
    TypeError
        For inputs of different backends.
    """
    backend, X = check_X(_MetricInput(), X, reset=True, accept_sparse=False)
    get_backend(X, labels)  # a TypeError for a mix of backends
    n = X.shape[0]
    if backend.lazy:
        import dask.array as da

        lab = labels if isinstance(labels, da.Array) else np.asarray(labels)
        _check_label_shape(lab.shape, n)
        if not isinstance(lab, da.Array):
            lab = da.from_array(lab, chunks=(X.chunks[0],))
        lab = lab.rechunk((X.chunks[0],))
        # One graph run: the distinct labels, and the NaN/inf check of X.
        classes, finite = da.compute(da.unique(lab), da.isfinite(X).all())
        if not bool(finite):
            raise ValueError("Input X contains NaN or infinity.")
        classes = np.asarray(backend.to_host(classes))
        meta = backend.xp.empty((0,), dtype=np.int32)
        xp = backend.xp
        codes = lab.map_blocks(
            lambda block: xp.searchsorted(xp.asarray(classes), block).astype(np.int32), dtype=np.int32, meta=meta
        )
        counts = np.asarray(backend.to_host(da.bincount(codes, minlength=len(classes))))
    else:
        xp = backend.xp
        lab = xp.asarray(labels)
        _check_label_shape(lab.shape, n)
        codes, classes = _encode_in_memory(xp, lab)
        counts = np.asarray(backend.to_host(xp.bincount(codes, minlength=len(classes))))
    n_labels = len(classes)
    if not 1 < n_labels < n:
        raise ValueError(f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 (inclusive)")
    return LabelledData(backend, X, codes, counts.astype(np.int64), n_labels)


def _check_label_shape(shape: tuple, n: int) -> None:
    if len(shape) != 1:
        raise ValueError(f"labels must be 1-dimensional; got shape {shape}.")
    if shape[0] != n:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: [{n}, {shape[0]}]")


def sum_over_blocks(data: LabelledData, fn: Any, *args: Any) -> Any:
    """``sum(fn(backend, offset, X_block, label_block, *args))`` over the row blocks of the data.

    ``fn`` returns small host arrays (or tuples of them).  In memory the data is
    one block (``fn`` blocks it further itself); on Dask, one task per chunk,
    one compute for all, and only the small results travel.
    """
    if not data.backend.lazy:
        return fn(data.backend, 0, data.X, data.labels, *args)
    import dask

    chunk_backend = data.backend.chunk
    xs = data.X.to_delayed().ravel()
    ls = data.labels.to_delayed().ravel()
    offsets = np.concatenate([[0], np.cumsum(data.X.chunks[0])[:-1]]).tolist()
    task = dask.delayed(fn, pure=True)
    parts = dask.compute(*[task(chunk_backend, o, x, lab, *args) for o, x, lab in zip(offsets, xs, ls)])
    if isinstance(parts[0], tuple):
        return tuple(sum(p[i] for p in parts) for i in range(len(parts[0])))
    return sum(parts)
