"""Anomaly quality as the data grows: F1 of ``detect_anomalies`` with default settings at 20k, 100k and 1M flows.

Run by hand (a few minutes)::

    python -m benchmarks.anomalies_quality --out benchmarks/results/anomalies_quality.json

For each size it generates flows in memory (``make_flows``, 1 % anomalies:
exfiltration, scans, bursts; and with ``--hard`` also the harder traffic:
40 % anomalies, mostly scans from six fanning-out hosts, long interactive
sessions among normal traffic), runs ``detect_anomalies`` with its defaults
(and ``host="src_ip"`` on the hard data), and records precision, recall, F1,
eps, the number of clusters and suspicious groups, the wall time per stage,
and, on the hard data, where the scanning hosts rank in ``hosts``.  For
comparison it also records the F1 of the previous design (eps at the knee of a
2,000-flow sample's k-distances against *all* flows, DBSCAN on all flows, every
noise flow an alert) up to ``--old-max`` flows.  10M flows on a LocalCluster:
``benchmarks/jobs_at_scale.py``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time


def _old_design(frame, seed: int = 0) -> dict:
    """F1 of eps from all flows' k-distances (2,000 sampled queries) and DBSCAN on every flow."""
    import numpy as np

    from scalecluster import DBSCAN
    from scalecluster.features import scale, traffic_features
    from scalecluster.metrics import suggest_eps

    feats, _ = traffic_features(frame, missing="drop")
    scaled, _ = scale(feats, log=True)
    X = scaled.to_numpy(dtype=np.float64)
    eps = float(suggest_eps(X, 20, sample_size=2000, random_state=seed).eps)
    noise = DBSCAN(eps=eps, min_samples=20, algorithm="grid").fit(X).labels_ == -1
    truth = (frame.loc[scaled.index, "label"] != "normal").to_numpy()
    hits = int((noise & truth).sum())
    precision = hits / max(int(noise.sum()), 1)
    recall = hits / max(int(truth.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"eps": eps, "precision": precision, "recall": recall, "f1": f1, "alerts": int(noise.sum())}


def _scanners(frame) -> list[str]:
    return sorted(frame.loc[frame["label"] == "scan", "src_ip"].astype(str).unique())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000,1000000")
    parser.add_argument("--hard", action="store_true", help="also the harder generator, with host scoring")
    parser.add_argument("--old-max", type=int, default=1_000_000, help="largest n for the previous design")
    parser.add_argument("--out", default="benchmarks/results/anomalies_quality.json")
    args = parser.parse_args()

    from scalecluster.datasets import make_flows
    from scalecluster.jobs import detect_anomalies

    results: dict = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "load_average_at_start": os.getloadavg(), "runs": [],
    }
    for hard in ([False, True] if args.hard else [False]):
        for n in [int(v) for v in args.sizes.split(",")]:
            frame = make_flows(n, hard=hard).flows
            started = time.perf_counter()
            found = detect_anomalies(frame, host="src_ip" if hard else None, verbose=False, plots=False)
            seconds = time.perf_counter() - started
            run = {"n_flows": n, "hard": hard, "seconds": round(seconds, 2),
                   "timings": {k: round(v, 2) for k, v in found.timings.items()},
                   **{k: found.metrics[k] for k in ("precision", "recall", "f1", "alerts", "true_anomalies")},
                   "eps": found.eps, "clusters_normal": found.n_clusters,
                   "suspicious_groups": len(found.suspicious_groups)}
            if hard:
                hosts = found.hosts
                position = {h: i for i, h in enumerate(hosts["src_ip"].astype(str))}
                ranks = [position.get(h) for h in _scanners(frame)]
                run["host_rows"] = len(hosts)
                run["scanner_ranks"] = ranks
                run["scanners_in_top_1pct"] = all(r is not None and r < max(1, len(hosts) // 100) for r in ranks)
            if n <= args.old_max and not hard:
                started = time.perf_counter()
                run["previous_design"] = _old_design(frame)
                run["previous_design"]["seconds"] = round(time.perf_counter() - started, 2)
            print(json.dumps(run), flush=True)
            results["runs"].append(run)
    results["load_average_at_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
