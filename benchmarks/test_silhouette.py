"""Sampled silhouette against scikit-learn's ``sample_size``, in the same run, on the same data.

Both draw s = 10,000 rows.  scikit-learn compares the sample with itself;
scalecluster compares it with all the data.  The exact value comes from
scalecluster's exact chunked path (computed once per session), and every
row records, per seed, the absolute error of each estimate and whether our
interval covered the exact value.  Nothing here asserts on time.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from scalecluster.metrics import silhouette_samples, silhouette_score

SAMPLE = 10_000
SEEDS = range(5)
#: Rows per profile: the exact value costs O(n²), so it is kept below the KMeans sizes.
ROWS = {"fast": 50_000, "regular": 200_000}


@pytest.fixture(scope="module")
def labelled(profile, request):
    n = ROWS[request.config.getoption("bench_profile")]
    X, y = make_blobs(n, 16, centers=16, cluster_std=4.0, random_state=0)
    X = X.astype(np.float32)
    start = time.perf_counter()
    exact = float(np.mean(silhouette_samples(X, y)))
    return X, y, exact, time.perf_counter() - start


@pytest.mark.parametrize("impl", ["sklearn", "scalecluster"])
def test_sampled_silhouette(benchmark, labelled, impl):
    X, y, exact, exact_seconds = labelled
    estimates, covered = [], []

    def run_all_seeds():
        estimates.clear()
        covered.clear()
        for seed in SEEDS:
            if impl == "sklearn":
                estimates.append(skm.silhouette_score(X, y, sample_size=SAMPLE, random_state=seed))
            else:
                value, (low, high) = silhouette_score(X, y, sample_size=SAMPLE, random_state=seed, return_interval=True)
                estimates.append(value)
                covered.append(low <= exact <= high)

    silhouette_score(X[:2000], y[:2000], sample_size=100, random_state=0)  # compile the kernel first
    benchmark.pedantic(run_all_seeds, rounds=1, iterations=1)
    errors = np.abs(np.array(estimates) - exact)
    benchmark.extra_info.update(
        impl=impl,
        n_samples=len(X),
        sample_size=SAMPLE,
        seeds=len(SEEDS),
        seconds_per_estimate=benchmark.stats.stats.median / len(SEEDS),
        exact=exact,
        exact_seconds=exact_seconds,
        mean_abs_error=float(errors.mean()),
        coverage=float(np.mean(covered)) if covered else None,
    )
