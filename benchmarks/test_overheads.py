"""Small-data overheads: the fixed costs that large data hides, against scikit-learn in the same run.

Each case runs scikit-learn and scalecluster back to back for every seed, so their times
are paired; the order alternates (scikit-learn first on even seeds), because whoever runs
second can find the other's BLAS threads still spinning for some 0.1 s after a call and
share the cores with them (measured: the sampled silhouette at 20k rows takes 13 ms
alone and 22 ms right after scikit-learn's pairwise distances, 16 ms with one BLAS
thread).  The row holds the median times, the ratio of the medians, the median of the
per-seed ratios, and that median for each order.  Nothing asserts on time.

* ``silhouette``: ``silhouette_score(X, y, sample_size=1000, random_state=seed)`` on
  ``make_blobs(20_000, 16, centers=16, cluster_std=4.0, random_state=0)`` as float32
  (the data of ``test_silhouette.py``'s fast profile), against scikit-learn's
  ``silhouette_score`` with the same arguments.  The estimates differ by design (see
  ``test_silhouette.py``); this row is about time.
* ``dask-kmeans``: ``KMeans(16, max_iter=30, tol=0, random_state=seed)`` with the default
  init (k-means||) on ``make_blobs(n, 16, centers=16, random_state=0)`` as float32, a
  Dask array of ``chunk`` rows persisted on the session's 2-worker ``LocalCluster``,
  against scikit-learn's ``KMeans`` with the same arguments (its default init,
  k-means++) on the NumPy array.  The whole fit: checks, seeding, Lloyd, final pass.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from benchmarks._paired import time_ratios

#: Sizes and seeds per profile and case (``fast``: a smoke test; the others: the published setting).
SETTINGS = {
    "fast": {"silhouette": {"n": 20_000, "seeds": 3}, "dask-kmeans": {"n": 30_000, "chunk": 10_000, "seeds": 1}},
    "regular": {"silhouette": {"n": 20_000, "seeds": 30},
                "dask-kmeans": {"n": 500_000, "chunk": 100_000, "seeds": 7}},
    "large": {"silhouette": {"n": 20_000, "seeds": 30},
              "dask-kmeans": {"n": 500_000, "chunk": 100_000, "seeds": 7}},
}  # fmt: skip
SAMPLE_SIZE = 1_000
K = 16
MAX_ITER = 30


def _silhouette(setting: dict) -> tuple[Any, Any, Any, dict]:
    from sklearn import metrics as skm

    from scalecluster.metrics import silhouette_score

    X, y = make_blobs(setting["n"], 16, centers=16, cluster_std=4.0, random_state=0)
    X = np.ascontiguousarray(X, dtype=np.float32)
    silhouette_score(X, y, sample_size=SAMPLE_SIZE, random_state=0)  # compile the kernels first
    skm.silhouette_score(X, y, sample_size=SAMPLE_SIZE, random_state=0)

    def theirs(seed: int) -> float:
        return skm.silhouette_score(X, y, sample_size=SAMPLE_SIZE, random_state=seed)

    def ours(seed: int) -> float:
        return float(silhouette_score(X, y, sample_size=SAMPLE_SIZE, random_state=seed))

    return theirs, ours, lambda values: {"scalecluster_mean": float(np.mean(values))}, {"sample_size": SAMPLE_SIZE}


def _dask_kmeans(setting: dict, request: Any) -> tuple[Any, Any, Any, dict]:
    import dask.array as da
    from distributed import wait
    from sklearn.cluster import KMeans as SKKMeans

    from scalecluster import KMeans

    request.getfixturevalue("dask_client")
    X, _ = make_blobs(setting["n"], 16, centers=16, random_state=0)
    X = np.ascontiguousarray(X, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph")
        Xd = da.from_array(X, chunks=(setting["chunk"], 16)).persist()
        wait(Xd)
    KMeans(K, max_iter=2, random_state=0).fit(Xd)  # warm-up: kernels and imports on the workers
    SKKMeans(K, max_iter=2, random_state=0).fit(X[:50_000])

    def theirs(seed: int) -> Any:
        return SKKMeans(K, max_iter=MAX_ITER, tol=0.0, random_state=seed).fit(X)

    def ours(seed: int) -> Any:
        return KMeans(K, max_iter=MAX_ITER, tol=0.0, random_state=seed).fit(Xd)

    def summary(fits: list) -> dict:
        return {"scalecluster_n_iter": [int(f.n_iter_) for f in fits], "scalecluster_inertia_median": float(
            np.median([f.inertia_ for f in fits]))}  # fmt: skip

    return theirs, ours, summary, {"chunk_rows": setting["chunk"], "k": K, "max_iter": MAX_ITER}


def _alternating_rounds(benchmark: Any, theirs: Any, ours: Any, seeds: range) -> tuple:
    """``theirs(seed)`` and ``ours(seed)`` back to back for every seed, scikit-learn first on even seeds.

    Returns ``(t_theirs, v_theirs, t_ours, v_ours)`` as :func:`benchmarks._paired.paired_rounds` does.
    """
    out: dict[str, list] = {"theirs": [], "ours": []}

    def run() -> None:
        for values in out.values():
            values.clear()
        for seed in seeds:
            pair = [("theirs", theirs), ("ours", ours)]
            for name, fn in pair if seed % 2 == 0 else pair[::-1]:
                start = time.perf_counter()
                value = fn(seed)
                out[name].append((time.perf_counter() - start, value))

    benchmark.pedantic(run, rounds=1, iterations=1)
    return tuple(x for name in ("theirs", "ours") for x in (np.array([t for t, _ in out[name]]), [v for _, v in out[name]]))


@pytest.mark.parametrize("case", ["silhouette", "dask-kmeans"])
def test_small_data_overheads(benchmark, request, case):
    setting = SETTINGS[request.config.getoption("bench_profile")][case]
    if case == "silhouette":
        theirs, ours, summary, info = _silhouette(setting)
    else:
        theirs, ours, summary, info = _dask_kmeans(setting, request)
    seeds = range(setting["seeds"])
    t_sk, v_sk, t_us, v_us = _alternating_rounds(benchmark, theirs, ours, seeds)
    ratios = t_us / t_sk
    benchmark.extra_info.update(
        case=case, n_samples=setting["n"], seeds=len(seeds), **info, **time_ratios(t_sk, t_us),
        time_ratio_paired_median_sklearn_first=float(np.median(ratios[0::2])),
        time_ratio_paired_median_scalecluster_first=float(np.median(ratios[1::2])) if len(ratios) > 1 else None,
        **summary(v_us),
    )
    if case == "dask-kmeans":
        benchmark.extra_info["sklearn_n_iter"] = [int(f.n_iter_) for f in v_sk]
    if hasattr(os, "getloadavg"):
        benchmark.extra_info["loadavg_1min_after"] = os.getloadavg()[0]
