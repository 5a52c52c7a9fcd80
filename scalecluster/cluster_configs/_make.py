"""Building the cluster object a config describes, and a Kubernetes spec offline.

The clusters' own classes build them (``distributed.LocalCluster``,
``dask_cuda.LocalCUDACluster``, ``dask_jobqueue.SLURMCluster``,
``dask_kubernetes.operator.KubeCluster``) from the config's options as they
are: this module only splits a kubernetes config's options between the
``DaskCluster`` resource and ``KubeCluster``, so that the resource can be
built and checked without a Kubernetes cluster.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from ._classes import cluster_class, import_cluster_module, kubernetes_spec_parameters
from ._load import load_cluster_config

logger = logging.getLogger("scalecluster.cluster_configs")  # the package's logger, as documented


def kubernetes_cluster_spec(
    config: str | os.PathLike | Mapping[str, Any] | None = "kubernetes",
    *,
    allow_code: bool = False,
    **overrides: Any,
) -> dict:
    """The ``DaskCluster`` resource a ``type: kubernetes`` config creates, built offline.

    The options that ``dask_kubernetes.operator.make_cluster_spec`` takes
    (``name``, ``image``, ``n_workers``, ``resources``, ``env``, ...) build
    the spec; :func:`make_cluster` passes exactly this spec to ``KubeCluster``
    as ``custom_cluster_spec``.  Constructing ``KubeCluster`` needs a live
    Kubernetes cluster with the Dask operator, this does not, so it is the
    way to check a config without one.

    Parameters
    ----------
    config, allow_code, **overrides
        As for :func:`load_cluster_config`; the config's type must be kubernetes.

    Returns
    -------
    spec : dict
        The ``kubernetes.dask.org/v1`` ``DaskCluster`` resource.
    """
    config = load_cluster_config(config, allow_code=allow_code, **overrides)
    if config["type"] != "kubernetes":
        raise ValueError(
            f"kubernetes_cluster_spec needs a config of type: kubernetes, not {config['type']}."
        )
    return _kubernetes_spec(config["options"])[0]


def _kubernetes_spec(options: dict[str, Any]) -> tuple[dict, dict[str, Any]]:
    """(spec, KubeCluster keyword arguments) from the options of a kubernetes config."""
    make_cluster_spec = import_cluster_module("kubernetes").make_cluster_spec
    spec_names = kubernetes_spec_parameters()
    spec_options = {key: value for key, value in options.items() if key in spec_names}
    spec_options.setdefault("name", "scalecluster")
    rest = {key: value for key, value in options.items() if key not in spec_names}
    return make_cluster_spec(**spec_options), rest


def make_cluster(
    config: str | os.PathLike | Mapping[str, Any] | None = None,
    *,
    allow_code: bool = False,
    **overrides: Any,
) -> Any:
    """Build the cluster object a config describes, without a client.

    The cluster's own class builds it (``distributed.LocalCluster``,
    ``dask_cuda.LocalCUDACluster``, ``dask_jobqueue.SLURMCluster``,
    ``dask_kubernetes.operator.KubeCluster``), so it starts its scheduler as
    that class does; ``scale``/``adapt`` are *not* applied, so a SLURM
    cluster submits no job unless its options ask for ``n_workers``, and
    ``make_cluster("slurm").job_script()`` shows the job script without a
    queue.  ``KubeCluster`` needs a live Kubernetes cluster: use
    :func:`kubernetes_cluster_spec` to check a kubernetes config offline.
    The caller closes the cluster.

    Parameters
    ----------
    config, allow_code, **overrides
        As for :func:`load_cluster_config`.

    Returns
    -------
    cluster : distributed.deploy.Cluster
        A started cluster.

    Raises
    ------
    ValueError
        For a ``type: scheduler`` config (there is no cluster to build; use
        :func:`connect`), or an invalid config.
    ModuleNotFoundError
        If the cluster type's package is not installed; the message names
        the pip extra that installs it.
    """
    config = load_cluster_config(config, allow_code=allow_code, **overrides)
    return make_checked_cluster(config)


def make_checked_cluster(config: dict[str, Any]) -> Any:
    """The cluster of a config that :func:`load_cluster_config` returned (trusted as it is)."""
    kind = config["type"]
    if kind == "scheduler":
        raise ValueError(
            "A type: scheduler config names a running scheduler; there is no cluster to make. Use connect()."
        )
    cls = cluster_class(kind)
    options = dict(config["options"])
    if kind == "kubernetes":
        spec, options = _kubernetes_spec(options)
        options["custom_cluster_spec"] = spec
    cluster = cls(**options)
    logger.info("Started %s; Dask dashboard at %s", type(cluster).__name__, cluster.dashboard_link)
    return cluster
