"""Hierarchical clustering at scale: scikit-learn's memory wall, our two-stage quality, 1M and 10M rows.

Run by hand, from the repository root (tens of minutes on 2 cores)::

    python -m benchmarks.hierarchical_at_scale --parts exact quality million dask \\
        --out benchmarks/results/hierarchical_at_scale.json

Data: Gaussian blobs, 8 features, 10 centres (``cluster_std=2``), float32.
Every fit whose memory is reported runs in a fresh subprocess, which makes
its data first and then records the rise of its peak resident size (VmHWM)
during ``fit`` alone; each is repeated and the median kept.

* ``exact``: Ward on n rows, scikit-learn against scalecluster's exact path
  (``n_micro=n``) and its two-stage default (``n_micro=1000``): time, peak
  memory, same labels.  scikit-learn's peak is fitted to ``a n²`` to estimate
  where it runs out of memory (nothing is run beyond ``--max-exact-n``).
* ``quality``: at ``--quality-n`` rows (where exact runs), the adjusted Rand
  index of the two-stage labels against exact labels, per linkage,
  ``n_micro``, number of clusters and first-stage method, over seeds.
* ``million``: ``--million-n`` rows in memory: time and peak memory growth
  against the data's size.
* ``dask``: ``--dask-n`` rows as a Dask array generated on a
  ``LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=...)``:
  time of ``fit`` plus computing ``labels_``, the workers' peak memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

N_FEATURES = 8
N_CENTRES = 10


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n, n_features=N_FEATURES, centers=N_CENTRES, cluster_std=2.0, random_state=seed)
    return np.ascontiguousarray(X, dtype=np.float32), y


# --------------------------------------------------------------- one fit in a child process
def child(impl: str, n: int, n_micro: int, method: str) -> dict:
    """Fit once in this (fresh) process; time and peak RSS growth of the fit alone."""
    from benchmarks._peak_rss import peak, reset_peak

    X, _ = make_data(n)
    if impl == "sklearn":
        from sklearn.cluster import AgglomerativeClustering

        make = lambda: AgglomerativeClustering(n_clusters=N_CENTRES)
    else:
        from scalecluster import AgglomerativeClustering

        make = lambda: AgglomerativeClustering(
            n_clusters=N_CENTRES, n_micro=n_micro, micro_method=method, random_state=0
        )
        # Warm-up on 2,000 rows: loads the compiled kernels (numba's cache) and thread pools.
        AgglomerativeClustering(n_clusters=N_CENTRES, n_micro=min(n_micro, 1000), random_state=0).fit(X[:2000])
    base = reset_peak()
    start = time.perf_counter()
    model = make().fit(X)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_growth_bytes": peak() - base,
        "data_bytes": X.nbytes,
        "labels_sha": hashlib.sha256(np.asarray(model.labels_, dtype=np.int64).tobytes()).hexdigest(),
        "loadavg_1min": os.getloadavg()[0],
    }


def in_child(impl: str, n: int, n_micro: int = 1000, method: str = "kmeans", repeats: int = 3) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.hierarchical_at_scale", "--child", impl, str(n), str(n_micro), method],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            return {"impl": impl, "n": n, "error": out.stderr[-1500:]}
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    row = {"impl": impl, "n": n, "n_micro": n_micro, "method": method, "repeats": repeats}
    for key in ("seconds", "peak_growth_bytes", "loadavg_1min"):
        row[key] = statistics.median(r[key] for r in runs)
    row["all_seconds"] = [r["seconds"] for r in runs]
    row["data_bytes"] = runs[0]["data_bytes"]
    row["peak_growth_over_data"] = row["peak_growth_bytes"] / row["data_bytes"]
    row["labels_sha"] = runs[-1]["labels_sha"]
    print(json.dumps(row), flush=True)
    return row


# ---------------------------------------------------------------------------- the parts
def part_exact(sizes: list[int], repeats: int) -> dict:
    rows = []
    for n in sizes:
        sk = in_child("sklearn", n, repeats=repeats)
        exact = in_child("scalecluster", n, n_micro=n, repeats=repeats)
        two = in_child("scalecluster", n, n_micro=1000, repeats=repeats)
        exact["labels_equal_sklearn"] = exact.get("labels_sha") == sk.get("labels_sha")
        for row in (exact, two):
            if "seconds" in row and "seconds" in sk:
                row["ratio_seconds_vs_sklearn"] = row["seconds"] / sk["seconds"]
        rows += [sk, exact, two]
    # scikit-learn's peak ~ a n² (the condensed distances, SciPy's copy of them, a mask): fit a.
    ok = [r for r in rows if r["impl"] == "sklearn" and "peak_growth_bytes" in r]
    a = sum(r["peak_growth_bytes"] * r["n"] ** 2 for r in ok) / sum(r["n"] ** 4 for r in ok)
    import psutil

    total = psutil.virtual_memory().total
    return {
        "rows": rows,
        "sklearn_bytes_per_n_squared": a,
        "sklearn_oom_n_this_machine": int((total / a) ** 0.5),
        "sklearn_n_at_8_gib": int((8 * 2**30 / a) ** 0.5),
        "machine_memory_gib": total / 2**30,
    }


def part_quality(n: int, n_micros: list[int], seeds: int) -> dict:
    """ARI of two-stage labels against exact ones (scikit-learn's), at several cuts."""
    from sklearn.cluster import AgglomerativeClustering as Exact
    from sklearn.cluster._agglomerative import _hc_cut
    from sklearn.metrics import adjusted_rand_score

    from scalecluster import AgglomerativeClustering
    from scalecluster.cluster.hierarchical._tree import cut

    X, truth = make_data(n)
    cuts = [2, 5, N_CENTRES, 20]
    rows = []
    for linkage in ("ward", "average", "complete"):
        start = time.perf_counter()
        exact = Exact(n_clusters=None, distance_threshold=0.0, linkage=linkage).fit(X)
        exact_seconds = time.perf_counter() - start
        exact_labels = {k: _hc_cut(k, exact.children_, exact.n_leaves_) for k in cuts}
        for n_micro in n_micros:
            for method in ("kmeans", "minibatch"):
                scores = {k: [] for k in cuts}
                truth_scores, seconds = [], []
                for seed in range(seeds):
                    start = time.perf_counter()
                    model = AgglomerativeClustering(
                        n_clusters=None, distance_threshold=0.0, linkage=linkage, n_micro=n_micro,
                        micro_method=method, random_state=seed,
                    ).fit(X)  # fmt: skip
                    seconds.append(time.perf_counter() - start)
                    for k in cuts:
                        labels = cut(model.children_, model.n_leaves_, k)[model.micro_labels_]
                        scores[k].append(adjusted_rand_score(exact_labels[k], labels))
                        if k == N_CENTRES:
                            truth_scores.append(adjusted_rand_score(truth, labels))
                row = {
                    "linkage": linkage, "n": n, "n_micro": n_micro, "method": method, "seeds": seeds,
                    "median_ari_vs_exact": {k: statistics.median(v) for k, v in scores.items()},
                    "min_ari_vs_exact": {k: min(v) for k, v in scores.items()},
                    "median_ari_vs_truth_k10": statistics.median(truth_scores),
                    "exact_ari_vs_truth_k10": adjusted_rand_score(truth, exact_labels[N_CENTRES]),
                    "median_seconds": statistics.median(seconds), "exact_seconds": exact_seconds,
                }  # fmt: skip
                print(json.dumps(row), flush=True)
                rows.append(row)
    return {"rows": rows}


def part_million(n: int, repeats: int) -> dict:
    return {"rows": [in_child("scalecluster", n, 1000, method, repeats) for method in ("kmeans", "minibatch")]}


def _chunk(i: int, rows: int) -> np.ndarray:
    """Rows of chunk ``i``: the same 10 blob centres for every chunk, its own noise."""
    centres = np.random.default_rng(0).uniform(-10, 10, size=(N_CENTRES, N_FEATURES))
    rng = np.random.default_rng(1000 + i)
    return (centres[rng.integers(0, N_CENTRES, rows)] + 2.0 * rng.standard_normal((rows, N_FEATURES))).astype(np.float32)


def part_dask(n: int, chunk_rows: int, memory_limit: str, repeats: int, method: str) -> dict:
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    from benchmarks._worker_memory import Watcher
    from scalecluster import AgglomerativeClustering

    sizes = [min(chunk_rows, n - a) for a in range(0, n, chunk_rows)]
    result: dict = {"n": n, "chunk_rows": chunk_rows, "workers": 2, "threads_per_worker": 1,
                    "memory_limit_per_worker": memory_limit, "method": method, "runs": []}  # fmt: skip
    with LocalCluster(
        n_workers=2, threads_per_worker=1, memory_limit=memory_limit, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:
        blocks = [
            da.from_delayed(dask.delayed(_chunk)(i, s), shape=(s, N_FEATURES), dtype=np.float32)
            for i, s in enumerate(sizes)
        ]
        X = da.concatenate(blocks)
        result["data_gib"] = X.nbytes / 2**30
        # Warm-up: the compiled kernels in every worker.
        AgglomerativeClustering(n_clusters=N_CENTRES, n_micro=100, random_state=0).fit(X[:40_000]).labels_.compute()
        for r in range(repeats):
            watcher = Watcher(client, interval=0.5)
            watcher.start()
            start = time.perf_counter()
            model = AgglomerativeClustering(n_clusters=N_CENTRES, micro_method=method, random_state=r).fit(X)
            fit_seconds = time.perf_counter() - start
            labels = model.labels_.persist()
            wait(labels)
            counts = np.bincount(labels.compute(), minlength=N_CENTRES)
            seconds = time.perf_counter() - start
            watcher.stop()
            run = {"seconds_fit": fit_seconds, "seconds_with_labels": seconds, "cluster_sizes": counts.tolist(),
                   "micro_inertia": model.micro_inertia_, **watcher.summary()}  # fmt: skip
            print(json.dumps(run), flush=True)
            result["runs"].append(run)
            del model, labels
    result["median_seconds_with_labels"] = statistics.median(r["seconds_with_labels"] for r in result["runs"])
    result["median_seconds_fit"] = statistics.median(r["seconds_fit"] for r in result["runs"])
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        impl, n, n_micro, method = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        print(json.dumps(child(impl, n, n_micro, method)))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", nargs="+", default=["exact", "quality", "million", "dask"])
    parser.add_argument("--exact-sizes", nargs="+", type=int, default=[2_000, 5_000, 10_000, 20_000])
    parser.add_argument("--quality-n", type=int, default=20_000)
    parser.add_argument("--quality-n-micro", nargs="+", type=int, default=[500, 1000, 2000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--million-n", type=int, default=1_000_000)
    parser.add_argument("--dask-n", type=int, default=10_000_000)
    parser.add_argument("--dask-chunk-rows", type=int, default=500_000)
    parser.add_argument("--dask-method", default="kmeans", choices=["kmeans", "minibatch"])
    parser.add_argument("--memory-limit", default="4GiB", help="per Dask worker")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/hierarchical_at_scale.json")
    args = parser.parse_args()

    result: dict = {"load_average_at_start": os.getloadavg(), "cores": len(os.sched_getaffinity(0))}
    if os.path.exists(args.out):  # parts run separately add to the same file
        with open(args.out) as fh:
            result = {**json.load(fh), **result}
    for part in args.parts:
        start = time.perf_counter()
        if part == "exact":
            result["exact"] = part_exact(args.exact_sizes, args.repeats)
        elif part == "quality":
            result["quality"] = part_quality(args.quality_n, args.quality_n_micro, args.seeds)
        elif part == "million":
            result["million"] = part_million(args.million_n, args.repeats)
        elif part == "dask":
            result["dask"] = part_dask(args.dask_n, args.dask_chunk_rows, args.memory_limit, args.repeats, args.dask_method)
        result[f"{part}_wall_seconds"] = time.perf_counter() - start
        result[f"load_average_after_{part}"] = os.getloadavg()
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
