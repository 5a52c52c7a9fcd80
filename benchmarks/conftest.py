"""Fixtures for the benchmarks: data per profile, a Dask cluster, GPU copies, machine info.

Run from the repository root (see ``benchmarks/README.md``)::

    python -m pytest benchmarks --benchmark-only --profile regular
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

#: Sizes and repeat counts of each profile; ``regular`` gives the published numbers,
#: ``fast`` is a smoke test (CI runs it: every benchmark once, nothing to read in the
#: times), ``large`` is for a bigger machine, run by hand (10M rows: 640 MiB float32).
PROFILES = {
    "fast": {"n_samples": 30_000, "chunk_rows": 10_000, "rounds": 1, "gemm_n": 1000,
             "dask_rounds": 1, "dask_max_iter": 5, "memory_rounds": 1},
    "regular": {"n_samples": 1_000_000, "chunk_rows": 100_000, "rounds": 5, "gemm_n": 4000,
                "dask_rounds": 3, "dask_max_iter": 50, "memory_rounds": 3},
    "large": {"n_samples": 10_000_000, "chunk_rows": 1_000_000, "rounds": 3, "gemm_n": 8000,
              "dask_rounds": 1, "dask_max_iter": 50, "memory_rounds": 1},
}
N_FEATURES = 16
N_BLOBS = 16


#: Seconds after which a GPU-only selection at the ``large`` profile (what a time-limited
#: device run asks for: ``-k "cupy or gpu" --profile large``) starts no further row, so
#: that pytest ends, and writes its JSON, before the run's limit.  ``--budget-s``
#: (or ``SCALECLUSTER_BENCHMARK_BUDGET_S``) sets a budget for any run; 0 means none.
GPU_BUDGET_S = 200.0


def pytest_addoption(parser):
    parser.addoption(
        "--profile",
        dest="bench_profile",
        choices=sorted(PROFILES),
        default="fast",
        help="Benchmark sizes: 'fast' (smoke test, 30k rows), 'regular' (1M rows, the published numbers) "
        "or 'large' (10M rows, for a bigger machine).",
    )
    parser.addoption(
        "--budget-s",
        dest="bench_budget_s",
        type=float,
        default=None,
        help="Start no benchmark after this many seconds of the session (they skip); 0: no budget. Default: "
        f"$SCALECLUSTER_BENCHMARK_BUDGET_S, else {GPU_BUDGET_S:.0f} s for a selection of GPU rows only at "
        "--profile large, else none.",
    )


def json_path(option: Any) -> Path | None:
    """The ``--benchmark-json`` target as a path, or None when there is none.

    pytest-benchmark 5 hands the option over as a path; 4.0 and older open the
    file themselves (``argparse.FileType``) and hand over the open file object,
    whose directory therefore exists already: no path is returned for it.
    """
    if isinstance(option, (str, os.PathLike)):
        return Path(option)
    return None


def pytest_configure(config):
    path = json_path(config.getoption("benchmark_json", None))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    _interrupt_on_sigterm(config)


def _interrupt_on_sigterm(config) -> None:
    """Turn SIGTERM (``timeout``'s signal) into KeyboardInterrupt while the session runs.

    pytest then stops after the current row and still runs its session-finish
    hooks, so pytest-benchmark writes the JSON of every row measured so far
    instead of the process dying with nothing written.  Only when SIGTERM has
    its default action, and only in the main thread.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum} (SIGTERM): stopping, the rows measured so far are kept")

    signal.signal(signal.SIGTERM, interrupt)
    config._scalecluster_sigterm = True  # restored in pytest_unconfigure


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # before pytest-benchmark writes its JSON
def pytest_sessionfinish(session, exitstatus):
    """Drop a row that a stop interrupted before any of its rounds ended: pytest-benchmark cannot save it."""
    bench_session = getattr(session.config, "_benchmarksession", None)
    if bench_session is not None:
        bench_session.benchmarks[:] = [
            b for b in bench_session.benchmarks if getattr(getattr(b, "stats", None), "data", True)
        ]
    yield


def pytest_unconfigure(config):
    if getattr(config, "_scalecluster_sigterm", False):
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_DFL)


# ------------------------------------------------------------ run order and time budget
_BUDGET: dict[str, Any] = {"seconds": None, "start": None, "skipped": []}


def _is_gpu_row(item) -> bool:
    return item.get_closest_marker("gpu") is not None or "cupy" in item.name


@pytest.hookimpl(trylast=True)  # after -k / -m have deselected
def pytest_collection_modifyitems(config, items):
    """Rows of ``test_gpu.py`` first (a time-limited device run measures them first); fix the budget."""
    items.sort(key=lambda item: not item.nodeid.split("::")[0].endswith("test_gpu.py"))  # stable sort
    budget = config.getoption("bench_budget_s", None)
    if budget is None and os.environ.get("SCALECLUSTER_BENCHMARK_BUDGET_S"):
        budget = float(os.environ["SCALECLUSTER_BENCHMARK_BUDGET_S"])
    if budget is None and config.getoption("bench_profile") == "large" and items and all(map(_is_gpu_row, items)):
        budget = GPU_BUDGET_S
    _BUDGET["seconds"] = budget if budget else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skip a row, before its fixtures are built, once the session's time budget is spent."""
    budget = _BUDGET["seconds"]
    if budget is None:
        return
    if _BUDGET["start"] is None:  # this conftest was loaded after the session started
        _BUDGET["start"] = time.monotonic()
    elapsed = time.monotonic() - _BUDGET["start"]
    if elapsed > budget:
        _BUDGET["skipped"].append(item.nodeid)
        pytest.skip(f"the session's time budget of {budget:.0f} s is spent ({elapsed:.0f} s); --budget-s 0 runs every row")


def pytest_benchmark_generate_commit_info(config):
    """Leave version control alone: the commit is recorded by whoever commits."""
    return {"id": None, "dirty": None, "project": "scalecluster", "branch": None}


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["scalecluster"] = dict(collect_machine_info(), profile=config.getoption("bench_profile"))


def source_fingerprint() -> str:
    """SHA-256 of scalecluster's Python sources: which code the numbers belong to."""
    import scalecluster

    digest = hashlib.sha256()
    for path in sorted(Path(scalecluster.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_FINGERPRINT_AT_START: list[str] = []


def pytest_sessionstart(session):
    _BUDGET["start"] = time.monotonic()
    _FINGERPRINT_AT_START.append(source_fingerprint())


def pytest_terminal_summary(terminalreporter):
    if _BUDGET["skipped"]:
        terminalreporter.write_line(
            f"time budget of {_BUDGET['seconds']:.0f} s spent: {len(_BUDGET['skipped'])} rows not run, "
            f"from {_BUDGET['skipped'][0]}", yellow=True,
        )
    if _FINGERPRINT_AT_START and source_fingerprint() != _FINGERPRINT_AT_START[0]:
        terminalreporter.write_line(
            "WARNING: scalecluster's sources changed during the run; these numbers mix versions.", red=True
        )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def collect_machine_info() -> dict:
    """CPU, cores, memory, library versions, BLAS and GPU (if CuPy imports).

    Returns
    -------
    info : dict
        JSON-serialisable description of this machine and environment.
    """
    import psutil
    from threadpoolctl import threadpool_info

    info = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "scalecluster_source_sha256": _FINGERPRINT_AT_START[0] if _FINGERPRINT_AT_START else source_fingerprint(),
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "blas": [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for p in threadpool_info()
        ],
    }
    for pkg in ("numpy", "scikit-learn", "scalecluster", "numba", "dask", "distributed",
                "dask-ml", "faiss-cpu", "scikit-learn-intelex"):
        info[pkg] = _version(pkg)
    for pkg in ("cupy-cuda12x", "cupy-cuda11x", "cupy", "cuml", "cuml-cu12", "dask-cuda"):
        if _version(pkg) is not None:
            info[pkg] = _version(pkg)
    try:
        import cupy

        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        info["gpu_count"] = cupy.cuda.runtime.getDeviceCount()
    except Exception:
        info["gpu"] = None
    return info


def require_cupy():
    """CuPy with at least one GPU, or skip the calling test."""
    cupy = pytest.importorskip("cupy")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError:
        count = 0
    if count == 0:
        pytest.skip("no CUDA GPU")
    return cupy


@pytest.fixture(scope="session")
def machine_info() -> dict:
    return collect_machine_info()


@pytest.fixture(autouse=True)
def _record_machine(request, machine_info):
    """Put the machine description into every benchmark's ``extra_info``."""
    if "benchmark" in request.fixturenames:
        request.getfixturevalue("benchmark").extra_info["machine"] = machine_info


@pytest.fixture(scope="session")
def profile(request) -> dict:
    name = request.config.getoption("bench_profile")
    return dict(PROFILES[name], name=name)


@pytest.fixture(scope="session")
def blobs(profile) -> np.ndarray:
    """Gaussian blobs, float32, C-contiguous: the data every benchmark uses."""
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=profile["n_samples"], n_features=N_FEATURES, centers=N_BLOBS, random_state=0)
    return np.ascontiguousarray(X, dtype=np.float32)


@pytest.fixture(scope="session")
def init_centers(blobs):
    """``init_centers(k)``: the first ``k`` rows of a fixed permutation of the data."""
    order = np.random.default_rng(0).permutation(len(blobs))
    return lambda k: blobs[order[:k]].copy()


@pytest.fixture(scope="session")
def blobs_file(blobs, tmp_path_factory) -> Path:
    """The data saved as ``.npy`` for the memory subprocesses."""
    path = tmp_path_factory.mktemp("data") / "blobs.npy"
    np.save(path, blobs)
    return path


@pytest.fixture(scope="session")
def scoreboard() -> dict:
    """Results shared between benchmarks of one run, so each can compare with its peers."""
    return {}


@pytest.fixture(scope="session")
def dask_client():
    """``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` and its Client."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def dask_blobs(blobs, profile, dask_client):
    """The same data as a Dask array, in ``chunk_rows`` chunks, persisted on the workers."""
    import dask.array as da
    from distributed import wait

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph")
        X = da.from_array(blobs, chunks=(profile["chunk_rows"], N_FEATURES)).persist()
        wait(X)
    return X


@pytest.fixture(scope="session")
def cupy_blobs(blobs):
    """The same data on the GPU (skips without CuPy or a GPU)."""
    return require_cupy().asarray(blobs)


@pytest.fixture(scope="session")
def dask_cupy_blobs(dask_blobs):
    """The Dask data with CuPy chunks, persisted on the (GPU-sharing) workers."""
    cupy = require_cupy()
    from distributed import wait

    X = dask_blobs.map_blocks(cupy.asarray, dtype=dask_blobs.dtype,
                              meta=cupy.empty((0, N_FEATURES), dtype=dask_blobs.dtype)).persist()
    wait(X)
    return X
