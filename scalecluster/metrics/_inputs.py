"""Validation shared by the clustering metrics: ``X`` and labels on one backend.

Labels are encoded to ``0 .. k - 1`` once; everything downstream trusts them.
On Dask the labels stay lazy: only their distinct values are computed (a pass
over the labels, not over ``X``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from .._config import rows_per_block
from .._validation import check_X
from ..backends import Backend, backend_name_of


class _MetricInput(BaseEstimator):
    """Stands in for an estimator in ``check_X`` (which records feature counts on it)."""


@dataclass
class LabelledData:
    backend: Backend
    X: Any  #: (n, d) float array of the backend
    labels: Any  #: (n,) int32 codes in 0 .. k - 1, same backend (lazy on Dask)
    counts: np.ndarray  #: (k,) host, rows per label
    n_labels: int


def small_index_sparse(X: Any) -> Any:
    """A SciPy sparse ``X`` with 64-bit indices as CSR with 32-bit ones (when they fit), else ``X``.

    scikit-learn's graphs (``radius_neighbors_graph``, ``pairwise_distances`` of
    sparse rows) may carry 64-bit indices, which the door (``check_X``)
    refuses.  The copy shares nothing the door may change: new indices, and
    the values copied too unless already sorted (sorting permutes them in place).
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


def _encode_in_memory(xp: Any, labels: Any) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """``(codes, classes, counts)``: the labels as int32 positions among the sorted distinct labels.

    Integer labels on the host spanning at most a few times their number (the
    usual ``0 .. k - 1``, or DBSCAN's ``-1 ..``) are encoded by counting, in
    O(n) and with the counts as a by-product; the codes and classes are those
    of ``unique`` (sorted distinct labels).  ``counts`` is ``None`` otherwise.
    """
    if xp is np and labels.size and (labels.dtype.kind == "i" or (labels.dtype.kind == "u" and labels.itemsize < 8)):
        wide = labels.astype(np.int64, copy=False)
        low, high = int(wide.min()), int(wide.max())
        if high - low <= 4 * labels.size:
            offsets = wide - low
            tally = np.bincount(offsets, minlength=high - low + 1)
            present = tally > 0
            codes = (np.cumsum(present) - 1).astype(np.int32)[offsets]
            classes = (np.flatnonzero(present) + low).astype(labels.dtype)
            return codes, classes, tally[present]
    classes, codes = xp.unique(labels, return_inverse=True)
    return codes.reshape(-1).astype(xp.int32), classes, None


def check_labelled(X: Any, labels: Any, *, accept_sparse: bool = False, check_range: bool = True) -> LabelledData:
    """Validate ``X`` and ``labels`` and encode the labels.

    ``accept_sparse``: SciPy sparse ``X`` (any format, as CSR) is allowed (NumPy
    backend).  ``check_range``: refuse values whose squared distances would
    overflow (what the Euclidean kernels compute; other metrics and
    precomputed distances skip it).

    Raises
    ------
    ValueError
        For labels of the wrong length or shape, or fewer than 2 or more than
        ``n_samples - 1`` distinct labels (scikit-learn's rule).
    TypeError
        For inputs of different backends.
    """
    backend, X = check_X(_MetricInput(), small_index_sparse(X), reset=True, accept_sparse=accept_sparse)
    n = X.shape[0]
    if backend_name_of(labels) == "numpy":
        labels = _host_labels(labels)
        _check_label_shape(labels.shape, n)
    lab = backend.move_here(labels, "labels")  # labels follow X (to the GPU, into Dask)
    if backend.lazy:
        import dask

        _check_label_shape(lab.shape, n)
        lab = lab.rechunk((X.chunks[0],))
        # One graph run: the distinct labels, and the NaN/inf and range checks of X.
        # Each block's distinct labels come from its own array module (NumPy or
        # CuPy) and meet on the host: only small arrays travel.
        chunk = backend.chunk
        distinct = [dask.delayed(_block_unique, pure=True)(chunk, part) for part in lab.to_delayed().ravel()]
        parts, summary = dask.compute(distinct, _summary_task(backend, X))
        summary.check(X.dtype)
        classes = np.unique(np.concatenate(parts)) if parts else np.zeros(0)
        _check_no_missing_class(classes)
        meta = backend.xp.empty((0,), dtype=np.int32)
        codes = lab.map_blocks(_block_codes, chunk, classes, dtype=np.int32, meta=meta)
        tallies = [dask.delayed(_block_counts, pure=True)(chunk, part, len(classes)) for part in codes.to_delayed().ravel()]
        counts = np.sum(dask.compute(*tallies), axis=0) if tallies else np.zeros(len(classes), np.int64)
    else:
        if check_range:
            backend.check_range(X)  # distances must not overflow
        xp = backend.xp
        _check_label_shape(lab.shape, n)
        codes, classes, counts = _encode_in_memory(xp, lab)
        _check_no_missing_class(np.asarray(backend.to_host(classes)))
        if counts is None:
            counts = np.asarray(backend.to_host(xp.bincount(codes, minlength=len(classes))))
    n_labels = len(classes)
    if not 1 < n_labels < n:
        raise WrongLabelCount(n_labels)
    return LabelledData(backend, X, codes, counts.astype(np.int64), n_labels)


class WrongLabelCount(ValueError):
    """Fewer than 2, or as many as n_samples, distinct labels (scikit-learn's message)."""

    def __init__(self, n_labels: int) -> None:
        super().__init__(f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 (inclusive)")
        self.n_labels = n_labels


_MISSING = (
    "labels contain {what}; every row needs a label. Drop the unlabelled rows "
    "(with X's rows), or give them a label of their own (e.g. -1, as DBSCAN labels noise)."
)


def _host_labels(labels: Any) -> np.ndarray:
    """Host labels checked before encoding: no missing values, numbers and strings not mixed.

    Strings are encoded here, on the host, to int32 codes (in sorted order of
    the strings), so that the labels can follow X to any backend.
    """
    import pandas as pd

    lab = np.asarray(labels)
    if lab.ndim != 1:
        return lab  # the shape check names the problem
    if lab.dtype.kind == "f" and np.isnan(lab).any():
        raise ValueError(_MISSING.format(what=f"{int(np.isnan(lab).sum())} NaN value(s)"))
    if lab.dtype.kind in "biuf":
        return lab
    if lab.dtype.kind == "O":
        missing = pd.isna(lab)
        if missing.any():
            raise ValueError(_MISSING.format(what=f"{int(missing.sum())} missing value(s) (None or NaN)"))
        kind = pd.api.types.infer_dtype(lab, skipna=False)
        if kind.startswith("mixed") and kind not in ("mixed-integer-float",):
            strings = [v for v in lab if isinstance(v, str)][:1]
            others = [v for v in lab if not isinstance(v, str)][:1]
            raise TypeError(
                f"labels mix values of different types (e.g. {strings + others}); "
                "give every label the same type (all numbers, or all strings)."
            )
    _, codes = np.unique(lab, return_inverse=True)
    return codes.reshape(-1).astype(np.int32)


def _check_no_missing_class(classes: np.ndarray) -> None:
    if classes.dtype.kind == "f" and np.isnan(classes).any():
        raise ValueError(_MISSING.format(what="NaN"))


def _block_unique(chunk: Backend, block: Any) -> np.ndarray:
    """The distinct labels of one block, on the host."""
    return np.asarray(chunk.to_host(chunk.xp.unique(block)))


def _block_codes(block: Any, chunk: Backend, classes: np.ndarray) -> Any:
    """Labels of one block as codes ``0 .. k - 1`` (the position of each among the sorted classes)."""
    xp = chunk.xp
    return xp.searchsorted(xp.asarray(classes), block).astype(xp.int32)


def _block_counts(chunk: Backend, codes: Any, k: int) -> np.ndarray:
    """Rows of each code in one block, on the host."""
    return np.asarray(chunk.to_host(chunk.xp.bincount(codes, minlength=k)), dtype=np.int64)


def _summary_task(backend: Backend, X: Any) -> Any:
    """A delayed :class:`~scalecluster.backends._stats.Summary` of a Dask array (range, finiteness)."""
    import dask

    from ..backends._stats import Summary
    from ..backends.dask_backend import _chunk_stats

    parts = [dask.delayed(_chunk_stats, pure=False)(backend.chunk, p, False) for p in X.to_delayed().ravel()]
    return dask.delayed(Summary.merge)(parts)


def _check_label_shape(shape: tuple, n: int) -> None:
    if len(shape) != 1:
        raise ValueError(f"labels must be 1-dimensional; got shape {shape}.")
    if shape[0] != n:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: [{n}, {shape[0]}]")


def sum_over_blocks(data: LabelledData, fn: Any, *args: Any) -> Any:
    """``sum(fn(backend, offset, X_block, label_block, *args))`` over the row blocks of the data.

    ``fn`` returns small host arrays (or tuples of them).  In memory the data is
    one block (``fn`` blocks it further itself) — SciPy sparse rows come
    densified, a block of rows at a time; on Dask, one task per non-empty
    chunk, one compute for all, and only the small results travel.
    """
    if not data.backend.lazy:
        if sp.issparse(data.X):
            return _sum_parts([
                fn(data.backend, a, X_block, data.labels[a : a + len(X_block)], *args)
                for a, X_block in _dense_blocks(data.X)
            ])
        return fn(data.backend, 0, data.X, data.labels, *args)
    import dask

    chunk_backend = data.backend.chunk
    xs = data.X.to_delayed().ravel()
    ls = data.labels.to_delayed().ravel()
    sizes = list(data.X.chunks[0])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    task = dask.delayed(fn, pure=True)
    # An empty chunk (a Dask array cut at a filter, a DataFrame's empty partition) adds nothing.
    parts = dask.compute(
        *[task(chunk_backend, o, x, lab, *args) for o, x, lab, m in zip(offsets, xs, ls, sizes) if m]
    )
    return _sum_parts(list(parts))


def _sum_parts(parts: list) -> Any:
    """The sum of the parts' results (arrays, or tuples of arrays added element-wise)."""
    if isinstance(parts[0], tuple):
        return tuple(sum(p[i] for p in parts) for i in range(len(parts[0])))
    return sum(parts)


def _dense_blocks(X: Any) -> Any:
    """``(offset, dense rows)`` of a SciPy sparse ``X``, blocks of rows sized from the working memory."""
    # The dense copy of the block, and as much again for the kernels' own copies.
    step = rows_per_block(2 * X.shape[1] * X.dtype.itemsize, X.shape[0])
    for a in range(0, X.shape[0], step):
        yield a, X[a : a + step].toarray()
