"""The demo: KMeans on generated data, on a local Dask cluster and in memory.

Run it with ``scalecluster demo``.  It needs no set-up and no data: it makes
gaussian blobs, starts a ``distributed.LocalCluster`` (or connects to the one a
cluster config describes), fits KMeans with k-means|| on the Dask array, fits
the same data in memory, and prints what each found and how long it took.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

import numpy as np


def run_demo(
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

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")
    client = _start_client(cluster_config)
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


def _start_client(cluster_config: str | None) -> Any:
    # None: the bundled "local" config (two single-threaded worker processes).
    from .cluster_configs import connect

    return connect(cluster_config)
