"""Validate once, at the door: inputs become an array of one backend.

Public estimators call :func:`check_X` and :func:`check_sample_weight`; the
algorithms behind them trust what they get.  NumPy-side inputs (arrays,
lists, pandas DataFrames, SciPy CSR) go through scikit-learn's own
``validate_data``, so messages match scikit-learn's word for word.  CuPy and
Dask inputs get the same checks without leaving their device or cluster; on
Dask the NaN/inf check is deferred to the pass that loads the data (see
:meth:`scalecluster.backends.Backend.describe`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

from .backends import Backend, backend_name_of, get_backend


def _numeric_columns_or_raise(frame: Any) -> None:
    """A DataFrame (pandas or Dask) must have numeric columns only."""
    import pandas as pd

    bad = [str(c) for c, t in frame.dtypes.items() if not (pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t))]
    if bad:
        raise TypeError(
            f"X has non-numeric column(s) {bad}; clustering needs numbers. "
            "Drop or encode these columns first."
        )


def _is_dataframe(X: Any) -> bool:
    return hasattr(X, "columns") and hasattr(X, "dtypes")


def _float_dtype(dtype: Any) -> Any:
    return dtype if dtype in (np.float32, np.float64) else np.float64


def _set_or_check_features(estimator: Any, n_features: int, names: Any, reset: bool) -> None:
    if reset:
        estimator.n_features_in_ = n_features
        if names is not None:
            estimator.feature_names_in_ = np.asarray([str(c) for c in names], dtype=object)
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and n_features != expected:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is expecting {expected} features as input."
        )
    fitted_names = getattr(estimator, "feature_names_in_", None)
    if fitted_names is not None and names is not None and list(map(str, names)) != list(fitted_names):
        raise ValueError("The feature names should match those that were passed during fit.")


def check_X(estimator: Any, X: Any, *, reset: bool, accept_sparse: bool = True) -> tuple[Backend, Any]:
    """Validate ``X`` and return its backend and a 2-D float array of it.

    Parameters
    ----------
    estimator : estimator
        Its ``n_features_in_`` / ``feature_names_in_`` are set (``reset=True``)
        or checked (``reset=False``).
    X : array-like of shape (n_samples, n_features)
        NumPy, list, pandas DataFrame, SciPy CSR, CuPy, Dask array or Dask DataFrame.
    reset : bool
        True in ``fit``, False in ``predict`` and friends.
    accept_sparse : bool, default=True
        Whether SciPy CSR input is allowed (NumPy backend only).

    Returns
    -------
    backend : Backend
    X : array of the backend, float32 or float64, 2-D
    """
    name = backend_name_of(X)
    if _is_dataframe(X):
        _numeric_columns_or_raise(X)
    if name == "numpy":
        X = validate_data(
            estimator,
            X,
            accept_sparse="csr" if accept_sparse else False,
            dtype=[np.float64, np.float32],
            order="C",
            accept_large_sparse=False,
            reset=reset,
        )
        if hasattr(X, "format") and X.format == "csr":
            X.sort_indices()
        return get_backend(X), X
    if name == "cupy":
        return get_backend(X), _check_cupy(estimator, X, reset)
    return get_backend(X), _check_dask(estimator, X, reset)


def _check_shape(estimator: Any, shape: tuple, ndim: int) -> None:
    if ndim != 2:
        raise ValueError(
            f"Expected a 2-dimensional array, got {ndim} dimension(s). Reshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) if it contains a single sample."
        )
    if shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required by {type(estimator).__name__}.")
    if shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is required by {type(estimator).__name__}.")


def _check_cupy(estimator: Any, X: Any, reset: bool) -> Any:
    import cupy

    _check_shape(estimator, X.shape, X.ndim)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must hold numbers; got dtype {X.dtype}.")
    X = cupy.ascontiguousarray(X, dtype=_float_dtype(X.dtype))
    if not bool(cupy.isfinite(X).all()):
        raise ValueError("Input X contains NaN or infinity.")
    _set_or_check_features(estimator, X.shape[1], None, reset)
    return X


def _check_dask(estimator: Any, X: Any, reset: bool) -> Any:
    import dask.array as da

    names = None
    if _is_dataframe(X):
        names = list(X.columns)
        # Row counts per partition are needed for chunk sizes: a light pass (lengths only).
        X = X.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):
        raise TypeError(f"Expected a Dask array or DataFrame; got {type(X).__qualname__}.")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            "X has unknown chunk sizes; call `X.compute_chunk_sizes()` (or read it with "
            "scalecluster.read_parquet, which records them) before fitting."
        )
    _check_shape(estimator, X.shape, X.ndim)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must hold numbers; got dtype {X.dtype}.")
    X = X.astype(_float_dtype(X.dtype), copy=False)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    _set_or_check_features(estimator, X.shape[1], names, reset)
    return X


def check_sample_weight(backend: Backend, X: Any, sample_weight: Any) -> Any:
    """Sample weights as a float64 array of ``X``'s backend, aligned with its rows.

    Raises
    ------
    ValueError
        For a wrong length or shape, negative, NaN or infinite weights.
    """
    n = X.shape[0]
    if sample_weight is None:
        return backend.ones(X)
    if np.isscalar(sample_weight):
        if not np.isfinite(sample_weight) or sample_weight <= 0:
            raise ValueError(f"sample_weight must be finite and positive; got {sample_weight!r}.")
        return backend.ones(X) * float(sample_weight)
    if backend_name_of(sample_weight) == "numpy":
        sample_weight = _numeric_weights(np.asarray(sample_weight))
    w = backend.move_here(sample_weight, "sample_weight")  # weights follow X (to the GPU, into Dask)
    if backend.lazy:
        import dask.array as da

        _check_weight_shape(w.shape, n)
        if w.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must hold numbers; got dtype {w.dtype}.")
        w = w.astype(np.float64).rechunk((X.chunks[0],))
        # One light pass over the weights only (n floats), not over X.
        low, high, finite = da.compute(w.min(), w.max(), da.isfinite(w).all())
        _check_weight_values(float(backend.to_host(low)), float(backend.to_host(high)), bool(finite))
        return w
    xp = backend.xp
    _check_weight_shape(w.shape, n)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold numbers; got dtype {w.dtype}.")
    w = w.astype(xp.float64)
    _check_weight_values(float(w.min()), float(w.max()), bool(xp.isfinite(w).all()))
    return xp.ascontiguousarray(w)


def _numeric_weights(w: np.ndarray) -> np.ndarray:
    """Host weights as numbers: numeric strings and objects are converted, anything else refused."""
    if w.dtype.kind in "biuf":
        return w
    try:
        return w.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"sample_weight must hold numbers; got dtype {w.dtype} (e.g. {w.ravel()[:1].tolist()})."
        ) from None


def _check_weight_shape(shape: tuple, n: int) -> None:
    if len(shape) != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar, got {len(shape)}D array of shape {shape}.")
    if shape[0] != n:
        raise ValueError(f"sample_weight.shape == ({shape[0]},), expected ({n},)!")


def _check_weight_values(low: float, high: float, finite: bool) -> None:
    if not finite:
        raise ValueError("sample_weight contains NaN or infinity.")
    if low < 0:
        raise ValueError("Negative values in data passed to sample_weight")
    if high <= 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
