"""Out-of-core fits: a Parquet dataset several times larger than the cluster's memory.

Run by hand (minutes, several GiB of disk)::

    python -m benchmarks.out_of_core --gib 8 --out benchmarks/results/out_of_core.json

It writes gaussian blobs as Parquet (one file per ~64 MiB), starts a
``LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GiB")``, and fits
``MiniBatchKMeans`` (streamed) and ``KMeans(persist=False)`` (re-reads the files
every pass) on ``scalecluster.read_parquet``'s array.  It records the time, the
workers' peak memory (sampled every 0.5 s) and whether any worker was restarted.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

from benchmarks._worker_memory import Watcher


def write_dataset(path: str, gib: float, n_features: int = 16, rows_per_file: int = 1 << 20, seed: int = 0) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(path, exist_ok=True)
    rows_total = int(gib * 2**30 / (4 * n_features))
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, (16, n_features)).astype(np.float32)
    written = 0
    for i in range(0, rows_total, rows_per_file):
        n = min(rows_per_file, rows_total - i)
        labels = rng.integers(0, 16, n)
        X = centers[labels] + rng.standard_normal((n, n_features), dtype=np.float32)
        table = pa.table({f"f{j}": X[:, j] for j in range(n_features)})
        pq.write_table(table, os.path.join(path, f"part-{i // rows_per_file:05d}.parquet"), row_group_size=1 << 18, compression="none")
        written += n
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=8.0)
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "scalecluster-out-of-core"))
    parser.add_argument("--out", default="benchmarks/results/out_of_core.json")
    parser.add_argument("--kmeans-iter", type=int, default=5)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from scalecluster import KMeans, MiniBatchKMeans, read_parquet

    if not os.path.isdir(args.data):
        t = time.perf_counter()
        rows = write_dataset(args.data, args.gib)
        print(f"wrote {rows:,} rows ({args.gib} GiB) in {time.perf_counter() - t:.0f} s", flush=True)
    results: dict = {"gib": args.gib}
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GiB", dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            watcher = Watcher(client)
            watcher.start()
            workers_before = set(client.scheduler_info()["workers"])
            X = read_parquet(args.data)
            results["rows"], results["chunks"] = int(X.shape[0]), int(X.numblocks[0])
            for name, model in [
                ("minibatch", MiniBatchKMeans(16, batch_size=4096, max_iter=1, random_state=0)),
                ("kmeans_persist_false", KMeans(16, init="random", n_init=1, max_iter=args.kmeans_iter, tol=0, persist=False, random_state=0)),
            ]:
                watcher.reset()
                t = time.perf_counter()
                model.fit(X)
                results[name] = {
                    "seconds": time.perf_counter() - t,
                    "inertia": float(model.inertia_),
                    "peak_worker_rss_gib": watcher.summary()["peak_worker_rss_gib"],
                    "workers_unchanged": set(client.scheduler_info()["workers"]) == workers_before,
                }
                print(name, results[name], flush=True)
            watcher.stop()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
