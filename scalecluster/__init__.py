"""scalecluster: clustering on NumPy, CuPy and Dask, exact and bounded in memory.

Importing this package imports neither CuPy, nor ``distributed``, nor
matplotlib: a backend's library is loaded only when data of that kind arrives.
The estimators (and scikit-learn, SciPy and numba behind them) are imported on
first use, so ``scalecluster --help`` answers at once.
"""

from ._config import config_context, get_config, set_config

__version__ = "0.1.0"

__all__ = ["DBSCAN", "AgglomerativeClustering", "KMeans", "MiniBatchKMeans", "__version__", "config_context", "connect", "get_config", "read_parquet", "set_config", "to_parquet"]


def __getattr__(name: str):
    if name in ("AgglomerativeClustering", "DBSCAN", "KMeans", "MiniBatchKMeans"):  # scikit-learn, SciPy and numba are imported here
        from . import cluster

        return getattr(cluster, name)
    # Parquet helpers are imported on first use: pyarrow is not needed to import scalecluster.
    if name in ("read_parquet", "to_parquet"):
        from . import io

        return getattr(io, name)
    if name in ("datasets", "features", "jobs", "metrics", "io", "cluster"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "connect":  # distributed is imported only when a client is asked for
        from .cluster_configs import connect

        return connect
    raise AttributeError(f"module 'scalecluster' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
