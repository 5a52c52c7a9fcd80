"""Davies–Bouldin and Calinski–Harabasz against scikit-learn, in memory, same run, same data.

``make_blobs(n_samples, 16, centers=16, random_state=0)`` as float32 (1M rows in
the regular profile) with its true labels.  For every round the two libraries
run back to back (scikit-learn first); the ratio is that of the medians, and
the relative difference of the values is recorded.  ``test_index_backend`` does
the same with scalecluster given the data as a Dask array (on the session's
LocalCluster, labels chunked alike), a CuPy array or Dask over CuPy (these two
skip without a GPU).  Nothing here asserts on time.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from benchmarks._paired import paired_rounds, time_ratios
from scalecluster.metrics import calinski_harabasz_score, davies_bouldin_score

ROUNDS = 5
BACKEND_ROUNDS = 3
FUNCTIONS = {
    "davies_bouldin": (skm.davies_bouldin_score, davies_bouldin_score),
    "calinski_harabasz": (skm.calinski_harabasz_score, calinski_harabasz_score),
}


@pytest.fixture(scope="module")
def labelled(profile):
    X, y = make_blobs(profile["n_samples"], 16, centers=16, random_state=0)
    return np.ascontiguousarray(X, dtype=np.float32), y


@pytest.mark.parametrize("index", sorted(FUNCTIONS))
def test_index_vs_sklearn(benchmark, labelled, index):
    X, y = labelled
    theirs_fn, ours_fn = FUNCTIONS[index]
    ours_fn(X[:1000], y[:1000])  # warm up
    t_sk, v_sk, t_us, v_us = paired_rounds(benchmark, lambda _: theirs_fn(X, y), lambda _: ours_fn(X, y), ROUNDS)
    benchmark.extra_info.update(index=index, n_samples=len(X), rounds=ROUNDS, **_summary(t_sk, v_sk, t_us, v_us))


def _summary(t_sk: np.ndarray, v_sk: list, t_us: np.ndarray, v_us: list) -> dict:
    """Time ratios, and both values (from the last round) with their relative difference."""
    theirs, ours = float(v_sk[-1]), float(v_us[-1])
    return {
        **time_ratios(t_sk, t_us),
        "sklearn_value": theirs,
        "scalecluster_value": ours,
        "relative_difference": abs(ours - theirs) / abs(theirs),
    }


@pytest.mark.parametrize("backend", ["dask", "cupy", "dask-cupy"])
@pytest.mark.parametrize("index", sorted(FUNCTIONS))
def test_index_backend(benchmark, request, labelled, index, backend):
    X, y = labelled
    theirs_fn, ours_fn = FUNCTIONS[index]
    Xb = request.getfixturevalue({"dask": "dask_blobs", "cupy": "cupy_blobs", "dask-cupy": "dask_cupy_blobs"}[backend])
    if "dask" in backend:
        import dask.array as da

        yb = da.from_array(y, chunks=Xb.chunks[0])
        if backend == "dask-cupy":
            import cupy

            yb = yb.map_blocks(cupy.asarray, dtype=y.dtype, meta=cupy.empty((0,), dtype=y.dtype))
        yb = yb.persist()
    else:
        import cupy

        yb = cupy.asarray(y)
    ours_fn(Xb[:1000], yb[:1000])  # warm up
    t_sk, v_sk, t_us, v_us = paired_rounds(
        benchmark, lambda _: theirs_fn(X, y), lambda _: float(ours_fn(Xb, yb)), BACKEND_ROUNDS
    )
    benchmark.extra_info.update(
        index=index, backend=backend, n_samples=len(X), rounds=BACKEND_ROUNDS, **_summary(t_sk, v_sk, t_us, v_us)
    )
