"""AgglomerativeClustering benchmarks: scalecluster against scikit-learn, in the same run, on the same data.

Data: Gaussian blobs, 8 features, 10 centres, float32 (``make_blobs``,
``cluster_std=2``).  Two comparisons, each a group of rows:

* ``exact``: Ward on every row, ``n_micro >= n`` (scalecluster's exact path)
  against ``sklearn.cluster.AgglomerativeClustering``.  Quality: whether the
  labels of the 10-cluster cut equal scikit-learn's, and the largest
  difference of the merge heights.
* ``two-stage``: the default ``n_micro=1000`` (micro-clusters, then Ward on
  them) against scikit-learn's exact Ward on the same rows.  Quality: the
  adjusted Rand index of the 10-cluster labels against scikit-learn's.

The sizes stay where scikit-learn fits in memory (it needs about 8 n²
bytes); ``benchmarks/hierarchical_at_scale.py`` measures 1M rows in memory
and 10M on a Dask cluster, with peak memory.  Nothing here asserts on time.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from .test_kmeans import compare, measure, publish

N_FEATURES = 8
N_CLUSTERS = 10
#: Rows per profile; ``fast`` is a smoke test (CI), ``large`` a bigger machine (sklearn: 8 n² bytes).
SIZES = {"fast": [2_000], "regular": [5_000, 20_000], "large": [20_000, 40_000]}
ROUNDS = {"fast": 1, "regular": 3, "large": 3}
IMPLS = ["sklearn", "scalecluster"]


@lru_cache(maxsize=4)
def data(n: int) -> np.ndarray:
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n, n_features=N_FEATURES, centers=N_CLUSTERS, cluster_std=2.0, random_state=0)
    return np.ascontiguousarray(X, dtype=np.float32)


def fit(impl: str, X: np.ndarray, n_micro: int | None):
    """One fit with the full tree's heights; ``n_micro=None``: exact (every row a leaf)."""
    if impl == "sklearn":
        from sklearn.cluster import AgglomerativeClustering

        return AgglomerativeClustering(n_clusters=N_CLUSTERS, compute_distances=True).fit(X)
    from scalecluster import AgglomerativeClustering

    return AgglomerativeClustering(
        n_clusters=N_CLUSTERS, compute_distances=True, n_micro=n_micro or len(X), random_state=0
    ).fit(X)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("mode", ["exact", "two-stage"])
@pytest.mark.parametrize("n", sorted({n for sizes in SIZES.values() for n in sizes}))
def test_agglomerative(benchmark, impl, mode, n, profile, scoreboard):
    """Wall time of one Ward fit, median over rounds; ratio against scikit-learn measured in the same run."""
    from sklearn.metrics import adjusted_rand_score

    if n not in SIZES[profile["name"]]:
        pytest.skip(f"not in the {profile['name']} profile")
    if impl == "sklearn" and mode == "two-stage":
        pytest.skip("scikit-learn has no two-stage mode: its exact row is the reference")
    X = data(n)
    n_micro = None if mode == "exact" else 1000
    fit(impl, X[:500], None if n_micro is None else 100)  # warm-up: numba kernels, lazy imports
    benchmark.group = f"AgglomerativeClustering ward {N_FEATURES}-D n={n}"
    key = ("agglomerative", n)
    rounds = ROUNDS[profile["name"]]
    if (*key, "sklearn") not in scoreboard and impl != "sklearn":
        seconds, model = measure(lambda: fit("sklearn", X, None), rounds)
        scoreboard[(*key, "sklearn")] = {"seconds": seconds, "labels": model.labels_, "heights": model.distances_}
    seconds, model = measure(lambda: fit(impl, X, n_micro), rounds, benchmark)
    row = {"impl": impl, "mode": mode, "n": n, "d": N_FEATURES, "n_micro": n_micro, "seconds": seconds}
    reference = scoreboard.get((*key, "sklearn"))
    if reference is not None and impl != "sklearn":
        row["ari_vs_sklearn"] = float(adjusted_rand_score(reference["labels"], model.labels_))
        if mode == "exact":
            row["labels_equal_sklearn"] = bool(np.array_equal(model.labels_, reference["labels"]))
            row["max_height_diff_vs_sklearn"] = float(np.abs(model.distances_ - reference["heights"]).max())
        compare(row, key, ["sklearn"], scoreboard)
    if impl == "sklearn":
        scoreboard[(*key, "sklearn")] = {"seconds": seconds, "labels": model.labels_, "heights": model.distances_}
    publish(benchmark, row)
