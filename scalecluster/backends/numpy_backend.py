"""The NumPy backend: dense arrays and SciPy CSR matrices on the host."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ._array import ArrayBackend
from ._stats import Summary


class NumpyBackend(ArrayBackend):
    """In-memory NumPy arrays (dense, or SciPy CSR)."""

    def __init__(self) -> None:
        super().__init__(np, "numpy")

    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        if sp.issparse(X):
            return X[indices].toarray().astype(np.float64)
        return super().take_rows(X, indices)

    def block_stats(self, X: Any, spread: bool = True) -> Summary:
        if not sp.issparse(X):
            return super().block_stats(X, spread)
        # Finiteness was checked at the door (scikit-learn's check_array); the range
        # counts the implicit zeros, as the distances do.
        low = X.min(axis=0).toarray().ravel().astype(np.float64)
        high = X.max(axis=0).toarray().ravel().astype(np.float64)
        return Summary(X.shape[0], True, low, high)

    def describe(
        self, X: Any, weights: Any, need_variance: bool = True, persist: bool = True
    ) -> tuple[Any, Any, Summary | None]:
        if sp.issparse(X):
            summary = self.block_stats(X, spread=False)
            if need_variance:
                from sklearn.utils.sparsefuncs import mean_variance_axis

                mean, variance = mean_variance_axis(X, axis=0)
                summary.mean, summary.m2 = mean.astype(np.float64), variance.astype(np.float64) * X.shape[0]
            return X, weights, summary
        return super().describe(X, weights, need_variance, persist)  # in row blocks: no copy of X
