"""Small data sets shared by the hierarchical tests (module-level: built once per session)."""

from __future__ import annotations

from functools import cache

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
)


@cache
def blobs(n: int = 300, d: int = 4, centers: int = 5, seed: int = 0, std: float = 1.0) -> np.ndarray:
    X, _ = make_blobs(n, n_features=d, centers=centers, cluster_std=std, random_state=seed)
    return X


@cache
def bundled(name: str) -> np.ndarray:
    """scikit-learn's bundled data sets (no download); iris has duplicate rows, so ties."""
    loader = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer, "digits": load_digits}[name]
    X = loader().data
    return X[:600] if name == "digits" else X  # digits: 600 of 1,797 rows keep the suite fast
