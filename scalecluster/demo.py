"""The demo: both end-to-end jobs on generated data, on a local Dask cluster.

``scalecluster demo`` needs no set-up and no data: it generates customers'
transactions and network flows (with their true behaviours and anomalies) as
Parquet in a temporary folder, starts a ``distributed.LocalCluster`` (or
connects to the cluster a config describes), runs :func:`scalecluster.jobs.segment`
and :func:`scalecluster.jobs.detect_anomalies` on it, and prints what they
found, how well that matches the truth, and where the outputs are.  The
generated data is removed at the end (``keep_data=True``, ``--keep-data``,
keeps it and says where); so is everything when the demo fails or is
interrupted.

``scalecluster demo --blobs`` runs the older demo: KMeans on gaussian blobs,
on the cluster and in memory (:func:`run_blobs_demo`).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from typing import Any, TextIO

import numpy as np


def run_demo(
    n_customers: int = 20_000,
    n_flows: int = 100_000,
    *,
    cluster_config: Any = None,
    out: str | os.PathLike | None = None,
    keep_data: bool = False,
    random_state: int = 0,
    stream: TextIO | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Generate data, run the segmentation and anomaly jobs on a Dask cluster, print a summary.

    Parameters
    ----------
    n_customers : int, default=20000
        Customers of the generated transactions (about 12 order lines each).
    n_flows : int, default=100000
        Generated network flows (1 % injected anomalies).
    cluster_config : str, path or mapping, default=None
        A cluster config for :func:`scalecluster.connect`; by default the
        bundled ``"local"`` one (two single-threaded worker processes).
    out : str or path-like, default=None
        Folder for the outputs (``segments/``, ``anomalies/`` and ``demo.log``;
        it must not exist).  By default a new temporary folder, printed and kept.
    keep_data : bool, default=False
        Keep the generated data (in a temporary folder, printed); by default
        it is removed when the demo ends.
    random_state : int, default=0
    stream : text stream, default=None
        Where to print (standard output).
    verbose : bool, default=True
        Also print the stages of the jobs, one line each.

    Returns
    -------
    summary : dict
        ``segment`` (k, names, ARI against the generated behaviours),
        ``anomalies`` (alerts, precision, recall, F1), ``out``, ``data`` (the
        generated data's folder, None once removed) and ``seconds``.
    """
    from .jobs._run import Steps, library_output_to

    if out is not None and os.path.exists(out):
        raise FileExistsError(f"The output folder {os.fspath(out)!r} exists; choose another.")
    start = time.perf_counter()
    steps = Steps("demo", verbose=verbose, stream=stream)
    target = os.path.abspath(os.fspath(out)) if out is not None else tempfile.mkdtemp(prefix="scalecluster-demo-")
    os.makedirs(target, exist_ok=True)
    work = tempfile.mkdtemp(prefix="scalecluster-demo-data-")
    finished = False
    try:
        with library_output_to(os.path.join(target, "demo.log"), uses_distributed=True):
            summary = _demo(n_customers, n_flows, cluster_config, target, work, random_state, stream, verbose, steps)
        finished = True
    finally:
        if not (finished and keep_data):
            shutil.rmtree(work, ignore_errors=True)
        if not finished:
            shutil.rmtree(target, ignore_errors=True)
    summary["data"] = work if keep_data else None
    summary["seconds"] = time.perf_counter() - start
    say = _printer(stream)
    say(f"  Reports: {os.path.join(target, 'segments', 'report.html')} and "
        f"{os.path.join(target, 'anomalies', 'report.html')} (with plots, labels, profile and alerts beside them).")
    say(f"  The segments' model: {os.path.join(target, 'segments', 'model')} (scalecluster apply / drift MODEL "
        "NEW_DATA: next month's customers in the same segments, and how far they moved).")
    say(f"  The anomaly model: {os.path.join(target, 'anomalies', 'model')} (scalecluster apply MODEL NEW_FLOWS: "
        "new flows scored against the same normal traffic, no refit).")
    if keep_data:
        say(f"  Generated data kept in {work} (transactions/, customers/, flows/): delete that folder when done.")
    else:
        say("  Generated data removed (scalecluster demo --keep-data keeps it).")
    if out is None:
        say(f"  The outputs stay in {target}: delete that folder when done.")
    say(f"Done in {summary['seconds']:.1f} s.")
    return summary


def _printer(stream: TextIO | None) -> Any:
    def say(text: str) -> None:
        print(text, file=stream or sys.stdout, flush=True)

    return say


def _demo(n_customers, n_flows, cluster_config, target, work, random_state, stream, verbose, steps) -> dict[str, Any]:
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    from .cluster_configs import connect
    from .datasets import make_flows, make_transactions
    from .jobs import detect_anomalies, segment
    from .jobs._run import children_output_to

    with steps.step("Generating data") as stage:
        transactions, customers = make_transactions(n_customers, path=os.path.join(work, "transactions"),
                                                    n_partitions=4, random_state=random_state)
        (flows,) = make_flows(n_flows, path=os.path.join(work, "flows"), n_partitions=4, random_state=random_state)
        stage.describe(f"{n_customers:,} customers, {n_flows:,} flows")
    with steps.step("Dask cluster") as stage:
        with children_output_to(os.path.join(target, "demo.log")):
            client = connect(cluster_config)
        stage.count(len(client.scheduler_info().get("workers", {})), "workers")
        stage.result(f"dashboard {client.dashboard_link}")
    try:
        options = {"client": client, "verbose": verbose, "stream": stream, "random_state": random_state}
        segments = segment(transactions, order="order_id", out=os.path.join(target, "segments"),
                           sample_size=5_000, **options)
        alerts = detect_anomalies(flows, out=os.path.join(target, "anomalies"), **options)
        labels = segments.labels.compute()
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()

    truth = pd.read_parquet(customers).set_index("customer_id")["behaviour"]
    truth.index = truth.index.astype(str)  # the job reads customer ids as text
    ari = adjusted_rand_score(truth.loc[labels.index].to_numpy(), labels.to_numpy())
    named = pd.crosstab(labels.map(segments.names), truth.loc[labels.index].to_numpy())
    metrics = alerts.metrics or {}
    say = _printer(stream)
    say("")
    say("Summary")
    say(f"  Customer segments: k = {segments.k} ({segments.k_reason})")
    for number, name in segments.names.items():
        row = named.loc[name]
        say(f"    {number}: {name:<12} {int(row.sum()):>7,} customers, mostly generated '{row.idxmax()}' "
            f"({row.max() / row.sum():.0%}). {segments.actions[number]}")
    say(f"  Adjusted Rand index against the generated behaviours: {ari:.3f}")
    say(f"  Anomalies: {len(alerts.alerts):,} alerts in {alerts.n_flows:,} flows (eps {alerts.eps:.3g}); "
        f"precision {metrics.get('precision', float('nan')):.3f}, recall {metrics.get('recall', float('nan')):.3f}, "
        f"F1 {metrics.get('f1', float('nan')):.3f}")
    return {
        "segment": {"k": segments.k, "names": segments.names, "ari": ari},
        "anomalies": {"alerts": len(alerts.alerts), **metrics},
        "out": target,
    }


def run_blobs_demo(
    n_samples: int = 500_000,
    n_features: int = 8,
    n_clusters: int = 8,
    *,
    cluster_config: str | None = None,
    random_state: int = 0,
    out: TextIO | None = None,
) -> dict[str, Any]:
    """Fit KMeans on generated blobs with Dask and NumPy; print and return a summary.

    Parameters
    ----------
    n_samples, n_features, n_clusters : int
        Size of the generated data and the number of clusters to find.
    cluster_config : str, default=None
        A cluster description (see ``cluster_configs/``); by default a
        ``LocalCluster`` of two single-threaded worker processes.
    random_state : int, default=0
    out : text stream, default=None
        Where to print (standard output by default).

    Returns
    -------
    summary : dict
        Inertia, ARI against the true blobs, and seconds, for each backend.
    """
    from sklearn.metrics import adjusted_rand_score

    from . import KMeans
    from .cluster_configs import connect

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")
    client = connect(cluster_config)
    summary: dict[str, Any] = {}
    try:
        say(f"Dask cluster: {len(client.scheduler_info()['workers'])} workers, dashboard at {client.dashboard_link}")
        say(f"Generating {n_samples:,} points in {n_features} dimensions around {n_clusters} centres on the cluster ...")
        Xd, truth_d = _blobs(n_samples, n_features, n_clusters, random_state)
        Xd, truth_d = client.persist([Xd, truth_d])
        X, truth = client.compute([Xd, truth_d], sync=True)

        for name, data in (("dask", Xd), ("numpy", X)):
            start = time.perf_counter()
            model = KMeans(n_clusters=n_clusters, random_state=random_state).fit(data)
            labels = np.asarray(model.labels_.compute() if name == "dask" else model.labels_)
            seconds = time.perf_counter() - start
            ari = adjusted_rand_score(truth, labels)
            summary[name] = {"inertia": model.inertia_, "ari": ari, "seconds": seconds, "n_iter": model.n_iter_}
            say(
                f"  {name:<6} k-means|| ({model.init_rounds_} rounds, {model.init_candidates_} candidates) "
                f"+ {model.n_iter_} Lloyd iterations: inertia {model.inertia_:.6g}, "
                f"ARI vs true blobs {ari:.4f}, {seconds:.2f} s"
            )
        sizes = np.bincount(labels, minlength=n_clusters)
        say(f"Cluster sizes (numpy fit): {sizes.tolist()}")
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()
    return summary


def _blobs(n_samples: int, n_features: int, n_clusters: int, seed: int) -> tuple[Any, Any]:
    """Gaussian blobs made chunk by chunk where the data will live (no big graph)."""
    import dask
    import dask.array as da

    centers = np.random.RandomState(seed).uniform(-10, 10, (n_clusters, n_features))
    rows = max(1, -(-n_samples // 8))

    def chunk(i: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.RandomState([seed, i])
        labels = rng.randint(n_clusters, size=size)
        return (centers[labels] + rng.normal(0, 2.0, (size, n_features))).astype(np.float32), labels

    sizes = [min(rows, n_samples - start) for start in range(0, n_samples, rows)]
    parts = [dask.delayed(chunk, nout=2)(i, size) for i, size in enumerate(sizes)]
    X = da.concatenate([da.from_delayed(p[0], (s, n_features), np.float32) for p, s in zip(parts, sizes)])
    truth = da.concatenate([da.from_delayed(p[1], (s,), np.int64) for p, s in zip(parts, sizes)])
    return X, truth
