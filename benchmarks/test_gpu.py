"""GPU rows: scalecluster's CUDA kernels against the device's own yardsticks and plain CuPy, in one run.

Every row here is marked ``gpu`` and skips without CuPy and a CUDA GPU; their
names contain ``gpu``, so ``-k "cupy or gpu"`` selects them, and the suite's
conftest runs them before every other row (a time-limited device run measures
them first).  Each records the device's name and the two yardsticks below,
and places its time on a roofline made of them:

* ``test_gpu_yardsticks``: the float32 GEMM rate (``n × n`` matmul through
  CuPy, median of warm runs, TFLOP/s) and the copy bandwidth (a device-to-
  device copy of ``copy_mib``, GB/s counting the bytes read and written).
  Other rows measure them on the spot if this row was deselected.
* ``test_gpu_lloyd[impl-k]``: one Lloyd iteration on the session's blobs
  (10M × 16 float32 at ``large``), k = 64 and 1024, from the same explicit
  centres for the same number of iterations: a plain CuPy Lloyd written here
  (:func:`plain_lloyd`: GEMM, argmin, scatter-add and bincount in row
  blocks), cuML when installed, and scalecluster (fit time / ``n_iter_``, so
  its figure also carries the fit's set-up and last E-step).  Per iteration:
  ``2 n k d`` flops and at least ``n d itemsize`` bytes read; the floor is
  the larger of the two at the measured rates.
* ``test_gpu_lloyd_vs_numpy``: scalecluster on CuPy against scalecluster on
  NumPy (this machine's CPUs), 1M × 16, k = 64, 20 iterations.
* ``test_gpu_dbscan``: 2-D blobs + 5 % noise, about 40 neighbours per point,
  ``min_samples=10`` (10M points at ``large``): scalecluster on CuPy against
  scalecluster on NumPy, the same float64 data; labels compared exactly.
* ``test_gpu_silhouette``: the exact silhouette of 200k × 16 float32 with 10
  labels: scalecluster on CuPy against a plain CuPy version built on GEMM
  distance blocks (:func:`plain_silhouette`) and against scalecluster on NumPy
  (its first 100k rows at ``large``, recorded); the floor is ``n² d`` FMAs at the
  measured GEMM rate.

The helpers that build the baselines and yardsticks take the array module
``xp`` as an argument, so they run on NumPy as well (that is how they are
checked without a GPU).  Nothing here asserts on time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pytest

from benchmarks.conftest import require_cupy

from .test_dbscan import MIN_SAMPLES, TARGET_NEIGHBOURS
from .test_kmeans import (
    LLOYD_MAX_ITER,
    WARMUP_ROWS,
    Fit,
    compare,
    fit_gpu,
    fit_numpy,
    host,
    measure,
    publish,
)

#: Sizes and repeats per profile.  ``large`` is what the device check runs (about
#: 100 s on an H200 with JIT compilation, see ``benchmarks/README.md``);
#: ``fast`` and ``regular`` stay small.  The Lloyd rows use the session's blobs.
SETTINGS = {
    "fast": {"gemm_n": 1024, "copy_mib": 64, "yard_rounds": 3, "rounds": 1, "lloyd_iter": 5,
             "dbscan_n": 20_000, "dbscan_numpy_rounds": 1, "sil_n": 5_000, "sil_numpy_n": 5_000},
    "regular": {"gemm_n": 4096, "copy_mib": 512, "yard_rounds": 10, "rounds": 3, "lloyd_iter": 20,
                "dbscan_n": 1_000_000, "dbscan_numpy_rounds": 1, "sil_n": 50_000, "sil_numpy_n": 50_000},
    "large": {"gemm_n": 8192, "copy_mib": 2048, "yard_rounds": 10, "rounds": 3, "lloyd_iter": 20,
              "dbscan_n": 10_000_000, "dbscan_numpy_rounds": 1, "sil_n": 200_000, "sil_numpy_n": 100_000},
}  # fmt: skip
#: Centres of the Lloyd rows.
GPU_KS = [64, 1024]
#: The Lloyd rows' implementations, peers first (each later row holds its ratios to the earlier ones).
LLOYD_IMPLS = ["plain-cupy", "cuml", "scalecluster"]
#: Rows of the CuPy-vs-NumPy Lloyd row (fewer when the profile's data is smaller).
CPU_COMPARISON_ROWS = 1_000_000
#: Labels of the silhouette's data.
SILHOUETTE_LABELS = 10
#: Rows whose k-d tree picks DBSCAN's eps (the counts are scaled to the full data beyond).
EPS_SAMPLE_ROWS = 1_000_000
#: Elements of one row block's temporary (scores, distances): 256 MiB in float32.
BLOCK_ELEMENTS = 2**26


def settings(profile: dict) -> dict:
    return SETTINGS[profile["name"]]


# ------------------------------------------------------------------ timing
def sync_of(xp: Any) -> Callable[[], None]:
    """A function that waits for the device of ``xp`` (nothing to wait for on NumPy)."""
    cuda = getattr(xp, "cuda", None)
    if cuda is None:
        return lambda: None
    return lambda: cuda.Device().synchronize()


def timed(fn: Callable[[], Any], rounds: int, sync: Callable[[], None], benchmark: Any = None) -> tuple[float, Any]:
    """Median wall time of ``fn`` over ``rounds`` calls, the device synchronised before and after each."""
    return measure(fn, rounds, benchmark, sync=sync)


def free_pool(xp: Any) -> None:
    """Give CuPy's pooled memory back to the device (no-op on NumPy)."""
    if hasattr(xp, "get_default_memory_pool"):
        sync_of(xp)()
        xp.get_default_memory_pool().free_all_blocks()


# -------------------------------------------------------------- yardsticks
def gemm_rate(xp: Any, n: int, rounds: int, benchmark: Any = None) -> dict:
    """float32 ``n × n`` matmul with ``xp``: median of warm runs, in TFLOP/s (``2 n³`` flops)."""
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    b = xp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    c = xp.empty((n, n), dtype=xp.float32)
    for _ in range(2):  # warm-up: the BLAS handle, the clocks
        xp.matmul(a, b, out=c)
    seconds, _ = timed(lambda: xp.matmul(a, b, out=c), rounds, sync_of(xp), benchmark)
    return {"gemm_n": n, "gemm_seconds": seconds, "gemm_tflops": 2 * n**3 / seconds / 1e12}


def copy_bandwidth(xp: Any, nbytes: int, rounds: int) -> dict:
    """A device-to-device copy ``b[...] = a`` of ``nbytes``: median of warm runs, GB/s counting read + write."""
    a = xp.ones(nbytes // 4, dtype=xp.float32)
    b = xp.empty_like(a)

    def copy() -> None:
        b[...] = a

    copy()  # warm-up
    seconds, _ = timed(copy, rounds, sync_of(xp))
    return {"copy_bytes": int(a.nbytes), "copy_seconds": seconds, "copy_gbps": 2 * a.nbytes / seconds / 1e9}


def device_info(cupy: Any) -> dict:
    """The GPU's name and the CuPy / CUDA versions."""
    import os

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return {
        "device": name.decode() if isinstance(name, bytes) else str(name),
        "device_memory_gib": round(float(props.get("totalGlobalMem", 0)) / 2**30, 1),
        "cupy_version": getattr(cupy, "__version__", None),
        "cuda_runtime_version": cupy.cuda.runtime.runtimeGetVersion(),
        "cupy_tf32": os.environ.get("CUPY_TF32", "0"),  # 1: float32 matmul on TF32 tensor cores
    }


def _yardsticks(cupy: Any, profile: dict, benchmark: Any = None) -> dict:
    s = settings(profile)
    row = device_info(cupy)
    row.update(gemm_rate(cupy, s["gemm_n"], s["yard_rounds"], benchmark))
    free_pool(cupy)
    row.update(copy_bandwidth(cupy, s["copy_mib"] * 2**20, s["yard_rounds"]))
    free_pool(cupy)
    return row


def gpu_yardsticks(scoreboard: dict, profile: dict) -> dict:
    """This run's GEMM rate and copy bandwidth (measured on the spot if their row was deselected)."""
    if "gpu-yardsticks" not in scoreboard:
        scoreboard["gpu-yardsticks"] = _yardsticks(require_cupy(), profile)
    return scoreboard["gpu-yardsticks"]


def roofline(flops: float, bytes_read: float, seconds: float, yard: dict) -> dict:
    """Achieved rates, their fractions of the yardsticks, the floor and how far above it ``seconds`` is.

    The floor is ``max(flops / GEMM rate, bytes / bandwidth)``; the copy
    bandwidth counts read and write bytes, so it is the device's traffic rate.
    """
    gemm, bandwidth = yard["gemm_tflops"] * 1e12, yard["copy_gbps"] * 1e9
    floor = max(flops / gemm, bytes_read / bandwidth)
    return {
        "device": yard["device"], "gemm_tflops_measured": yard["gemm_tflops"], "copy_gbps_measured": yard["copy_gbps"],
        "tflops": flops / seconds / 1e12, "gbps": bytes_read / seconds / 1e9,
        "fraction_of_gemm": flops / seconds / gemm, "fraction_of_bandwidth": bytes_read / seconds / bandwidth,
        "floor_ms": 1e3 * floor, "times_floor": seconds / floor,
    }  # fmt: skip


@pytest.mark.gpu
def test_gpu_yardsticks(benchmark, profile, scoreboard):
    """The device's float32 GEMM rate and copy bandwidth, the yardsticks of every other GPU row."""
    cupy = require_cupy()
    benchmark.group = "gpu yardsticks"
    row = _yardsticks(cupy, profile, benchmark)
    scoreboard["gpu-yardsticks"] = row
    publish(benchmark, row)


# ------------------------------------------------------------------- Lloyd
def scatter_add_of(xp: Any) -> Callable[[Any, Any, Any], None]:
    """``f(a, index, values)``: ``a[index] += values`` unbuffered (repeated indices all add)."""
    if xp is np:
        return np.add.at
    try:
        import cupyx

        return cupyx.scatter_add
    except ImportError:
        return xp.add.at


def plain_lloyd(xp: Any, X: Any, init: Any, n_iter: int, block_elements: int = BLOCK_ELEMENTS) -> tuple[Any, int]:
    """``n_iter`` Lloyd iterations written plainly in ``xp``: what a user of CuPy would write.

    Per iteration and row block: a GEMM of the centred rows against
    ``-2 (c - s)ᵀ`` plus the centres' norms (the centred expansion scalecluster
    uses, with ``s`` the centres' mean), argmin over k, the per-centre sums by
    scatter-add in float64 and the counts by ``bincount``.  The new centres are
    the means in float64, rounded to the data's dtype; an empty cluster keeps
    its centre (scalecluster would move it: :func:`n_empty` is returned).

    Parameters
    ----------
    xp : module
        NumPy or CuPy; ``X`` is an array of it.
    X : array of shape (n, d)
    init : array-like of shape (k, d)
    n_iter : int
    block_elements : int, default=2**26
        Bound of a block's (rows × k) score matrix.

    Returns
    -------
    centers : array of shape (k, d), ``X``'s dtype, in ``xp``
    n_empty : int
        Empty clusters met over all iterations.
    """
    n, d = X.shape
    k = len(init)
    scatter_add = scatter_add_of(xp)
    block = max(1, min(n, block_elements // k))
    centers = xp.asarray(np.asarray(host(init), dtype=X.dtype)).astype(xp.float64)
    n_empty = 0
    for _ in range(n_iter):
        shift = centers.mean(axis=0)
        centred = centers - shift
        operand = (-2.0 * centred).T.astype(X.dtype)  # (d, k)
        norms = (centred**2).sum(axis=1).astype(X.dtype)
        shift_x = shift.astype(X.dtype)
        sums = xp.zeros((k, d), dtype=xp.float64)
        counts = xp.zeros(k, dtype=xp.int64)
        for start in range(0, n, block):
            xb = X[start : start + block]
            scores = (xb - shift_x) @ operand
            scores += norms
            labels = scores.argmin(axis=1)
            scatter_add(sums, labels, xb.astype(xp.float64))
            counts += xp.bincount(labels, minlength=k)
        filled = counts > 0
        n_empty += int(k - int(filled.sum()))
        means = sums / xp.maximum(counts, 1)[:, None]
        centers = xp.where(filled[:, None], means, centers).astype(X.dtype).astype(xp.float64)
    return centers.astype(X.dtype), n_empty


def inertia64_xp(xp: Any, X: Any, centers: Any, block_elements: int = BLOCK_ELEMENTS) -> float:
    """:func:`benchmarks.test_kmeans.inertia64` with ``xp``: float64, in row blocks, on ``X``'s device."""
    c = xp.asarray(np.asarray(host(centers), dtype=np.float64))
    c_norms = (c**2).sum(axis=1)
    n, k = X.shape[0], c.shape[0]
    block = max(1, min(n, block_elements // max(k, X.shape[1])))
    total = xp.zeros((), dtype=xp.float64)
    for start in range(0, n, block):
        xb = X[start : start + block].astype(xp.float64)
        labels = (c_norms[None, :] - 2 * xb @ c.T).argmin(axis=1)
        total += ((xb - c[labels]) ** 2).sum()
    return float(total)


@dataclass
class PlainFit(Fit):
    n_empty: int = 0  #: empty clusters met (the plain Lloyd keeps their centres)


def fit_lloyd(impl: str, cupy: Any, X: Any, init: np.ndarray, n_iter: int) -> Fit:
    """``n_iter`` iterations of ``impl`` on the CuPy array ``X`` from ``init``, synchronised."""
    if impl == "plain-cupy":
        centers, n_empty = plain_lloyd(cupy, X, init, n_iter)
        sync_of(cupy)()
        return PlainFit(host(centers), n_iter, float("nan"), n_empty)
    return fit_gpu(impl, X, init, n_iter)


def _lloyd_row(impl: str, cupy: Any, X: Any, init: np.ndarray, n_iter: int, rounds: int, yard: dict,
               benchmark: Any = None) -> dict:  # fmt: skip
    fit_lloyd(impl, cupy, X[:WARMUP_ROWS], init, 2)  # warm-up: JIT compilation, CuPy kernels, the pool
    seconds, fit = timed(lambda: fit_lloyd(impl, cupy, X, init, n_iter), rounds, sync_of(cupy), benchmark)
    n, d = X.shape
    k = len(init)
    s_per_iter = seconds / fit.n_iter
    row = {
        "impl": impl, "backend": "cupy", "k": k, "n_samples": n, "n_features": d, "dtype": str(X.dtype),
        "same_init": True, "max_iter": n_iter, "n_iter": fit.n_iter, "rounds": rounds, "seconds": seconds,
        "s_per_iter": s_per_iter, "ms_per_iter": 1e3 * s_per_iter,
        "inertia_f64": inertia64_xp(cupy, X, fit.centers), "centers": fit.centers,
    }  # fmt: skip
    if isinstance(fit, PlainFit):
        row["n_empty"] = fit.n_empty
    row.update(roofline(2 * n * k * d, n * d * X.dtype.itemsize, s_per_iter, yard))
    return row


@pytest.mark.gpu
@pytest.mark.parametrize("k", GPU_KS)
@pytest.mark.parametrize("impl", LLOYD_IMPLS)
def test_gpu_lloyd(benchmark, impl, k, cupy_blobs, init_centers, profile, scoreboard):
    """Time per Lloyd iteration against the roofline, plain CuPy and cuML, from the same centres."""
    cupy = require_cupy()
    if impl == "cuml":
        pytest.importorskip("cuml")
    benchmark.group = f"gpu lloyd k={k}"
    yard = gpu_yardsticks(scoreboard, profile)
    s = settings(profile)
    init = init_centers(k)
    key = ("gpu-lloyd", k)
    if impl != "plain-cupy" and (*key, "plain-cupy") not in scoreboard:
        scoreboard[(*key, "plain-cupy")] = _lloyd_row("plain-cupy", cupy, cupy_blobs, init, s["lloyd_iter"], 1, yard)
    row = _lloyd_row(impl, cupy, cupy_blobs, init, s["lloyd_iter"], s["rounds"], yard, benchmark)
    plain = row if impl == "plain-cupy" else scoreboard[(*key, "plain-cupy")]
    if impl != "plain-cupy" and row["n_iter"] != plain["n_iter"]:
        # It stopped early (labels unchanged): score it against as many plain iterations.
        centers, _ = plain_lloyd(cupy, cupy_blobs, init, row["n_iter"])
        plain = dict(plain, n_iter=row["n_iter"], centers=host(centers),
                     inertia_f64=inertia64_xp(cupy, cupy_blobs, centers))  # fmt: skip
    compare(row, key, LLOYD_IMPLS[: LLOYD_IMPLS.index(impl)], {**scoreboard, (*key, "plain-cupy"): plain})
    if impl != "plain-cupy":
        row["plain_n_empty"] = plain.get("n_empty")  # > 0: the two differ by design (empty-cluster moves)
    scoreboard[(*key, impl)] = row
    publish(benchmark, row)


@pytest.mark.gpu
def test_gpu_lloyd_vs_numpy(benchmark, blobs, cupy_blobs, init_centers, profile, scoreboard):
    """scalecluster's Lloyd on CuPy against scalecluster's on NumPy (this machine's CPUs): 1M × 16, k = 64."""
    cupy = require_cupy()
    benchmark.group = "gpu lloyd vs numpy k=64"
    yard = gpu_yardsticks(scoreboard, profile)
    rounds = settings(profile)["rounds"]
    n = min(len(blobs), CPU_COMPARISON_ROWS)
    X, Xg, init, k = blobs[:n], cupy_blobs[:n], init_centers(64), 64
    fit_numpy("scalecluster", X[:WARMUP_ROWS], init, 2)  # warm-up: numba, thread pools
    t_cpu, fit_cpu = measure(lambda: fit_numpy("scalecluster", X, init, LLOYD_MAX_ITER), rounds)
    fit_gpu("scalecluster", Xg[:WARMUP_ROWS], init, 2)  # warm-up: JIT compilation
    t_gpu, fit_dev = timed(lambda: fit_gpu("scalecluster", Xg, init, LLOYD_MAX_ITER), rounds, sync_of(cupy),
                           benchmark)  # fmt: skip
    d = X.shape[1]
    cpu_iter, gpu_iter = t_cpu / fit_cpu.n_iter, t_gpu / fit_dev.n_iter
    inertia_cpu, inertia_gpu = inertia64_xp(cupy, Xg, fit_cpu.centers), inertia64_xp(cupy, Xg, fit_dev.centers)
    row = {
        "impl": "scalecluster", "backend": "cupy", "k": k, "n_samples": n, "n_features": d, "rounds": rounds,
        "max_iter": LLOYD_MAX_ITER, "n_iter": fit_dev.n_iter, "n_iter_numpy": fit_cpu.n_iter,
        "seconds": t_gpu, "s_per_iter": gpu_iter, "ms_per_iter": 1e3 * gpu_iter,
        "seconds_numpy": t_cpu, "ms_per_iter_numpy": 1e3 * cpu_iter,
        "gflops_numpy": 2 * n * k * d / cpu_iter / 1e9,
        "ratio_s_per_iter_vs_numpy": gpu_iter / cpu_iter, "speedup_vs_numpy": cpu_iter / gpu_iter,
        "inertia_f64": inertia_gpu, "inertia_f64_numpy": inertia_cpu,
        "inertia_rel_diff_vs_numpy": (inertia_gpu - inertia_cpu) / inertia_cpu,
        "max_center_diff_vs_numpy": float(np.abs(fit_dev.centers - fit_cpu.centers).max()),
    }  # fmt: skip
    row.update(roofline(2 * n * k * d, n * d * X.dtype.itemsize, gpu_iter, yard))
    scoreboard[("gpu-lloyd-vs-numpy", k)] = row
    publish(benchmark, row)


# ------------------------------------------------------------------ DBSCAN
def eps_for_neighbours(X: np.ndarray, target: float, rng: np.random.Generator,
                       sample_rows: int = EPS_SAMPLE_ROWS, queries: int = 2000) -> float:  # fmt: skip
    """The eps at which a point of ``X`` has about ``target`` neighbours (itself included), on average.

    Bisection on the mean neighbour count of ``queries`` points.  Up to
    ``sample_rows`` rows this is :func:`benchmarks.test_dbscan.blobs_with_noise`'s
    rule, with the same draws; beyond, the k-d tree holds a random subsample
    of ``sample_rows`` rows, the queries are among them, and a query's count
    ``c`` in the subsample stands for ``1 + (c - 1) (n - 1) / (sample_rows - 1)``
    in the data (its expectation), so eps costs the same at 10M as at 1M.
    """
    from sklearn.neighbors import KDTree

    n = len(X)
    if n <= sample_rows:
        sample, tree, scale = X[rng.choice(n, queries, replace=False)], KDTree(X), 1.0
    else:
        rows = X[rng.choice(n, sample_rows, replace=False)]
        sample, tree, scale = rows[:queries], KDTree(rows), (n - 1) / (sample_rows - 1)
    low, high = 1e-4, 20.0
    for _ in range(40):
        eps = (low * high) ** 0.5
        counts = 1 + (tree.query_radius(sample, eps, count_only=True) - 1) * scale
        low, high = (eps, high) if counts.mean() < target else (low, eps)
    return float(eps)


@lru_cache(maxsize=2)
def dbscan_data(n: int, d: int = 2) -> tuple[np.ndarray, float]:
    """``test_dbscan``'s blobs + 5 % noise (the same generator and draws) and eps for ~40 neighbours."""
    from sklearn.datasets import make_blobs

    n_noise = n // 20
    X, _ = make_blobs(n - n_noise, n_features=d, centers=10, cluster_std=1.0, center_box=(-20, 20), random_state=0)
    rng = np.random.default_rng(0)
    X = np.ascontiguousarray(np.vstack([X, rng.uniform(X.min(axis=0), X.max(axis=0), size=(n_noise, d))]))
    return X, eps_for_neighbours(X, TARGET_NEIGHBOURS, rng)


@contextmanager
def host_fallbacks() -> Iterator[list[str]]:
    """Collect scalecluster's log lines saying that data was clustered on the host instead of the device."""
    seen: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "on the host" in message:
                seen.append(message)

    logger = logging.getLogger("scalecluster")
    handler, level = Catch(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.gpu
def test_gpu_dbscan(benchmark, profile, scoreboard):
    """scalecluster's DBSCAN on CuPy against scalecluster's on NumPy, same 2-D data: seconds, equal labels."""
    from scalecluster import DBSCAN

    cupy = require_cupy()
    s = settings(profile)
    n = s["dbscan_n"]
    benchmark.group = f"gpu dbscan 2-D n={n}"
    device = gpu_yardsticks(scoreboard, profile)["device"]
    start = time.perf_counter()
    X, eps = dbscan_data(n)
    data_seconds = time.perf_counter() - start
    Xg = cupy.asarray(X)
    sync = sync_of(cupy)

    def fit(data: Any, radius: float = eps) -> np.ndarray:
        return host(DBSCAN(eps=radius, min_samples=MIN_SAMPLES).fit(data).labels_)

    # Warm-up (JIT compilation of every kernel): a slice at the same density as the whole.
    m = min(n, 20_000)
    warm_eps = eps * (n / m) ** (1 / X.shape[1])
    fit(X[:m], warm_eps)
    fit(Xg[:m], warm_eps)
    t_cpu, labels_cpu = measure(lambda: fit(X), s["dbscan_numpy_rounds"])
    pool = cupy.get_default_memory_pool()
    free_pool(cupy)
    pool_before = pool.total_bytes()
    with host_fallbacks() as fallbacks:
        t_gpu, labels_gpu = timed(lambda: fit(Xg), s["rounds"], sync, benchmark)
    row = {
        "impl": "scalecluster", "backend": "cupy", "device": device,
        "n": n, "d": X.shape[1], "eps": eps, "min_samples": MIN_SAMPLES, "rounds": s["rounds"],
        "seconds": t_gpu, "seconds_numpy": t_cpu, "numpy_rounds": s["dbscan_numpy_rounds"],
        "ratio_seconds_vs_numpy": t_gpu / t_cpu, "speedup_vs_numpy": t_cpu / t_gpu,
        "labels_equal_numpy": bool(np.array_equal(labels_gpu, labels_cpu)),
        "label_mismatch": int(np.count_nonzero(labels_gpu != labels_cpu)),
        "n_clusters": int(labels_gpu.max()) + 1, "n_noise": int(np.count_nonzero(labels_gpu == -1)),
        # Growth of CuPy's pool over the fits: an upper bound of the fit's peak (the pool keeps its blocks).
        "gpu_pool_peak_mib": (pool.total_bytes() - pool_before) / 2**20, "x_mib": X.nbytes / 2**20,
        "on_device": not fallbacks, "data_and_eps_seconds": data_seconds,
    }  # fmt: skip
    scoreboard[("gpu-dbscan", n)] = row
    publish(benchmark, row)


# -------------------------------------------------------------- silhouette
def plain_silhouette(xp: Any, X: Any, labels: Any, block_elements: int = BLOCK_ELEMENTS) -> Any:
    """Exact silhouettes written plainly in ``xp``: GEMM distance blocks and per-label sums by a second GEMM.

    Per block of query rows: ``||x||² + ||q||² - 2 q Xᵀ`` on the centred data
    (float32 GEMM), the query's own distance set to 0, ``sqrt(max(., 0))``,
    then the (queries × labels) sums as the block times the one-hot label
    matrix.  Memory: one (block × n) matrix of ``block_elements`` at most.

    Returns
    -------
    silhouette : array of shape (n,), float64, in ``xp``
    """
    n = X.shape[0]
    classes, codes, counts = xp.unique(labels, return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    n_labels = classes.shape[0]
    Xc = X - X.mean(axis=0)
    sq = (Xc * Xc).sum(axis=1)
    onehot = xp.zeros((n, n_labels), dtype=X.dtype)
    onehot[xp.arange(n), codes] = 1
    sums = xp.empty((n, n_labels), dtype=xp.float64)
    block = max(1, min(n, block_elements // n))
    for start in range(0, n, block):
        stop = min(start + block, n)
        d2 = Xc[start:stop] @ Xc.T
        d2 *= -2
        d2 += sq[start:stop, None]
        d2 += sq[None, :]
        d2[xp.arange(stop - start), xp.arange(start, stop)] = 0
        xp.maximum(d2, 0, out=d2)
        xp.sqrt(d2, out=d2)
        sums[start:stop] = d2 @ onehot
    rows = xp.arange(n)
    own_count = counts[codes]
    per = xp.broadcast_to(counts[None, :].astype(xp.float64), sums.shape).copy()
    per[rows, codes] = xp.maximum(own_count - 1, 1)
    means = sums / per
    intra = means[rows, codes].copy()
    means[rows, codes] = xp.inf
    inter = means.min(axis=1)
    values = (inter - intra) / xp.maximum(intra, inter)
    values = xp.where(own_count == 1, 0.0, values)
    return xp.nan_to_num(values)


@lru_cache(maxsize=1)
def silhouette_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n, 16, centers=SILHOUETTE_LABELS, cluster_std=4.0, random_state=0)
    return np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64)


@pytest.mark.gpu
def test_gpu_silhouette(benchmark, profile, scoreboard):
    """Exact silhouette on CuPy: scalecluster against plain CuPy, the arithmetic floor and scalecluster on NumPy."""
    from scalecluster.metrics import silhouette_samples

    cupy = require_cupy()
    s = settings(profile)
    n, m = s["sil_n"], min(s["sil_n"], s["sil_numpy_n"])
    benchmark.group = f"gpu exact silhouette n={n}"
    yard = gpu_yardsticks(scoreboard, profile)
    sync = sync_of(cupy)
    X, y = silhouette_data(n)
    Xg, yg = cupy.asarray(X), cupy.asarray(y)
    w = min(n, 2000)
    silhouette_samples(Xg[:w], yg[:w])  # warm-up: JIT compilation
    plain_silhouette(cupy, Xg[:w], yg[:w])  # warm-up: CuPy kernels
    silhouette_samples(X[:w], y[:w])  # warm-up: numba CPU kernels
    t_gpu, v_gpu = timed(lambda: host(silhouette_samples(Xg, yg)), s["rounds"], sync, benchmark)
    t_plain, v_plain = timed(lambda: host(plain_silhouette(cupy, Xg, yg)), s["rounds"], sync)
    free_pool(cupy)
    # scalecluster on NumPy: on the first m rows (make_blobs shuffles) when the whole would take too long.
    t_cpu, v_cpu = measure(lambda: np.asarray(silhouette_samples(X[:m], y[:m])), 1)
    if m == n:
        t_gpu_m, v_gpu_m = t_gpu, v_gpu
    else:
        t_gpu_m, v_gpu_m = timed(lambda: host(silhouette_samples(Xg[:m], yg[:m])), s["rounds"], sync)
    d = X.shape[1]
    floor = 2 * n * n * d / (yard["gemm_tflops"] * 1e12)  # n² d FMAs at the GEMM rate
    row = {
        "impl": "scalecluster", "backend": "cupy", "device": yard["device"], "n_samples": n, "n_features": d,
        "n_labels": SILHOUETTE_LABELS, "rounds": s["rounds"], "seconds": t_gpu,
        "seconds_plain": t_plain, "ratio_seconds_vs_plain-cupy": t_gpu / t_plain,
        "floor_ms": 1e3 * floor, "times_floor": t_gpu / floor, "times_floor_plain": t_plain / floor,
        "tflops": 2 * n * n * d / t_gpu / 1e12, "tflops_plain": 2 * n * n * d / t_plain / 1e12,
        "gemm_tflops_measured": yard["gemm_tflops"], "fraction_of_gemm": floor / t_gpu,
        "numpy_n_samples": m, "seconds_numpy": t_cpu, "seconds_cupy_at_numpy_n": t_gpu_m,
        "ratio_seconds_vs_numpy": t_gpu_m / t_cpu, "speedup_vs_numpy": t_cpu / t_gpu_m,
        "seconds_numpy_extrapolated": t_cpu * (n / m) ** 2,
        "mean_silhouette": float(np.mean(v_gpu)), "mean_silhouette_plain": float(np.mean(v_plain)),
        "max_abs_diff_vs_plain": float(np.abs(v_gpu - v_plain).max()),
        "max_abs_diff_vs_numpy": float(np.abs(v_gpu_m - v_cpu).max()),
    }  # fmt: skip
    scoreboard[("gpu-silhouette", n)] = row
    publish(benchmark, row)
