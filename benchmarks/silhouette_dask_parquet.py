"""Sampled silhouette on a Dask array read from Parquet: 10M rows × 16 float32, with labels.

Run by hand (a few minutes, about 0.7 GiB of disk in a temporary folder)::

    python -m benchmarks.silhouette_dask_parquet --out benchmarks/results/silhouette_dask_parquet.json

It writes gaussian blobs (16 clusters) and their labels as Parquet, starts a
``LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="3GiB")``, reads
the features and the labels with ``scalecluster.read_parquet`` (one chunk per
row group, not persisted), and runs ``silhouette_score(sample_size=10_000,
return_interval=True)`` for a few seeds.  It records the time of each call, the
workers' peak memory (sampled every 0.2 s) and whether any worker restarted.
The sampled estimate reads the data twice (label counts, then the drawn rows)
and compares the 10,000 queries with a stratified reference of 40,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time

import numpy as np


def write_dataset(
    path: str,
    rows: int,
    n_features: int = 16,
    rows_per_file: int = 1 << 20,
    seed: int = 0,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, (16, n_features)).astype(np.float32)
    for i in range(0, rows, rows_per_file):
        n = min(rows_per_file, rows - i)
        labels = rng.integers(0, 16, n).astype(np.int32)
        X = centers[labels] + 4 * rng.standard_normal((n, n_features), dtype=np.float32)
        columns = {f"f{j}": X[:, j] for j in range(n_features)}
        columns["label"] = labels
        pq.write_table(
            pa.table(columns),
            os.path.join(path, f"part-{i // rows_per_file:05d}.parquet"),
            row_group_size=1 << 18,
            compression="none",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--sample-size", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--memory-limit", default="3GiB")
    parser.add_argument(
        "--out", default="benchmarks/results/silhouette_dask_parquet.json"
    )
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from scalecluster import read_parquet
    from scalecluster.metrics import silhouette_score

    data = tempfile.mkdtemp(prefix="scalecluster-silhouette-")
    try:
        t = time.perf_counter()
        write_dataset(data, args.rows)
        results: dict = {
            "rows": args.rows,
            "sample_size": args.sample_size,
            "memory_limit": args.memory_limit,
            "write_seconds": time.perf_counter() - t,
            "runs": [],
        }
        print(
            f"wrote {args.rows:,} rows in {results['write_seconds']:.0f} s", flush=True
        )
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                memory_limit=args.memory_limit,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            peak = {"rss": 0.0}
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    try:
                        mem = client.run(
                            lambda: __import__("psutil").Process().memory_info().rss
                        )
                        peak["rss"] = max(peak["rss"], max(mem.values()))
                    except Exception:  # noqa: BLE001, S110 - a missed sample is fine
                        pass
                    time.sleep(0.2)

            watcher = threading.Thread(target=sample, daemon=True)
            watcher.start()
            workers_before = set(client.scheduler_info()["workers"])
            X = read_parquet(data, columns=[f"f{j}" for j in range(16)])
            labels = read_parquet(data, columns=["label"], dtype="int32")[:, 0]
            results["chunks"] = int(X.numblocks[0])
            idle = client.run(lambda: __import__("psutil").Process().memory_info().rss)
            results["idle_worker_rss_gib"] = max(idle.values()) / 2**30
            for seed in range(args.seeds):
                peak["rss"] = 0.0
                t = time.perf_counter()
                value, (low, high) = silhouette_score(
                    X,
                    labels,
                    sample_size=args.sample_size,
                    random_state=seed,
                    return_interval=True,
                )
                run = {
                    "seed": seed,
                    "seconds": time.perf_counter() - t,
                    "estimate": value,
                    "low": low,
                    "high": high,
                    "peak_worker_rss_gib": peak["rss"] / 2**30,
                }
                results["runs"].append(run)
                print(run, flush=True)
            stop.set()
            watcher.join()
            results["workers_unchanged"] = (
                set(client.scheduler_info()["workers"]) == workers_before
            )
        results["seconds_median"] = float(
            np.median([r["seconds"] for r in results["runs"]])
        )
        results["peak_worker_rss_gib_max"] = max(
            r["peak_worker_rss_gib"] for r in results["runs"]
        )
        print(
            json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2),
            flush=True,
        )
    finally:
        shutil.rmtree(data, ignore_errors=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
