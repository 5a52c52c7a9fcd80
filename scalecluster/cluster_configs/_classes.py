"""Which class builds each cluster type, the pip extra that installs it, and the keywords it takes.

The table lives here, apart from reading and building, because both need it:
:mod:`._load` names the options a class would not take (a typo is reported
when the file is read, not after a scheduler has started), and :mod:`._make`
imports the class.  Every import is done on demand, so that importing
:mod:`scalecluster.cluster_configs` imports neither ``distributed`` nor a
cluster's package; a missing package is reported with the extra that installs it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

#: type -> (module, class, pip extra that installs the module or None).
CLUSTER_CLASSES: dict[str, tuple[str, str, str | None]] = {
    "local": ("distributed", "LocalCluster", None),
    "local-cuda": ("dask_cuda", "LocalCUDACluster", "cuda"),
    "slurm": ("dask_jobqueue", "SLURMCluster", "slurm"),
    "kubernetes": ("dask_kubernetes.operator", "KubeCluster", "kubernetes"),
}
#: The pip name of each optional package, for messages.
_PIP_NAMES = {
    "dask_cuda": "dask-cuda",
    "dask_jobqueue": "dask-jobqueue",
    "dask_kubernetes.operator": "dask-kubernetes",
}


def parameters(*functions: Callable[..., Any]) -> set[str]:
    """The names that can be passed by keyword to any of ``functions``."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {
        name
        for function in functions
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind in named and name != "self"
    }


def client_parameters() -> set[str]:
    """The keyword arguments of ``distributed.Client`` (for ``type: scheduler``)."""
    from distributed import Client

    return parameters(Client.__init__) - {"address"}


def cluster_parameters(kind: str) -> set[str]:
    """The keyword arguments that the cluster of ``kind`` passes on somewhere."""
    from distributed import LocalCluster, Nanny, Worker

    local = parameters(LocalCluster.__init__, Nanny.__init__, Worker.__init__)
    cls = cluster_class(kind)
    if kind == "local":
        return local
    if kind == "local-cuda":
        return parameters(cls.__init__) | local
    if kind == "slurm":
        from dask_jobqueue.core import Job, JobQueueCluster

        return parameters(
            cls.__init__, JobQueueCluster.__init__, cls.job_cls.__init__, Job.__init__
        )
    # kubernetes: the spec's fields and KubeCluster's other arguments
    from distributed.deploy import Cluster

    return kubernetes_spec_parameters() | parameters(
        cls.__init__, Cluster.__init__
    ) - {"custom_cluster_spec"}


def kubernetes_spec_parameters() -> set[str]:
    """The options that ``dask_kubernetes.operator.make_cluster_spec`` takes."""
    from dask_kubernetes.operator import make_cluster_spec

    return parameters(make_cluster_spec)


def import_cluster_module(kind: str) -> Any:
    """The module that holds the class of ``kind``; a missing package names its pip extra."""
    module, _, extra = CLUSTER_CLASSES[kind]
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if extra is None:
            raise
        raise ModuleNotFoundError(
            f"Cluster type {kind!r} needs {_PIP_NAMES[module]}, which could not be imported ({error}). "
            f'Install it with: pip install "scalecluster[{extra}]"',
            name=module,
        ) from error


def cluster_class(kind: str) -> type:
    """The class that builds a cluster of ``kind`` (imported now)."""
    return getattr(import_cluster_module(kind), CLUSTER_CLASSES[kind][1])
