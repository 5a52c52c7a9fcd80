"""Sampled silhouette against scikit-learn's ``sample_size``, in the same run, on the same data.

``make_blobs(n, 16, centers=16, cluster_std=4.0, random_state=0)`` as float32.
Both libraries draw s query rows.  scikit-learn computes the silhouette of the
sample within itself (s² distances); scalecluster compares the s queries with a
stratified reference sample of 4 s rows (s · 4 s distances, see
``scalecluster/metrics/silhouette/_sampled.py``).  For every seed the two run back to
back (scikit-learn first), so their times are paired.

* ``test_sampled_silhouette[time]``: the issue's setting in the regular profile,
  n = 1,000,000 and s = 10,000 (large: 10M and 20,000), 20 seeds: the time
  ratio (of the medians of the per-seed times; the median of the per-seed
  ratios is stored too) and each estimator's spread over the seeds.  Its exact
  value costs O(n²) (1e12 distances at 1M rows: hours on 2 shared cores), so
  the errors and coverage are recorded only when
  ``benchmarks/results/silhouette_exact_<n>.json`` already holds it.
* The ``fast`` profile (a smoke test) runs both parts at n = 20,000, s = 1,000,
  3 seeds; ``large`` measures the error at n = 300,000, s = 5,000.
* ``test_sampled_silhouette_backend``: the time part's data as a Dask array
  (on the session's LocalCluster), a CuPy array or Dask over CuPy, 5 seeds,
  ``silhouette_score(X, y, sample_size=s, random_state=seed)`` against
  scikit-learn's; the errors when the exact value is cached.
* ``test_sampled_silhouette[error]``: n = 100,000 and s = 2,000 (the regime
  where the reference is used: 8,000 reference rows), 50 seeds in the regular
  profile: the mean absolute error of each against the exact value from
  scalecluster's exact chunked path (computed once, 1–2 minutes, and cached in
  the same kind of git-ignored file; delete it to recompute), and the
  interval's coverage.

Nothing here asserts on time.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from benchmarks._paired import paired_rounds, time_ratios
from benchmarks.conftest import require_cupy
from scalecluster.metrics import silhouette_samples
from scalecluster.metrics._inputs import check_labelled
from scalecluster.metrics.silhouette import estimate_silhouette

#: Rows, sample size, seeds, and whether to compute the exact value, per profile and part.
SETTINGS = {
    # fast: a smoke test (CI); large: for a bigger machine, by hand.
    ("fast", "time"): {"n": 20_000, "s": 1_000, "seeds": 3, "compute_exact": True},
    ("regular", "time"): {
        "n": 1_000_000,
        "s": 10_000,
        "seeds": 20,
        "compute_exact": False,
    },
    ("fast", "error"): {"n": 20_000, "s": 1_000, "seeds": 3, "compute_exact": True},
    ("regular", "error"): {
        "n": 100_000,
        "s": 2_000,
        "seeds": 50,
        "compute_exact": True,
    },
    ("large", "time"): {"n": 10_000_000, "s": 20_000, "seeds": 20, "compute_exact": False},
    ("large", "error"): {"n": 300_000, "s": 5_000, "seeds": 50, "compute_exact": True},
}
#: Where the exact values are cached; ``SCALECLUSTER_BENCHMARK_RESULTS`` moves it (the CI smoke test
#: points it at a temporary directory so that nothing is written into the repository).
RESULTS = Path(os.environ.get("SCALECLUSTER_BENCHMARK_RESULTS") or Path(__file__).parent / "results")
#: scalecluster's backends besides NumPy, and the seeds they are run with (the time part's data).
BACKENDS = ["dask", "cupy", "dask-cupy"]
BACKEND_SEEDS = 5


def _exact(
    X: np.ndarray, y: np.ndarray, compute: bool
) -> tuple[float | None, float | None, bool]:
    """The exact mean silhouette, from the cache if it is there: ``(value, seconds, cached)``."""
    path = RESULTS / f"silhouette_exact_{len(X)}.json"
    key = {
        "n_samples": len(X),
        "n_features": X.shape[1],
        "centers": 16,
        "cluster_std": 4.0,
        "random_state": 0,
        "dtype": str(X.dtype),
    }
    if path.exists():
        cached = json.loads(path.read_text())
        if all(cached.get(name) == value for name, value in key.items()):
            return cached["exact"], cached["seconds"], True
    if not compute:
        return None, None, False
    start = time.perf_counter()
    exact = float(np.mean(silhouette_samples(X, y)))
    seconds = time.perf_counter() - start
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps({**key, "exact": exact, "seconds": seconds}, indent=2))
    return exact, seconds, False


@pytest.mark.parametrize("part", ["time", "error"])
def test_sampled_silhouette(benchmark, request, part):
    setting = SETTINGS[request.config.getoption("bench_profile"), part]
    s, seeds = setting["s"], range(setting["seeds"])
    X, y = make_blobs(setting["n"], 16, centers=16, cluster_std=4.0, random_state=0)
    X = np.ascontiguousarray(X, dtype=np.float32)
    exact, exact_seconds, cached = _exact(X, y, setting["compute_exact"])

    def theirs(seed: int) -> float:
        return skm.silhouette_score(X, y, sample_size=s, random_state=seed)

    def ours(seed: int) -> Any:
        # What silhouette_score(X, y, sample_size=s, random_state=seed, return_interval=True)
        # runs, keeping the two error terms for the record.
        return estimate_silhouette(check_labelled(X, y), s, seed, 0.95)

    estimate_silhouette(
        check_labelled(X[:5000], y[:5000]), 50, 0, 0.95, 200
    )  # compile the kernels first
    t_sk, v_sk, t_us, estimates = paired_rounds(benchmark, theirs, ours, seeds)
    v_sk = np.array(v_sk)
    v_us = np.array([r.estimate for r in estimates])
    errors = {}
    if exact is not None:
        err_sk, err_us = np.abs(v_sk - exact), np.abs(v_us - exact)
        covered = [r.low <= exact <= r.high for r in estimates]
        errors = {
            "sklearn_mean_abs_error": float(err_sk.mean()),
            "scalecluster_mean_abs_error": float(err_us.mean()),
            "error_ratio": float(err_us.mean() / err_sk.mean()),
            "sklearn_bias": float(v_sk.mean() - exact),
            "scalecluster_bias": float(v_us.mean() - exact),
            "coverage": float(np.mean(covered)),
            "covered": int(np.sum(covered)),
        }
    benchmark.extra_info.update(
        part=part,
        n_samples=len(X),
        sample_size=s,
        reference_size=estimates[0].reference_size,
        seeds=len(seeds),
        exact=exact,
        exact_seconds=exact_seconds,
        exact_from_cache=cached,
        **time_ratios(t_sk, t_us),
        sklearn_mean=float(v_sk.mean()),
        scalecluster_mean=float(v_us.mean()),
        sklearn_std_over_seeds=float(np.std(v_sk, ddof=1)),
        scalecluster_std_over_seeds=float(np.std(v_us, ddof=1)),
        mean_standard_error=float(np.mean([r.standard_error for r in estimates])),
        mean_query_error=float(np.mean([r.query_error for r in estimates])),
        mean_reference_error=float(np.mean([r.reference_error for r in estimates])),
        mean_half_width=float(np.mean([(r.high - r.low) / 2 for r in estimates])),
        **errors,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_sampled_silhouette_backend(benchmark, request, backend):
    from scalecluster.metrics import silhouette_score

    setting = SETTINGS[request.config.getoption("bench_profile"), "time"]
    s, seeds = setting["s"], range(BACKEND_SEEDS)
    cupy = require_cupy() if "cupy" in backend else None
    X, y = make_blobs(setting["n"], 16, centers=16, cluster_std=4.0, random_state=0)
    X = np.ascontiguousarray(X, dtype=np.float32)
    if backend == "cupy":
        Xb, yb = cupy.asarray(X), cupy.asarray(y)
    else:
        import dask.array as da
        from distributed import wait

        request.getfixturevalue("dask_client")
        chunks = -(-len(X) // 10)
        Xb, yb = da.from_array(X, chunks=(chunks, 16)), da.from_array(y, chunks=chunks)
        if cupy is not None:
            Xb = Xb.map_blocks(cupy.asarray, dtype=X.dtype, meta=cupy.empty((0, 16), dtype=X.dtype))
            yb = yb.map_blocks(cupy.asarray, dtype=y.dtype, meta=cupy.empty((0,), dtype=y.dtype))
        Xb, yb = Xb.persist(), yb.persist()
        wait([Xb, yb])
    exact, _, _ = _exact(X, y, False)
    silhouette_score(Xb, yb, sample_size=50, random_state=0)  # compile the kernels first
    t_sk, v_sk, t_us, v_us = paired_rounds(
        benchmark,
        lambda seed: skm.silhouette_score(X, y, sample_size=s, random_state=seed),
        lambda seed: float(silhouette_score(Xb, yb, sample_size=s, random_state=seed)),
        seeds,
    )
    v_sk, v_us = np.array(v_sk), np.array(v_us)
    errors = {}
    if exact is not None:
        errors = {
            "sklearn_mean_abs_error": float(np.abs(v_sk - exact).mean()),
            "scalecluster_mean_abs_error": float(np.abs(v_us - exact).mean()),
            "error_ratio": float(np.abs(v_us - exact).mean() / np.abs(v_sk - exact).mean()),
        }
    benchmark.extra_info.update(
        part="time",
        backend=backend,
        n_samples=len(X),
        sample_size=s,
        seeds=len(seeds),
        exact=exact,
        **time_ratios(t_sk, t_us),
        sklearn_mean=float(v_sk.mean()),
        scalecluster_mean=float(v_us.mean()),
        **errors,
    )
