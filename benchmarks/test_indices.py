"""Davies–Bouldin and Calinski–Harabasz against scikit-learn, in memory, same run, same data.

``make_blobs(n_samples, 16, centers=16, random_state=0)`` as float32 (1M rows in
the regular profile) with its true labels.  For every round the two libraries
run back to back (scikit-learn first); the ratio is that of the medians, and
the relative difference of the values is recorded.  Nothing here asserts on time.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from scalecluster.metrics import calinski_harabasz_score, davies_bouldin_score

ROUNDS = 5
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
    t_sk, t_us = [], []
    values = {}

    def run_rounds():
        t_sk.clear()
        t_us.clear()
        for _ in range(ROUNDS):
            start = time.perf_counter()
            values["sklearn"] = theirs_fn(X, y)
            t_sk.append(time.perf_counter() - start)
            start = time.perf_counter()
            values["scalecluster"] = ours_fn(X, y)
            t_us.append(time.perf_counter() - start)

    benchmark.pedantic(run_rounds, rounds=1, iterations=1)
    benchmark.extra_info.update(
        index=index,
        n_samples=len(X),
        rounds=ROUNDS,
        sklearn_seconds_median=float(np.median(t_sk)),
        scalecluster_seconds_median=float(np.median(t_us)),
        time_ratio_of_medians=float(np.median(t_us) / np.median(t_sk)),
        time_ratio_paired_median=float(np.median(np.array(t_us) / np.array(t_sk))),
        sklearn_value=float(values["sklearn"]),
        scalecluster_value=float(values["scalecluster"]),
        relative_difference=float(
            abs(values["scalecluster"] - values["sklearn"]) / abs(values["sklearn"])
        ),
    )
