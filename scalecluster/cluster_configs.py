"""Turn a cluster description (YAML) into a connected ``distributed.Client``.

Two kinds are understood::

    type: local          # distributed.LocalCluster(**options)
    options: {n_workers: 2, threads_per_worker: 1}

    type: scheduler      # a scheduler that is already running
    address: tcp://127.0.0.1:8786

``distributed`` is imported only when a client is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_cluster_config(path: str | Path) -> dict[str, Any]:
    """Read and check a cluster description.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a mapping with a known ``type`` and its fields.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Cluster config {str(path)!r} does not exist.")
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict) or config.get("type") not in ("local", "scheduler"):
        raise ValueError(f"Cluster config {str(path)!r} must be a mapping with type: local or type: scheduler.")
    if config["type"] == "scheduler" and not isinstance(config.get("address"), str):
        raise ValueError(f"Cluster config {str(path)!r} has type: scheduler but no address.")
    if not isinstance(config.get("options", {}), dict):
        raise ValueError(f"The options of cluster config {str(path)!r} must be a mapping.")
    return config


def client_from_config(path: str | Path) -> Any:
    """A ``distributed.Client`` connected to the cluster ``path`` describes."""
    from distributed import Client, LocalCluster

    config = load_cluster_config(path)
    if config["type"] == "scheduler":
        return Client(config["address"])
    cluster = LocalCluster(**config.get("options", {}))
    return Client(cluster)
