"""The NumPy backend: dense arrays and SciPy CSR matrices on the host."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ._array import ArrayBackend


class NumpyBackend(ArrayBackend):
    """In-memory NumPy arrays (dense, or SciPy CSR)."""

    def __init__(self) -> None:
        super().__init__(np, "numpy")

    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        if sp.issparse(X):
            return X[indices].toarray().astype(np.float64)
        return super().take_rows(X, indices)

    def describe(
        self, X: Any, weights: Any, need_variance: bool = True, persist: bool = True
    ) -> tuple[Any, Any, bool, float]:
        # Finiteness was checked at the door (scikit-learn's check_array).
        if not need_variance:
            return X, weights, True, float("nan")
        if sp.issparse(X):
            from sklearn.utils.sparsefuncs import mean_variance_axis

            return X, weights, True, float(mean_variance_axis(X, axis=0)[1].mean())
        return super().describe(X, weights, need_variance, persist)  # in row blocks: no copy of X
