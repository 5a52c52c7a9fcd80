"""DBSCAN benchmarks: scalecluster against its peers, in the same run, on the same data.

Data: Gaussian blobs plus 5% uniform noise; ``eps`` is chosen so that a point
has about 40 neighbours on average; ``min_samples=10``.  Every implementation
gets the same float64 array.  Quality: whether the labels equal
scikit-learn's exactly, the adjusted Rand index against them, and the noise
set's agreement.  Peak memory is measured in a fresh subprocess (rise of the
peak resident size over the size before ``fit``).  Nothing here asserts on
time.

Peers: ``sklearn.cluster.DBSCAN(n_jobs=-1)`` (the reference),
scikit-learn-intelex's DBSCAN, the ``dbscan`` package (a parallel grid
DBSCAN in C++, whose border points may differ from scikit-learn's) and cuML's
DBSCAN (on the GPU, given the NumPy array), each when installed.
``test_dbscan_backend`` runs scalecluster on the same points as a Dask array
(4 chunks, on the session's LocalCluster), a CuPy array and Dask over CuPy;
its time includes computing the labels back to NumPy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from typing import Any

import numpy as np
import pytest

from benchmarks.conftest import require_cupy

from .test_kmeans import compare, host, measure, publish

MIN_SAMPLES = 10
TARGET_NEIGHBOURS = 40

#: (features, sizes) per profile; each size is its own benchmark group.
#: ``fast`` is a smoke test (CI); ``large`` is for a bigger machine, by hand.
SIZES = {
    "fast": {2: [5_000, 20_000], 3: [10_000], 5: [10_000]},
    "regular": {2: [100_000, 300_000, 1_000_000], 3: [300_000], 5: [300_000]},
    "large": {2: [300_000, 1_000_000, 3_000_000, 10_000_000], 3: [1_000_000], 5: [1_000_000]},
}
ROUNDS = {"fast": 1, "regular": 3, "large": 1}
IMPLS = ["sklearn", "sklearnex", "dbscan-pkg", "cuml", "scalecluster"]
#: scalecluster on the other backends: Dask over NumPy on the session's LocalCluster,
#: CuPy, and Dask over CuPy (these two skip without a GPU).
BACKENDS = ["dask", "cupy", "dask-cupy"]
#: Peers too slow to repeat at every size on 2 cores (scikit-learn-intelex's DBSCAN
#: took 7x scikit-learn's time at 60k 2-D points here): largest n they are run at.
MAX_N = {"sklearnex": 300_000}
#: Largest n at which the GPU backends' rows compute scikit-learn's labels themselves (at
#: 10M that takes minutes and several GiB): beyond, they run only when ``test_dbscan_fit``
#: has measured scikit-learn in this run.  ``test_gpu.py::test_gpu_dbscan`` compares CuPy
#: with NumPy at 10M without scikit-learn.
GPU_REFERENCE_MAX_N = 1_000_000


@lru_cache(maxsize=8)
def blobs_with_noise(n: int, d: int) -> tuple[np.ndarray, float]:
    """The data and the eps giving about ``TARGET_NEIGHBOURS`` neighbours per point."""
    from sklearn.datasets import make_blobs
    from sklearn.neighbors import KDTree

    n_noise = n // 20
    X, _ = make_blobs(n - n_noise, n_features=d, centers=10, cluster_std=1.0, center_box=(-20, 20), random_state=0)
    rng = np.random.default_rng(0)
    X = np.ascontiguousarray(np.vstack([X, rng.uniform(X.min(axis=0), X.max(axis=0), size=(n_noise, d))]))
    sample = X[rng.choice(n, 2000, replace=False)]
    tree = KDTree(X)
    low, high = 1e-4, 20.0
    for _ in range(40):
        eps = (low * high) ** 0.5
        low, high = (eps, high) if tree.query_radius(sample, eps, count_only=True).mean() < TARGET_NEIGHBOURS else (low, eps)
    return X, float(eps)


def _require(impl: str) -> None:
    module = {"sklearnex": "sklearnex", "dbscan-pkg": "dbscan", "cuml": "cuml"}.get(impl)
    if module is not None:
        pytest.importorskip(module)


def run(impl: str, X: np.ndarray, eps: float, min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """Labels of one fit of ``impl``."""
    if impl == "sklearn":
        from sklearn.cluster import DBSCAN

        return DBSCAN(eps=eps, min_samples=min_samples, n_jobs=-1).fit(X).labels_
    if impl == "sklearnex":
        from sklearnex.cluster import DBSCAN

        return DBSCAN(eps=eps, min_samples=min_samples).fit(X).labels_
    if impl == "dbscan-pkg":
        from dbscan import DBSCAN

        return DBSCAN(X, eps=eps, min_samples=min_samples)[0]
    if impl == "cuml":
        from cuml.cluster import DBSCAN

        return np.asarray(DBSCAN(eps=eps, min_samples=min_samples, output_type="numpy").fit(X).labels_)
    from scalecluster import DBSCAN

    return DBSCAN(eps=eps, min_samples=min_samples).fit(X).labels_


def _quality(labels: np.ndarray, reference: np.ndarray) -> dict:
    from sklearn.metrics import adjusted_rand_score

    return {
        "labels_equal_sklearn": bool(np.array_equal(labels, reference)),
        "ari_vs_sklearn": float(adjusted_rand_score(reference, labels)),
        "noise_mismatch": int(np.count_nonzero((labels == -1) != (reference == -1))),
        "n_clusters": int(labels.max()) + 1,
        "n_noise": int(np.count_nonzero(labels == -1)),
    }


CASES = [(d, n) for profile in SIZES.values() for d, sizes in profile.items() for n in sizes]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("d, n", sorted(set(CASES)))
def test_dbscan_fit(benchmark, impl, d, n, profile, scoreboard):
    """Wall time of one fit, median over rounds; ratios against the peers measured before."""
    if n not in SIZES[profile["name"]].get(d, []):
        pytest.skip(f"not in the {profile['name']} profile")
    _require(impl)
    if n > MAX_N.get(impl, n):
        pytest.skip(f"{impl} is run up to n={MAX_N[impl]:,}")
    X, eps = blobs_with_noise(n, d)
    run(impl, X[:2000], eps)  # warm-up: JIT compilation, thread pools, lazy imports
    benchmark.group = f"DBSCAN {d}-D n={n}"
    key = ("dbscan", d, n)
    if (*key, "sklearn") not in scoreboard and impl != "sklearn":
        seconds, labels = measure(lambda: run("sklearn", X, eps), ROUNDS[profile["name"]])
        scoreboard[(*key, "sklearn")] = {"seconds": seconds, "labels": labels}
    seconds, labels = measure(lambda: run(impl, X, eps), ROUNDS[profile["name"]], benchmark)
    reference = labels if impl == "sklearn" else scoreboard[(*key, "sklearn")]["labels"]
    row = {"impl": impl, "n": n, "d": d, "eps": eps, "min_samples": MIN_SAMPLES, "seconds": seconds}
    row.update(_quality(labels, reference))
    compare(row, key, IMPLS[: IMPLS.index(impl)], scoreboard)
    scoreboard[(*key, impl)] = {"seconds": seconds, "labels": labels}
    publish(benchmark, row)


# ------------------------------------------- dense 6-D data: the anomalies job's
#: Sizes of the traffic-features case per profile.  The data: ``make_flows``
#: → ``traffic_features`` → log1p and standardise (6 features), eps from the
#: k-distance knee with k = min_samples = 20, as ``detect_anomalies`` picks
#: them.  About 98 % of the points are core, many in piles of near-identical
#: flows: the dense, higher-dimensional case blobs do not show.
TRAFFIC_SIZES = {"fast": [20_000], "regular": [100_000, 300_000], "large": [1_000_000, 3_000_000]}
TRAFFIC_MIN_SAMPLES = 20
TRAFFIC_IMPLS = ["sklearn", "dbscan-pkg", "scalecluster"]


@lru_cache(maxsize=4)
def traffic_features(n: int) -> tuple[np.ndarray, float]:
    """The scaled flow features of ``n`` generated flows and the job's eps for them."""
    from scalecluster.datasets import make_flows
    from scalecluster.features import scale
    from scalecluster.features import traffic_features as features_of
    from scalecluster.metrics import suggest_eps

    features, _ = features_of(make_flows(n, random_state=0).flows, missing="drop")
    X = np.ascontiguousarray(scale(features, log=True)[0].to_numpy(np.float64))
    return X, float(suggest_eps(X, TRAFFIC_MIN_SAMPLES, sample_size=2000, random_state=0).eps)


@pytest.mark.parametrize("impl", TRAFFIC_IMPLS)
@pytest.mark.parametrize("n", sorted({n for sizes in TRAFFIC_SIZES.values() for n in sizes}))
def test_dbscan_traffic(benchmark, impl, n, profile, scoreboard):
    """Wall time of one fit on the traffic features; ratios against the peers measured before."""
    if n not in TRAFFIC_SIZES[profile["name"]]:
        pytest.skip(f"not in the {profile['name']} profile")
    _require(impl)
    X, eps = traffic_features(n)
    run(impl, X[:2000], eps, TRAFFIC_MIN_SAMPLES)  # warm-up
    benchmark.group = f"DBSCAN traffic features 6-D n={n}"
    key = ("dbscan-traffic", n)
    if (*key, "sklearn") not in scoreboard and impl != "sklearn":
        seconds, labels = measure(lambda: run("sklearn", X, eps, TRAFFIC_MIN_SAMPLES), ROUNDS[profile["name"]])
        scoreboard[(*key, "sklearn")] = {"seconds": seconds, "labels": labels}
    seconds, labels = measure(lambda: run(impl, X, eps, TRAFFIC_MIN_SAMPLES), ROUNDS[profile["name"]], benchmark)
    reference = labels if impl == "sklearn" else scoreboard[(*key, "sklearn")]["labels"]
    row = {"impl": impl, "n": n, "d": X.shape[1], "eps": eps, "min_samples": TRAFFIC_MIN_SAMPLES, "seconds": seconds}
    row.update(_quality(labels, reference))
    compare(row, key, TRAFFIC_IMPLS[: TRAFFIC_IMPLS.index(impl)], scoreboard)
    scoreboard[(*key, impl)] = {"seconds": seconds, "labels": labels}
    publish(benchmark, row)


def _sklearn_reference(key: tuple, X: np.ndarray, eps: float, rounds: int, scoreboard: dict) -> np.ndarray:
    """scikit-learn's labels (and time) for ``key``, measured now unless ``test_dbscan_fit`` did."""
    if (*key, "sklearn") not in scoreboard:
        seconds, labels = measure(lambda: run("sklearn", X, eps), rounds)
        scoreboard[(*key, "sklearn")] = {"seconds": seconds, "labels": labels}
    return scoreboard[(*key, "sklearn")]["labels"]


def on_backend(backend: str, X: np.ndarray, request: Any) -> Any:
    """``X`` as ``backend``'s array: Dask ones in 4 chunks, persisted on the session's LocalCluster."""
    cupy = require_cupy() if "cupy" in backend else None
    if backend == "cupy":
        return cupy.asarray(X)
    import dask.array as da
    from distributed import wait

    request.getfixturevalue("dask_client")
    Xd = da.from_array(X, chunks=(-(-len(X) // 4), X.shape[1]))
    if cupy is not None:
        Xd = Xd.map_blocks(cupy.asarray, dtype=X.dtype, meta=cupy.empty((0, X.shape[1]), dtype=X.dtype))
    Xd = Xd.persist()
    wait(Xd)
    return Xd


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("d, n", sorted(set(CASES)))
def test_dbscan_backend(benchmark, request, backend, d, n, profile, scoreboard):
    """scalecluster on Dask / CuPy / Dask-over-CuPy input: time to NumPy labels, ARI against scikit-learn."""
    from scalecluster import DBSCAN

    if n not in SIZES[profile["name"]].get(d, []):
        pytest.skip(f"not in the {profile['name']} profile")
    if "cupy" in backend:
        require_cupy()
        if n > GPU_REFERENCE_MAX_N and ("dbscan", d, n, "sklearn") not in scoreboard:
            pytest.skip(f"scikit-learn's labels at n={n:,} were not measured in this run (test_dbscan_fit); "
                        "test_gpu_dbscan compares CuPy with NumPy at this size")  # fmt: skip
    X, eps = blobs_with_noise(n, d)
    Xb = on_backend(backend, X, request)

    def fit(data: Any) -> np.ndarray:
        return host(DBSCAN(eps=eps, min_samples=MIN_SAMPLES).fit(data).labels_)

    fit(Xb[:2000])  # warm-up: JIT compilation in every process
    benchmark.group = f"DBSCAN {d}-D n={n}"
    key = ("dbscan", d, n)
    rounds = ROUNDS[profile["name"]]
    reference = _sklearn_reference(key, X, eps, rounds, scoreboard)
    seconds, labels = measure(lambda: fit(Xb), rounds, benchmark)
    row = {"impl": "scalecluster", "backend": backend, "n": n, "d": d, "eps": eps, "min_samples": MIN_SAMPLES,
           "seconds": seconds}  # fmt: skip
    row.update(_quality(labels, reference))
    compare(row, key, IMPLS, scoreboard)  # the NumPy rows of this run: peers and scalecluster itself
    scoreboard[(*key, f"scalecluster-{backend}")] = {"seconds": seconds, "labels": labels}
    publish(benchmark, row)


# ------------------------------------------------------------ peak memory
_MEMORY_SCRIPT = r"""
import gc, json, sys
import numpy as np
sys.path.insert(0, sys.argv[4])
from benchmarks._peak_rss import peak, reset_peak
from benchmarks.test_dbscan import blobs_with_noise, run
n, d, impl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
X, eps = blobs_with_noise(n, d)
run(impl, X[:2000], eps)  # warm-up
gc.collect()
base = reset_peak()
run(impl, X, eps)
print(json.dumps({"extra_rss": peak() - base, "x_bytes": X.nbytes}))
"""


def _memory_once(n: int, d: int, impl: str) -> dict:
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(n), str(d), impl, root], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("impl", IMPLS)
def test_dbscan_peak_memory(benchmark, impl, profile, scoreboard):
    """Peak resident memory added by one fit on the largest 2-D size, in a fresh subprocess."""
    if impl == "cuml":
        pytest.skip("cuML's memory is on the GPU, not in the resident size")
    _require(impl)
    n = max(SIZES[profile["name"]][2])
    if n > MAX_N.get(impl, n):
        pytest.skip(f"{impl} is run up to n={MAX_N[impl]:,}")
    benchmark.group = f"DBSCAN peak memory 2-D n={n}"

    def row_of(name: str, bench: Any = None) -> dict:
        samples: list[dict] = []
        measure(lambda: samples.append(_memory_once(n, 2, name)), 1, bench)
        return {"impl": name, "n": n, "extra_rss_mib": samples[0]["extra_rss"] / 2**20,
                "x_mib": samples[0]["x_bytes"] / 2**20}  # fmt: skip

    if impl != "sklearn" and ("dbscan-memory", "sklearn") not in scoreboard:
        scoreboard[("dbscan-memory", "sklearn")] = row_of("sklearn")
    row = row_of(impl, benchmark)
    compare(row, ("dbscan-memory",), IMPLS[: IMPLS.index(impl)], scoreboard)
    scoreboard[("dbscan-memory", impl)] = row
    publish(benchmark, row)
