"""The two end-to-end jobs at scale: ``segment`` and ``detect_anomalies`` on a LocalCluster.

Run by hand (tens of minutes at 10M rows, several GiB of temporary disk)::

    python -m benchmarks.jobs_at_scale --transactions 10000000 --flows 10000000 \
        --out benchmarks/results/jobs_at_scale.json

It generates ``make_transactions`` (about 11.8 order lines per customer, so
``--transactions`` order lines become ``--transactions / 11.8`` customers) and
``make_flows`` as partitioned Parquet in a temporary folder, starts a
``LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=...)``, and runs
``segment(..., order="order_id")`` then ``detect_anomalies(...)`` with their
outputs written into the temporary folder.  It records the generation time,
each job's per-stage wall time (the results' ``timings``) and total, the
workers' peak resident memory during each job (sampled every 0.5 s), whether a
worker was restarted, the host's load average, and the quality against the
generators' labels: the adjusted Rand index of the segments against the
customers' true behaviours (with k, the stability of each k of the sweep and the
data-quality counts), and precision / recall / F1 of the alerts against
the flows' anomaly labels.  The temporary folder is removed at the end.
``--skip segment`` or ``--skip anomalies`` runs one job only.  A job that
raises, or is interrupted (``timeout -s INT ...``), is recorded with its
error, elapsed time and peak memory, and the JSON is still written.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import tempfile
import time

from benchmarks._worker_memory import Watcher, worker_rss

LINES_PER_CUSTOMER = 11.8  # make_transactions' mean order lines per customer (measured on 20,000 customers)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _rows(folder: str) -> int:
    import pyarrow.parquet as pq

    return sum(
        pq.ParquetFile(os.path.join(folder, name)).metadata.num_rows
        for name in sorted(os.listdir(folder))
        if name.endswith(".parquet")
    )


def _run_job(name: str, run, score, watcher: Watcher, client) -> dict:
    """Run one job; its times, peak memory, restarts and quality, or the error it raised."""
    import traceback

    watcher.reset()
    before = set(client.scheduler_info()["workers"])
    start = time.perf_counter()
    try:
        result = run()
        error = None
    except Exception as exc:  # noqa: BLE001 - the failure is the finding: recorded, not hidden
        result, error = None, f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    except KeyboardInterrupt:  # e.g. `timeout -s INT`: keep what was measured so far
        result, error = None, "interrupted (SIGINT) before the job finished"
        traceback.print_exc()
    seconds = time.perf_counter() - start
    after = set(client.scheduler_info()["workers"])
    record = {
        "seconds": seconds,
        "error": error,
        **watcher.summary(),
        "workers_before": len(before),
        "workers_after": len(after),
        "worker_restarted": after != before,
    }
    if result is not None:
        record["timings"] = dict(result.timings)
        record["timed_total"] = sum(result.timings.values())
        record["quality"] = score(result)
    print(f"{name}:", json.dumps(record, indent=2), flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=10_000_000, help="order lines (approximately)")
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--memory-limit", default="4GiB", help="per worker")
    parser.add_argument("--out", default="benchmarks/results/jobs_at_scale.json")
    parser.add_argument("--skip", choices=["segment", "anomalies"], action="append", default=[])
    parser.add_argument("--by-host", action="store_true",
                        help="anomalies: also score the source hosts (host='src_ip'), as --by-host does")
    parser.add_argument("--window", default=None, help="anomalies with --by-host: one row per host and window (1h)")
    parser.add_argument("--hard", action="store_true", help="anomalies: make_flows(hard=True), attacks common")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster
    from sklearn.metrics import adjusted_rand_score

    from scalecluster.datasets import make_flows, make_transactions
    from scalecluster.jobs import detect_anomalies, segment

    n_customers = max(1, round(args.transactions / LINES_PER_CUSTOMER))
    results: dict = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "cluster": {"n_workers": 2, "threads_per_worker": 1, "memory_limit": args.memory_limit},
        "requested": {"transactions": args.transactions, "flows": args.flows, "n_customers": n_customers,
                      "by_host": args.by_host, "window": args.window, "hard": args.hard},
        "load_average_at_start": os.getloadavg(),
    }
    print(json.dumps(results, indent=2), flush=True)
    root = tempfile.mkdtemp(prefix="scalecluster-jobs-at-scale-")
    try:
        generation: dict = {}
        if "segment" not in args.skip:
            t = time.perf_counter()
            data = make_transactions(n_customers, path=os.path.join(root, "transactions"))
            generation["transactions_seconds"] = time.perf_counter() - t
            generation["order_lines"] = _rows(data.transactions)
            generation["customers"] = n_customers
            print(f"transactions: {generation['order_lines']:,} lines of {n_customers:,} customers "
                  f"in {generation['transactions_seconds']:.0f} s", flush=True)
        if "anomalies" not in args.skip:
            t = time.perf_counter()
            flows = make_flows(args.flows, hard=args.hard, path=os.path.join(root, "flows")).flows
            generation["flows_seconds"] = time.perf_counter() - t
            generation["flows"] = _rows(flows)
            print(f"flows: {generation['flows']:,} in {generation['flows_seconds']:.0f} s", flush=True)
        results["generation"] = generation

        with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=args.memory_limit,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            watcher = Watcher(client)
            watcher.start()
            try:
                idle = client.run(worker_rss)
                results["idle_worker_rss_gib"] = max(idle.values()) / 2**30

                if "segment" not in args.skip:

                    def run_segment():
                        return segment(data.transactions, order="order_id", client=client,
                                       out=os.path.join(root, "segments"), verbose=True)

                    def score_segment(seg) -> dict:
                        labels = seg.labels.compute()
                        truth = pd.read_parquet(data.customers).set_index("customer_id")["behaviour"]
                        truth.index = truth.index.astype(str)  # the job reads customer ids as text
                        ari = adjusted_rand_score(truth.loc[labels.index].to_numpy(), labels.to_numpy())
                        return {
                            "ari_vs_behaviour": float(ari),
                            "k": seg.k,
                            "k_reason": seg.k_reason,
                            "n_customers": seg.n_customers,
                            "n_outliers": seg.n_outliers,
                            "segments": {str(s): n for s, n in seg.names.items()},
                            "stability": {str(int(r["k"])): round(float(r["stability"]), 4)
                                          for _, r in (seg.sweep if seg.sweep is not None else pd.DataFrame(
                                              columns=["k", "stability"])).iterrows()},
                            "quality": {k: (int(v) if k not in ("first", "last") else str(v))
                                        for k, v in seg.quality.items()},
                        }

                    results["segment"] = _run_job("segment", run_segment, score_segment, watcher, client)

                interrupted = str(results.get("segment", {}).get("error", "")).startswith("interrupted")
                if "anomalies" not in args.skip and not interrupted:

                    def run_anomalies():
                        return detect_anomalies(flows, client=client, out=os.path.join(root, "anomalies"),
                                                host="src_ip" if args.by_host else None, window=args.window,
                                                verbose=True)

                    def score_anomalies(found) -> dict:
                        metrics = {k: (float(v) if isinstance(v, (float, np.floating)) else int(v))
                                   for k, v in (found.metrics or {}).items()}
                        return {
                            **metrics,
                            "eps": found.eps,
                            "min_samples": found.min_samples,
                            "n_flows": found.n_flows,
                            "n_clusters": found.n_clusters,
                            "suspicious_groups": len(found.suspicious_groups),
                            "host_rows": found.n_hosts if found.hosts is not None else None,
                            "severity": {str(k): int(v) for k, v in found.alerts["severity"].value_counts().items()},
                            "notes": found.notes,
                        }

                    results["anomalies"] = _run_job("anomalies", run_anomalies, score_anomalies, watcher, client)
            finally:
                watcher.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results["load_average_at_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
