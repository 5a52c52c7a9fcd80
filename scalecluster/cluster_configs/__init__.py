"""Dask clusters described in YAML, and ``connect(config)`` → ``distributed.Client``.

A cluster config is a mapping with a ``type`` and that type's fields::

    type: local          # distributed.LocalCluster(**options)
    type: local-cuda     # dask_cuda.LocalCUDACluster(**options)       extra: cuda
    type: slurm          # dask_jobqueue.SLURMCluster(**options)       extra: slurm
    type: kubernetes     # dask_kubernetes.operator.KubeCluster         extra: kubernetes
    type: scheduler      # a running scheduler: address (tcp:// or tls://), tls, options

The cluster types also take ``scale`` or ``adapt`` (keyword arguments of
``cluster.scale`` / ``cluster.adapt``, applied by :func:`connect` once the
cluster is built).  One config of each type ships with the package; pass its
name (``connect("slurm")``), or copy it (``python -m scalecluster.cluster_configs
slurm > my-slurm.yaml``), edit it and pass the path.

A config is data, and reading one never runs code.  The options that would
(``preload``, ``preload_nanny`` and their ``_argv``, ``worker_class`` and
any other option naming a class, ``plugins``, dask-cuda's ``pre_import``,
SLURM's ``job_script_prologue``, ``python``, ``worker_extra_args``, a
``security`` given as a name, ``LD_PRELOAD``/``PYTHONPATH`` in an ``env``...)
are refused, naming each option and the file, unless the caller allows code
for a config it trusts: ``connect(path, allow_code=True)`` (also
:func:`make_cluster`, :func:`load_cluster_config`, :func:`client_from_config`)
or ``--allow-code`` on the command line.

Nothing here imports ``distributed`` or a cluster's package until a cluster
or a client is asked for; a missing package is reported with the pip extra
that installs it.

The work is split by job: :mod:`._load` reads and checks a config (with
:mod:`._code` for options that run code and :mod:`._tls` for certificate
files), :mod:`._classes` knows each type's class and keywords, :mod:`._make`
builds clusters and :mod:`._connect` returns clients.
"""

from __future__ import annotations

from ._connect import client_from_config, connect
from ._load import (
    BUNDLED_CONFIGS,
    CLUSTER_TYPES,
    bundled_config_text,
    load_cluster_config,
)
from ._make import kubernetes_cluster_spec, make_cluster

__all__ = [
    "BUNDLED_CONFIGS",
    "CLUSTER_TYPES",
    "bundled_config_text",
    "client_from_config",
    "connect",
    "kubernetes_cluster_spec",
    "load_cluster_config",
    "make_cluster",
]

# The public functions are documented (and pickled, and shown in reprs) under this
# package's name; the private module that holds each one is an implementation detail.
for _function in (
    bundled_config_text,
    client_from_config,
    connect,
    kubernetes_cluster_spec,
    load_cluster_config,
    make_cluster,
):
    _function.__module__ = __name__
del _function
