"""KMeans benchmarks: scalecluster against its peers, in the same run, on the same data.

Each implementation is one benchmark row; rows of one comparison share a
``group``.  Peers are parametrised first, and every later row records in its
``extra_info`` its ratios against the rows already measured (the main peer is
measured on the spot if it was deselected).  Quality is measured with one
yardstick for all: :func:`inertia64` of the returned centres.  Nothing here
asserts on time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from scalecluster import KMeans

LLOYD_MAX_ITER = 20
WARMUP_ROWS = 20_000


@dataclass
class Fit:
    centers: np.ndarray
    n_iter: int
    inertia: float  #: as the implementation reports it


def inertia64(X: np.ndarray, centers: Any, block: int = 65_536) -> float:
    """Sum of squared distances of the rows to their nearest centre, in float64.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    centers : array-like of shape (k, d)
    block : int, default=65536
        Rows per block (bounds the temporaries).

    Returns
    -------
    inertia : float
    """
    c = np.asarray(centers, dtype=np.float64)
    c_norms = (c**2).sum(axis=1)
    total = 0.0
    for start in range(0, len(X), block):
        xb = X[start : start + block].astype(np.float64)
        labels = (c_norms[None, :] - 2 * xb @ c.T).argmin(axis=1)
        total += float(((xb - c[labels]) ** 2).sum())
    return total


def measure(
    fn: Callable[[], Any], rounds: int, benchmark: Any = None, sync: Callable[[], None] | None = None
) -> tuple[float, Any]:
    """Median wall time of ``fn`` over ``rounds`` calls, and its last result.

    With ``benchmark``, the calls go through ``benchmark.pedantic`` (one
    iteration per round) so they appear in pytest-benchmark's report.  With
    ``sync`` (a GPU's synchronise), it is called before and after each call,
    so that the time covers the device's work and nothing queued before.
    """
    times: list[float] = []
    last: list[Any] = [None]
    sync = sync or (lambda: None)

    def target() -> None:
        sync()
        start = time.perf_counter()
        last[0] = fn()
        sync()
        times.append(time.perf_counter() - start)

    if benchmark is None:
        for _ in range(rounds):
            target()
    else:
        benchmark.pedantic(target, rounds=rounds, iterations=1)
    return float(np.median(times)), last[0]


def compare(row: dict, key_prefix: tuple, peers: list[str], scoreboard: dict) -> None:
    """Add ratios of ``row`` against each peer already on the scoreboard (in place)."""
    for peer in peers:
        ref = scoreboard.get((*key_prefix, peer))
        if ref is None:
            continue
        for metric in ("seconds", "s_per_iter", "extra_rss_mib"):
            if metric in row and metric in ref:
                row[f"ratio_{metric}_vs_{peer}"] = row[metric] / ref[metric]
        if "inertia_f64" in row:
            row[f"inertia_rel_diff_vs_{peer}"] = (row["inertia_f64"] - ref["inertia_f64"]) / ref["inertia_f64"]
        if "centers" in row and row.get("same_init"):
            row[f"max_center_diff_vs_{peer}"] = float(np.abs(row["centers"] - ref["centers"]).max())


def paired_ratio(fn: Callable[[], Fit], peer: Callable[[], Fit], rounds: int) -> float:
    """Median over rounds of (seconds per iteration of ``fn``) / (that of ``peer``), run back to back.

    Pairs share the machine's state of the moment, so the ratio is steadier
    than a ratio of medians taken minutes apart on a shared machine.
    """
    ratios = []
    for _ in range(rounds):
        (ta, fa), (tb, fb) = measure(fn, 1), measure(peer, 1)
        ratios.append((ta / fa.n_iter) / (tb / fb.n_iter))
    return float(np.median(ratios))


def host(a: Any) -> np.ndarray:
    """``a`` as a NumPy array (CuPy arrays are copied from the GPU, Dask arrays computed)."""
    if hasattr(a, "compute"):
        a = a.compute()
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def publish(benchmark: Any, row: dict) -> None:
    """Copy ``row`` into ``extra_info``, with the load average (the machine may be shared)."""
    benchmark.extra_info.update({k: v for k, v in row.items() if k != "centers"})
    if hasattr(os, "getloadavg"):
        benchmark.extra_info["loadavg_1min_after"] = os.getloadavg()[0]


# --------------------------------------------------------------------- GEMM
def _gemm_row(profile: dict, benchmark: Any = None) -> dict:
    n = profile["gemm_n"]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm-up: BLAS threads
    seconds, _ = measure(lambda: a @ b, profile["rounds"], benchmark)
    return {"n": n, "seconds": seconds, "gflops": 2 * n**3 / seconds / 1e9}


def gemm_gflops(scoreboard: dict, profile: dict) -> float:
    """The float32 GEMM rate of this run (measured on the spot if its benchmark was deselected)."""
    if "gemm" not in scoreboard:
        scoreboard["gemm"] = _gemm_row(profile)
    return scoreboard["gemm"]["gflops"]


def test_gemm_peak(benchmark, profile, scoreboard):
    """float32 ``n × n`` matmul: the machine's practical FLOP rate, the yardstick for KMeans."""
    benchmark.group = "gemm float32"
    row = _gemm_row(profile, benchmark)
    scoreboard["gemm"] = row
    publish(benchmark, row)


# ------------------------------------------------------------ NumPy Lloyd
NUMPY_IMPLS = ["sklearn", "sklearnex", "faiss", "scalecluster"]  # peers first
OPTIONAL = {"sklearnex": "sklearnex.cluster", "faiss": "faiss", "dask-ml": "dask_ml.cluster"}


def _require(impl: str) -> None:
    if impl in OPTIONAL:
        pytest.importorskip(OPTIONAL[impl], reason=f"{impl} is not installed")


def fit_numpy(impl: str, X: np.ndarray, init: np.ndarray, max_iter: int) -> Fit:
    """Lloyd from ``init`` for ``max_iter`` iterations at most (tol=0, n_init=1)."""
    k, d = init.shape
    if impl == "faiss":
        import faiss

        # No subsampling (faiss keeps 256 rows per centroid by default); faiss
        # always runs niter iterations and reports the objective of the last E-step.
        km = faiss.Kmeans(d, k, niter=max_iter, max_points_per_centroid=len(X), seed=0, verbose=False)
        km.train(X, init_centroids=init)
        return Fit(km.centroids.copy(), max_iter, float(km.obj[-1]))
    if impl == "sklearn":
        from sklearn.cluster import KMeans as Estimator
    elif impl == "sklearnex":
        from sklearnex.cluster import KMeans as Estimator
    else:
        Estimator = KMeans
    params = dict(n_clusters=k, init=init, n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd")
    model = Estimator(**params).fit(X)
    return Fit(np.asarray(model.cluster_centers_), int(model.n_iter_), float(model.inertia_))


def _numpy_row(impl: str, k: int, X: np.ndarray, init: np.ndarray, profile: dict, scoreboard: dict, benchmark=None) -> dict:
    fit_numpy(impl, X[:WARMUP_ROWS], init, 2)  # warm-up: JIT, thread pools, lazy imports
    seconds, fit = measure(lambda: fit_numpy(impl, X, init, LLOYD_MAX_ITER), profile["rounds"], benchmark)
    n, d = X.shape
    peak = gemm_gflops(scoreboard, profile)
    gflops = 2 * n * k * d * fit.n_iter / seconds / 1e9
    return {
        "impl": impl, "k": k, "n_samples": n, "n_features": d, "same_init": True,
        "seconds": seconds, "n_iter": fit.n_iter, "s_per_iter": seconds / fit.n_iter,
        "inertia_reported": fit.inertia, "inertia_f64": inertia64(X, fit.centers),
        "gflops": gflops, "gemm_gflops": peak, "fraction_of_gemm": gflops / peak,
        "centers": fit.centers,
    }


@pytest.mark.parametrize("k", [16, 64])
@pytest.mark.parametrize("impl", NUMPY_IMPLS)
def test_numpy_lloyd(benchmark, impl, k, blobs, init_centers, profile, scoreboard):
    """Lloyd on 1M × 16 float32 from the same explicit centres: seconds per iteration."""
    _require(impl)
    benchmark.group = f"numpy lloyd k={k}"
    init = init_centers(k)
    if impl != "sklearn" and ("numpy", k, "sklearn") not in scoreboard:
        scoreboard[("numpy", k, "sklearn")] = _numpy_row("sklearn", k, blobs, init, profile, scoreboard)
    row = _numpy_row(impl, k, blobs, init, profile, scoreboard, benchmark)
    compare(row, ("numpy", k), NUMPY_IMPLS[: NUMPY_IMPLS.index(impl)], scoreboard)
    if impl == "scalecluster":
        row["paired_ratio_s_per_iter_vs_sklearn"] = paired_ratio(
            lambda: fit_numpy(impl, blobs, init, LLOYD_MAX_ITER),
            lambda: fit_numpy("sklearn", blobs, init, LLOYD_MAX_ITER),
            profile["rounds"],
        )
    scoreboard[("numpy", k, impl)] = row
    publish(benchmark, row)


# -------------------------------------------------------------- Dask fit
DASK_IMPLS = ["sklearn", "dask-ml", "scalecluster"]  # sklearn: in memory, for reference


def fit_dask(impl: str, X: Any, Xnp: np.ndarray, init: Any, max_iter: int, k: int = 16) -> Fit:
    """One fit (init included) with tol=0; ``init`` is "k-means||" or an array."""
    if impl == "sklearn":
        from sklearn.cluster import KMeans as Estimator

        # scikit-learn has no k-means||: its own default (greedy k-means++) stands in.
        params = dict(init="k-means++" if isinstance(init, str) else init, n_init=1)
        X = Xnp
    elif impl == "dask-ml":
        from dask_ml.cluster import KMeans as Estimator

        params = dict(init=init)
    else:
        Estimator = KMeans
        params = dict(init=init)
    model = Estimator(n_clusters=k, max_iter=max_iter, tol=0.0, random_state=0, **params).fit(X)
    return Fit(np.asarray(model.cluster_centers_), int(model.n_iter_), float(model.inertia_))


@pytest.mark.parametrize("init", ["k-means||", "array"])
@pytest.mark.parametrize("impl", DASK_IMPLS)
def test_dask_fit(benchmark, impl, init, blobs, dask_blobs, init_centers, profile, scoreboard):
    """Dask backend vs dask-ml on a 2-worker LocalCluster, k=16, tol=0, total fit time (init included)."""
    _require(impl)
    benchmark.group = f"dask fit k=16 init={init}"
    centers0 = init if init == "k-means||" else init_centers(16)
    max_iter = profile["dask_max_iter"]

    def row_of(name: str, bench: Any = None) -> dict:
        fit_dask(name, dask_blobs, blobs, init_centers(16), 1)  # warm-up: JIT and imports on the workers
        seconds, fit = measure(
            lambda: fit_dask(name, dask_blobs, blobs, centers0, max_iter), profile["dask_rounds"], bench
        )
        return {
            "impl": name, "init": init, "k": 16, "n_samples": len(blobs), "chunk_rows": profile["chunk_rows"],
            "max_iter": max_iter,
            "same_init": init == "array", "seconds": seconds, "n_iter": fit.n_iter,
            "s_per_iter": seconds / fit.n_iter, "inertia_reported": fit.inertia,
            "inertia_f64": inertia64(blobs, fit.centers), "centers": fit.centers,
        }

    main_peer = ("dask", init, "dask-ml")
    if impl == "scalecluster" and main_peer not in scoreboard:
        _require("dask-ml")
        scoreboard[main_peer] = row_of("dask-ml")
    row = row_of(impl, benchmark)
    compare(row, ("dask", init), DASK_IMPLS[: DASK_IMPLS.index(impl)], scoreboard)
    scoreboard[("dask", init, impl)] = row
    publish(benchmark, row)


# ------------------------------------------------------------ peak memory
_MEMORY_SCRIPT = r"""
import gc, json, sys, tracemalloc
import numpy as np
path, impl, k, case = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, sys.argv[5])
from benchmarks._peak_rss import peak, reset_peak
X = np.load(path)
if impl == "sklearn":
    from sklearn.cluster import KMeans
else:
    from scalecluster import KMeans
params = dict(n_clusters=k, n_init=1, max_iter=20, random_state=0)
if case == "array-init-tol0":
    params.update(init=X[np.random.default_rng(0).permutation(len(X))[:k]].copy(), tol=0.0)
KMeans(**params).fit(X[:20000])  # warm-up: JIT, thread pools, lazy imports
gc.collect()
base = reset_peak()
model = KMeans(**params).fit(X)
extra_rss = peak() - base
del model
gc.collect()
tracemalloc.start()
KMeans(**params).fit(X)
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"extra_rss": extra_rss, "traced_peak": traced, "x_bytes": X.nbytes}))
"""

MEMORY_IMPLS = ["sklearn", "scalecluster"]


def _memory_once(path, impl: str, k: int, case: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(path), impl, str(k), case, str(Path(__file__).resolve().parent.parent)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("case", ["array-init-tol0", "defaults"])
@pytest.mark.parametrize("impl", MEMORY_IMPLS)
def test_peak_memory(benchmark, impl, case, blobs_file, profile, scoreboard):
    """Peak resident memory of one NumPy fit (k=16) beyond ``X``, in a fresh subprocess.

    ``extra_rss`` is the rise of the peak resident size (VmHWM) over the
    resident size just before ``fit``; ``traced_peak`` is tracemalloc's peak
    during a second fit, which sees NumPy allocations but not those made in
    numba or C code.  ``defaults`` means the default init and ``tol=1e-4``.
    """
    benchmark.group = f"peak memory k=16 {case}"

    def row_of(name: str, bench: Any = None) -> dict:
        samples: list[dict] = []
        measure(lambda: samples.append(_memory_once(blobs_file, name, 16, case)), profile["memory_rounds"], bench)
        x_bytes = samples[0]["x_bytes"]
        extra = float(np.median([s["extra_rss"] for s in samples]))
        traced = float(np.median([s["traced_peak"] for s in samples]))
        return {
            "impl": name, "case": case, "x_mib": x_bytes / 2**20,
            "extra_rss_mib": extra / 2**20, "extra_rss_over_x": extra / x_bytes,
            "traced_peak_mib": traced / 2**20, "traced_peak_over_x": traced / x_bytes,
        }

    if impl != "sklearn" and ("memory", case, "sklearn") not in scoreboard:
        scoreboard[("memory", case, "sklearn")] = row_of("sklearn")
    row = row_of(impl, benchmark)
    compare(row, ("memory", case), MEMORY_IMPLS[: MEMORY_IMPLS.index(impl)], scoreboard)
    scoreboard[("memory", case, impl)] = row
    publish(benchmark, row)


# ------------------------------------------------------------ GPU backends
GPU_IMPLS = ["cuml", "scalecluster"]  # peer first


def _gpu_sync() -> None:
    import cupy

    cupy.cuda.Device().synchronize()


def fit_gpu(impl: str, X: Any, init: np.ndarray, max_iter: int) -> Fit:
    """Lloyd on a CuPy array from ``init`` (tol=0, n_init=1), synchronised before returning."""
    k = len(init)
    if impl == "cuml":
        import cupy
        from cuml.cluster import KMeans as Estimator

        params = {"init": cupy.asarray(init)}
    else:
        Estimator = KMeans
        params = {"init": init, "algorithm": "lloyd"}
    model = Estimator(n_clusters=k, n_init=1, max_iter=max_iter, tol=0.0, **params).fit(X)
    _gpu_sync()
    return Fit(host(model.cluster_centers_), int(model.n_iter_), float(model.inertia_))


@pytest.mark.gpu
@pytest.mark.parametrize("k", [16, 64])
@pytest.mark.parametrize("impl", GPU_IMPLS)
def test_cupy_lloyd(benchmark, impl, k, blobs, cupy_blobs, init_centers, profile, scoreboard):
    """Lloyd on the GPU (CuPy input), same centres as ``test_numpy_lloyd``; ratios vs cuML and the CPU rows."""
    if impl == "cuml":
        pytest.importorskip("cuml")
    benchmark.group = f"cupy lloyd k={k}"
    init = init_centers(k)
    fit_gpu(impl, cupy_blobs[:WARMUP_ROWS], init, 2)  # warm-up: kernels, memory pool
    seconds, fit = measure(lambda: fit_gpu(impl, cupy_blobs, init, LLOYD_MAX_ITER), profile["rounds"], benchmark)
    n, d = blobs.shape
    row = {
        "impl": impl, "backend": "cupy", "k": k, "n_samples": n, "n_features": d, "same_init": True,
        "seconds": seconds, "n_iter": fit.n_iter, "s_per_iter": seconds / fit.n_iter,
        "inertia_reported": fit.inertia, "inertia_f64": inertia64(blobs, fit.centers),
        "gflops": 2 * n * k * d * fit.n_iter / seconds / 1e9, "centers": fit.centers,
    }
    compare(row, ("numpy", k), NUMPY_IMPLS, scoreboard)  # the CPU rows of this run (scalecluster on NumPy too)
    compare(row, ("cupy", k), GPU_IMPLS[: GPU_IMPLS.index(impl)], scoreboard)
    scoreboard[("cupy", k, impl)] = row
    publish(benchmark, row)


@pytest.mark.gpu
@pytest.mark.parametrize("init", ["k-means||", "array"])
def test_dask_cupy_fit(benchmark, init, blobs, dask_cupy_blobs, init_centers, profile, scoreboard):
    """scalecluster on Dask over CuPy (the LocalCluster's workers share the GPU), as ``test_dask_fit``."""
    benchmark.group = f"dask fit k=16 init={init}"
    centers0 = init if init == "k-means||" else init_centers(16)
    max_iter = profile["dask_max_iter"]

    def fit(c: Any, it: int) -> Fit:
        model = KMeans(n_clusters=16, max_iter=it, tol=0.0, random_state=0, init=c).fit(dask_cupy_blobs)
        return Fit(host(model.cluster_centers_), int(model.n_iter_), float(model.inertia_))

    fit(init_centers(16), 1)  # warm-up
    seconds, result = measure(lambda: fit(centers0, max_iter), profile["dask_rounds"], benchmark)
    row = {
        "impl": "scalecluster", "backend": "dask-cupy", "init": init, "k": 16, "n_samples": len(blobs),
        "chunk_rows": profile["chunk_rows"], "max_iter": max_iter, "same_init": init == "array",
        "seconds": seconds, "n_iter": result.n_iter, "s_per_iter": seconds / result.n_iter,
        "inertia_reported": result.inertia, "inertia_f64": inertia64(blobs, result.centers),
        "centers": result.centers,
    }
    compare(row, ("dask", init), DASK_IMPLS, scoreboard)
    scoreboard[("dask", init, "scalecluster-dask-cupy")] = row
    publish(benchmark, row)
