"""Data shared by the metrics tests: scikit-learn's datasets and blobs, labels on every backend."""

from __future__ import annotations

from sklearn.datasets import load_digits, load_iris, load_wine, make_blobs
from sklearn.preprocessing import StandardScaler

from tests.conftest import to_backend

#: Rows a Dask test chunk holds: several chunks, uneven last one.
CHUNK = 170


def _datasets():
    X, y = make_blobs(700, 4, centers=5, random_state=0)
    yield "blobs", X, y
    for name, loader in (("iris", load_iris), ("wine", load_wine), ("digits", load_digits)):
        bunch = loader()
        X = StandardScaler().fit_transform(bunch.data)
        if name == "digits":
            X, y = X[:600], bunch.target[:600]
        else:
            y = bunch.target
        yield name, X, y


DATASETS = list(_datasets())


IDS = [d[0] for d in DATASETS]


def _labels_for(backend_name, y):
    return y if backend_name == "dask" else to_backend(y, backend_name.replace("dask-", ""))

