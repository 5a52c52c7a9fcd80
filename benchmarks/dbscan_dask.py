"""Distributed DBSCAN on more points than scikit-learn can cluster in the same memory.

Run by hand (a few minutes)::

    python -m benchmarks.dbscan_dask --n 5000000 --out benchmarks/results/dbscan_dask.json

The data are the DBSCAN benchmark's blobs with 5% uniform noise (2-D, eps for
~40 neighbours per point, ``min_samples=10``), generated in chunks on a
``LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=...)``.  It
records the wall time of ``scalecluster.DBSCAN().fit`` on the Dask array, the
workers' peak resident memory (sampled every 0.2 s) and whether a worker was
restarted; then it runs ``sklearn.cluster.DBSCAN`` on the same points in a
subprocess whose address space is capped at the cluster's total memory, and
records whether it finished and its peak.  With ``--check`` (small n only) the
Dask labels are compared with the in-memory NumPy result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks._worker_memory import Watcher

_SKLEARN_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
path, eps, limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
X = np.load(path)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from sklearn.cluster import DBSCAN
start = time.perf_counter()
try:
    labels = DBSCAN(eps=eps, min_samples=10, n_jobs=-1).fit(X).labels_
    outcome = {"finished": True, "n_clusters": int(labels.max()) + 1}
except MemoryError:
    outcome = {"finished": False, "error": "MemoryError"}
outcome["seconds"] = time.perf_counter() - start
outcome["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps(outcome))
"""


def make_chunk(i: int, rows: int, seed: int = 0) -> np.ndarray:
    """Rows of chunk ``i``: 95% blobs (10 centres in [-20, 20]², unit spread), 5% uniform noise."""
    rng = np.random.default_rng([seed, i])
    centres = np.random.default_rng(seed).uniform(-20, 20, size=(10, 2))
    n_noise = rows // 20
    blobs = centres[rng.integers(0, 10, rows - n_noise)] + rng.standard_normal((rows - n_noise, 2))
    noise = rng.uniform(-23, 23, size=(n_noise, 2))
    return np.vstack([blobs, noise])


def eps_for(n: int, target: float = 40.0) -> float:
    """eps giving ~``target`` neighbours per point at ``n`` points, from a 200k-point sample."""
    from sklearn.neighbors import KDTree

    sample_n = 200_000
    X = np.vstack([make_chunk(i, 50_000) for i in range(sample_n // 50_000)])
    tree = KDTree(X)
    queries = X[:: sample_n // 2000]
    low, high = 1e-4, 5.0
    for _ in range(40):
        eps = (low * high) ** 0.5
        # At n points the density is n / sample_n times higher: scale the target down.
        count = tree.query_radius(queries, eps, count_only=True).mean() * n / sample_n
        low, high = (eps, high) if count < target else (low, eps)
    return float(eps)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5_000_000)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--memory-limit", default="2GiB", help="per worker")
    parser.add_argument("--out", default="benchmarks/results/dbscan_dask.json")
    parser.add_argument("--check", action="store_true", help="compare with the NumPy result (small n)")
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args()

    import dask
    import dask.array as da
    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster, wait

    from scalecluster import DBSCAN

    eps = eps_for(args.n)
    sizes = [min(args.chunk_rows, args.n - a) for a in range(0, args.n, args.chunk_rows)]
    result: dict = {"n": args.n, "eps": eps, "min_samples": 10, "chunk_rows": args.chunk_rows,
                    "workers": 2, "memory_limit_per_worker": args.memory_limit}  # fmt: skip
    with LocalCluster(
        n_workers=2, threads_per_worker=1, memory_limit=args.memory_limit, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:
        print(f"dashboard: {client.dashboard_link}", flush=True)
        blocks = [da.from_delayed(dask.delayed(make_chunk)(i, s), shape=(s, 2), dtype=np.float64) for i, s in enumerate(sizes)]
        X = da.concatenate(blocks).persist()
        wait(X)
        workers_before = set(client.scheduler_info()["workers"])
        # Warm-up on a small slice: loads the compiled kernels in every worker process.
        DBSCAN(eps=eps, min_samples=10).fit(X[:20_000].rechunk(5_000)).labels_.compute()
        watcher = Watcher(client, interval=0.2)
        watcher.start()
        start = time.perf_counter()
        model = DBSCAN(eps=eps, min_samples=10).fit(X)
        labels = model.labels_.compute()
        seconds = time.perf_counter() - start
        watcher.stop()
        result["scalecluster"] = {
            "seconds": seconds,
            "peak_worker_rss_gib": watcher.summary()["peak_worker_rss_gib"],
            "worker_restarted": set(client.scheduler_info()["workers"]) != workers_before,
            "n_clusters": int(labels.max()) + 1,
            "n_noise": int((labels == -1).sum()),
            "n_core": int(model.core_sample_indices_.size),
        }
        print(json.dumps(result["scalecluster"]), flush=True)
        if args.check or not args.skip_sklearn:
            Xnp = X.compute()

    if args.check:
        expected = DBSCAN(eps=eps, min_samples=10).fit(Xnp).labels_
        result["equals_numpy"] = bool(np.array_equal(expected, labels))
        print("equals the NumPy result:", result["equals_numpy"], flush=True)

    if not args.skip_sklearn:
        limit = 2 * parse_bytes(args.memory_limit)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "X.npy")
            np.save(path, Xnp)
            del Xnp
            out = subprocess.run([sys.executable, "-c", _SKLEARN_SCRIPT, path, str(eps), str(limit)],
                                 check=False, capture_output=True, text=True)  # fmt: skip
        lines = out.stdout.strip().splitlines()
        result["sklearn_capped"] = json.loads(lines[-1]) if lines else {"finished": False, "error": out.stderr[-500:]}
        result["sklearn_capped"]["address_space_limit_gib"] = limit / 2**30
        print(json.dumps(result["sklearn_capped"]), flush=True)

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
