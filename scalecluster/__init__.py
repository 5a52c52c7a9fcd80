"""scalecluster: clustering on NumPy, CuPy and Dask, exact and bounded in memory.

Importing this package imports neither CuPy, nor ``distributed``, nor
matplotlib: a backend's library is loaded only when data of that kind arrives.
"""

from ._config import config_context, get_config, set_config
from .cluster import DBSCAN, KMeans, MiniBatchKMeans

__version__ = "0.1.0"

__all__ = ["DBSCAN", "KMeans", "MiniBatchKMeans", "config_context", "connect", "get_config", "read_parquet", "set_config", "to_parquet", "__version__"]


def __getattr__(name: str):
    # Parquet helpers are imported on first use: pyarrow is not needed to import scalecluster.
    if name in ("read_parquet", "to_parquet"):
        from . import io

        return getattr(io, name)
    if name in ("datasets", "features", "jobs", "metrics", "io"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "connect":  # distributed is imported only when a client is asked for
        from .cluster_configs import connect

        return connect
    raise AttributeError(f"module 'scalecluster' has no attribute {name!r}")
