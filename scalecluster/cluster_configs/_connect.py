"""``connect(config)``: a ``distributed.Client`` on the cluster a config describes.

Two things happen here that ``distributed`` alone does not do.  A client on a
cluster that ``connect`` started owns it: closing the client closes the
cluster, so ``with connect() as client:`` leaves nothing running.  And a
client that cannot reach a running scheduler says which address it tried and
what to check, with ``distributed``'s own error as the cause: a ``tcp://``
address pointed at a TLS scheduler otherwise fails with a bare
``AssertionError`` or a reset connection, naming neither.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from typing import Any

from ._load import load_cluster_config
from ._make import make_checked_cluster
from ._tls import TLS_FIELDS

logger = logging.getLogger("scalecluster.cluster_configs")  # the package's logger, as documented


@functools.cache
def _owning_client_class() -> type:
    from distributed import Client

    class ClusterClient(Client):
        """A ``distributed.Client`` that also closes the cluster ``connect`` started for it."""

        def close(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().close(*args, **kwargs)
            finally:
                if self.cluster is not None:
                    self.cluster.close()

    return ClusterClient


def connect(
    config: str | os.PathLike | Mapping[str, Any] | None = None,
    *,
    allow_code: bool = False,
    **overrides: Any,
) -> Any:
    """A ``distributed.Client`` connected to the cluster a config describes.

    Parameters
    ----------
    config : str, path or mapping, default=None
        The name of a bundled config (``"local"``, ``"local-cuda"``,
        ``"slurm"``, ``"kubernetes"``, ``"scheduler"``), else the path of a
        YAML file, or the config as a mapping.  None means ``"local"``: a
        ``LocalCluster`` of two single-threaded worker processes.
    allow_code : bool, default=False
        Accept options that import or run code (``preload``,
        ``worker_class``, ``plugins``, ...).  A config is data, so they are
        refused by default; pass True only for a config you trust.
    **overrides
        Replace fields of the config: ``address``, ``tls``, ``scale`` and
        ``adapt`` replace those fields; any other keyword is an option (a
        keyword argument of the cluster class, or of ``distributed.Client``
        for a scheduler), e.g. ``connect("local", n_workers=4)``.

    Returns
    -------
    client : distributed.Client
        For a cluster type, closing the client also closes the cluster it
        started (``with connect() as client: ...``).  For ``type: scheduler``
        the client only connects; the scheduler keeps running.  The
        dashboard link is logged (logger ``scalecluster.cluster_configs``,
        level INFO) and is ``client.dashboard_link``.

    Raises
    ------
    FileNotFoundError, ValueError
        For a config that is missing or invalid (see :func:`load_cluster_config`),
        including one with options that run code when ``allow_code`` is False.
    ModuleNotFoundError
        If the cluster type's package is not installed; the message names
        the pip extra that installs it, e.g. ``pip install "scalecluster[slurm]"``.
    ConnectionError
        For ``type: scheduler``, when no client could connect to the address
        (named, with what to check; ``distributed``'s error is the ``__cause__``).

    Examples
    --------
    >>> import scalecluster
    >>> with scalecluster.connect("local", n_workers=1) as client:  # doctest: +SKIP
    ...     print(client.dashboard_link)
    """
    config = load_cluster_config(config, allow_code=allow_code, **overrides)
    if config["type"] == "scheduler":
        return _connect_to_scheduler(config)

    cluster = make_checked_cluster(config)
    try:
        if "scale" in config:
            cluster.scale(**config["scale"])
        elif "adapt" in config:
            cluster.adapt(**config["adapt"])
        return _owning_client_class()(cluster)
    except BaseException:
        cluster.close()
        raise


def client_from_config(
    path: str | os.PathLike | Mapping[str, Any], *, allow_code: bool = False
) -> Any:
    """A ``distributed.Client`` connected to the cluster ``path`` describes (same as :func:`connect`)."""
    return connect(path, allow_code=allow_code)


def _connect_to_scheduler(config: dict[str, Any]) -> Any:
    from distributed import Client

    address = config["address"]
    options = dict(config["options"])
    if "tls" in config:
        from distributed.security import Security

        options["security"] = Security(
            require_encryption=True,
            **{TLS_FIELDS[k]: v for k, v in config["tls"].items() if v is not None},
        )
    try:
        client = Client(address, **options)
    except Exception as error:  # any failure to connect: say where, keep the original as the cause
        raise ConnectionError(_cannot_connect(address, config, error)) from error
    logger.info("Connected to the Dask scheduler at %s; dashboard at %s", address, client.dashboard_link)
    return client


def _cannot_connect(address: str, config: dict[str, Any], error: Exception) -> str:
    said = " ".join(str(error).split())
    what = f"{type(error).__name__}: {said}" if said else f"{type(error).__name__}, with no message"
    start = f"Could not connect to the Dask scheduler at {address!r} ({what})."
    if address.startswith("tls://"):
        if "tls" not in config and "security" not in config["options"]:
            return (
                f"{start} A tls:// address needs the client's certificates: add a tls: section "
                "(ca_file, cert, key) to the cluster config."
            )
        return (
            f"{start} Check that the scheduler is running and reachable from here, and that the tls: files "
            "are right for it (ca_file: the CA that signed the scheduler's certificate; cert, key: the client's)."
        )
    return (
        f"{start} Check that the scheduler is running and reachable from here. If it uses TLS, connect "
        f"with tls://{address.split('://')[-1]} and a tls: section (ca_file, cert, key) in the cluster config."
    )
