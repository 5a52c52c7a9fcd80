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

Nothing here imports ``distributed`` or a cluster's package until a cluster
or a client is asked for; a missing package is reported with the pip extra
that installs it.
"""

from __future__ import annotations

import copy
import difflib
import functools
import importlib
import inspect
import logging
import os
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

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

logger = logging.getLogger(__name__)

#: type -> (module, class, pip extra that installs the module or None).
_CLUSTER_CLASSES: dict[str, tuple[str, str, str | None]] = {
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

#: Every known ``type``.
CLUSTER_TYPES: tuple[str, ...] = (*_CLUSTER_CLASSES, "scheduler")
#: The configs that ship with the package, by name (one per type).
BUNDLED_CONFIGS: tuple[str, ...] = CLUSTER_TYPES

_FIELDS = {kind: {"type", "options", "scale", "adapt"} for kind in _CLUSTER_CLASSES}
_FIELDS["scheduler"] = {"type", "address", "tls", "options"}
#: ``tls:`` keys of a scheduler config -> ``distributed.security.Security`` arguments.
_TLS_FIELDS = {
    "ca_file": "tls_ca_file",
    "cert": "tls_client_cert",
    "key": "tls_client_key",
}


# --------------------------------------------------------------------------- reading


def bundled_config_text(name: str) -> str:
    """The YAML text of the bundled config ``name`` (one of :data:`BUNDLED_CONFIGS`).

    Raises
    ------
    ValueError
        If there is no bundled config of that name.
    """
    if name not in BUNDLED_CONFIGS:
        raise ValueError(
            f"There is no bundled cluster config {name!r}; the bundled ones are {', '.join(BUNDLED_CONFIGS)}."
        )
    return (
        resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    )


def load_cluster_config(
    config: str | os.PathLike | Mapping[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    """Read and check a cluster config.

    Parameters
    ----------
    config : str, path or mapping, default=None
        The name of a bundled config (one of :data:`BUNDLED_CONFIGS`), else
        the path of a YAML file, or the config itself as a mapping.  None
        means ``"local"``.
    **overrides
        Replace fields of the config: ``address``, ``tls``, ``scale`` and
        ``adapt`` replace those fields, any other keyword updates ``options``
        (the keyword arguments of the cluster class, or of
        ``distributed.Client`` for ``type: scheduler``).

    Returns
    -------
    config : dict
        A new dict with ``type``, ``options`` (always present) and the type's
        other fields; relative TLS file paths of a file are made absolute
        (relative to the file's folder).

    Raises
    ------
    FileNotFoundError
        If ``config`` is neither a bundled name nor an existing file, or a TLS
        file does not exist.
    ValueError
        If the config is not a mapping, has an unknown ``type``, lacks a
        required field, has fields its type does not know, or options that
        its cluster class does not take (checked only when that class's
        package is installed).
    """
    if config is None:
        config = "local"
    if isinstance(config, Mapping):
        source, base = "given as a mapping", Path.cwd()
        raw: Any = copy.deepcopy(dict(config))
    else:
        import yaml

        name = os.fspath(config)
        if name in BUNDLED_CONFIGS:
            source, base = f"{name!r} (bundled)", None
            text = bundled_config_text(name)
        else:
            path = Path(name).expanduser()
            if not path.is_file():
                raise FileNotFoundError(
                    f"Cluster config {name!r} does not exist: it is neither a file nor one of the bundled configs "
                    f"({', '.join(BUNDLED_CONFIGS)})."
                )
            source, base = repr(name), path.resolve().parent
            text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    where, of_where = f"Cluster config {source}", f"cluster config {source}"

    if not isinstance(
        raw, dict
    ):  # bad file content: a ValueError, like the other checks
        raise ValueError(  # noqa: TRY004
            f"{where} must be a mapping with a type (one of {', '.join(CLUSTER_TYPES)})."
        )
    if "type" in overrides:
        raise ValueError(
            "The type of a cluster config cannot be overridden; pass another config."
        )
    kind = raw.get("type")
    if kind is None:
        raise ValueError(
            f"{where} has no type; it should be one of {', '.join(CLUSTER_TYPES)}."
        )
    if kind not in CLUSTER_TYPES:
        raise ValueError(
            f"{where} has an unknown type {kind!r}; the known types are {', '.join(CLUSTER_TYPES)}."
        )
    for key, value in overrides.items():
        if key in _FIELDS[kind] - {"options"}:
            raw[key] = value
        else:
            raw["options"] = {**(raw.get("options") or {}), key: value}
    unknown = sorted(set(raw) - _FIELDS[kind])
    if unknown:
        raise ValueError(
            f"{where} (type: {kind}) has unknown fields {unknown}; it takes {sorted(_FIELDS[kind])}."
        )
    if raw.get("options") is None:
        raw["options"] = {}
    for field in ("options", "scale", "adapt", "tls"):
        if field in raw and not isinstance(raw[field], dict):
            raise ValueError(f"The {field} of {of_where} must be a mapping.")
    if "scale" in raw and "adapt" in raw:
        raise ValueError(f"{where} has both scale and adapt; give one.")

    if kind == "scheduler":
        _check_scheduler(raw, where, base)
    else:
        _check_options(kind, raw["options"], where)
    return raw


def _check_scheduler(config: dict[str, Any], where: str, base: Path | None) -> None:
    address = config.get("address")
    if not isinstance(address, str) or not address:
        raise ValueError(
            f"{where} has type: scheduler but no address (e.g. tcp://127.0.0.1:8786 or tls://host:8786)."
        )
    _check_names(
        config["options"],
        _client_parameters(),
        f"{where} (type: scheduler)",
        "distributed.Client",
    )
    tls = config.get("tls")
    if tls is None:
        return
    if not address.startswith("tls://"):
        raise ValueError(
            f"{where} has TLS files but the address {address!r} is not a tls:// address."
        )
    unknown = sorted(set(tls) - set(_TLS_FIELDS))
    if unknown:
        raise ValueError(
            f"{where} has unknown tls fields {unknown}; it takes {sorted(_TLS_FIELDS)}."
        )
    if "security" in config["options"]:
        raise ValueError(f"{where} has both tls and options.security; give one.")
    for key in _TLS_FIELDS:
        if tls.get(key) is None:
            if key == "key":
                continue  # the key may be in the certificate file
            raise ValueError(f"{where} has tls but no tls.{key}.")
        path = Path(os.path.expandvars(str(tls[key]))).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise FileNotFoundError(
                f"{where}: the tls.{key} file {str(path)!r} does not exist."
            )
        tls[key] = str(path)


def _check_options(kind: str, options: dict[str, Any], where: str) -> None:
    """Name the options the cluster class would not take (when its package is installed)."""
    try:
        accepted = _cluster_parameters(kind)
    except ImportError:
        return  # said when the cluster is made, with the extra to install
    module, cls, _ = _CLUSTER_CLASSES[kind]
    _check_names(options, accepted, f"{where} (type: {kind})", f"{module}.{cls}")


def _check_names(
    options: Mapping[str, Any], accepted: set[str], where: str, target: str
) -> None:
    unknown = sorted(set(options) - accepted)
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, accepted, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ValueError(
        f"{where} has options that {target} does not take: {', '.join(hints)}."
    )


def _parameters(*functions: Callable[..., Any]) -> set[str]:
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {
        name
        for function in functions
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind in named and name != "self"
    }


def _client_parameters() -> set[str]:
    from distributed import Client

    return _parameters(Client.__init__) - {"address"}


def _cluster_parameters(kind: str) -> set[str]:
    """The keyword arguments that the cluster of ``kind`` passes on somewhere."""
    from distributed import LocalCluster, Nanny, Worker

    local = _parameters(LocalCluster.__init__, Nanny.__init__, Worker.__init__)
    cls = _cluster_class(kind)
    if kind == "local":
        return local
    if kind == "local-cuda":
        return _parameters(cls.__init__) | local
    if kind == "slurm":
        from dask_jobqueue.core import Job, JobQueueCluster

        return _parameters(
            cls.__init__, JobQueueCluster.__init__, cls.job_cls.__init__, Job.__init__
        )
    # kubernetes: the spec's fields and KubeCluster's other arguments
    from distributed.deploy import Cluster

    return _kubernetes_spec_parameters() | _parameters(
        cls.__init__, Cluster.__init__
    ) - {"custom_cluster_spec"}


def _kubernetes_spec_parameters() -> set[str]:
    from dask_kubernetes.operator import make_cluster_spec

    return _parameters(make_cluster_spec)


def _import(kind: str) -> Any:
    module, _, extra = _CLUSTER_CLASSES[kind]
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


def _cluster_class(kind: str) -> type:
    return getattr(_import(kind), _CLUSTER_CLASSES[kind][1])


# --------------------------------------------------------------------------- building


def kubernetes_cluster_spec(
    config: str | os.PathLike | Mapping[str, Any] | None = "kubernetes",
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
    config, **overrides
        As for :func:`load_cluster_config`; the config's type must be kubernetes.

    Returns
    -------
    spec : dict
        The ``kubernetes.dask.org/v1`` ``DaskCluster`` resource.
    """
    config = load_cluster_config(config, **overrides)
    if config["type"] != "kubernetes":
        raise ValueError(
            f"kubernetes_cluster_spec needs a config of type: kubernetes, not {config['type']}."
        )
    return _kubernetes_spec(config["options"])[0]


def _kubernetes_spec(options: dict[str, Any]) -> tuple[dict, dict[str, Any]]:
    """(spec, KubeCluster keyword arguments) from the options of a kubernetes config."""
    make_cluster_spec = _import("kubernetes").make_cluster_spec
    spec_names = _kubernetes_spec_parameters()
    spec_options = {key: value for key, value in options.items() if key in spec_names}
    spec_options.setdefault("name", "scalecluster")
    rest = {key: value for key, value in options.items() if key not in spec_names}
    return make_cluster_spec(**spec_options), rest


def make_cluster(
    config: str | os.PathLike | Mapping[str, Any] | None = None, **overrides: Any
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
    config, **overrides
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
    config = load_cluster_config(config, **overrides)
    return _make_cluster(config)


def _make_cluster(config: dict[str, Any]) -> Any:
    kind = config["type"]
    if kind == "scheduler":
        raise ValueError(
            "A type: scheduler config names a running scheduler; there is no cluster to make. Use connect()."
        )
    cls = _cluster_class(kind)
    options = dict(config["options"])
    if kind == "kubernetes":
        spec, options = _kubernetes_spec(options)
        options["custom_cluster_spec"] = spec
    cluster = cls(**options)
    logger.info(
        "Started %s; Dask dashboard at %s",
        type(cluster).__name__,
        cluster.dashboard_link,
    )
    return cluster


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
    config: str | os.PathLike | Mapping[str, Any] | None = None, **overrides: Any
) -> Any:
    """A ``distributed.Client`` connected to the cluster a config describes.

    Parameters
    ----------
    config : str, path or mapping, default=None
        The name of a bundled config (``"local"``, ``"local-cuda"``,
        ``"slurm"``, ``"kubernetes"``, ``"scheduler"``), else the path of a
        YAML file, or the config as a mapping.  None means ``"local"``: a
        ``LocalCluster`` of two single-threaded worker processes.
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
        For a config that is missing or invalid (see :func:`load_cluster_config`).
    ModuleNotFoundError
        If the cluster type's package is not installed; the message names
        the pip extra that installs it, e.g. ``pip install "scalecluster[slurm]"``.

    Examples
    --------
    >>> import scalecluster
    >>> with scalecluster.connect("local", n_workers=1) as client:  # doctest: +SKIP
    ...     print(client.dashboard_link)
    """
    config = load_cluster_config(config, **overrides)
    if config["type"] == "scheduler":
        from distributed import Client

        options = dict(config["options"])
        if "tls" in config:
            from distributed.security import Security

            tls = config["tls"]
            options["security"] = Security(
                require_encryption=True,
                **{_TLS_FIELDS[k]: v for k, v in tls.items() if v is not None},
            )
        client = Client(config["address"], **options)
        logger.info(
            "Connected to the Dask scheduler at %s; dashboard at %s",
            config["address"],
            client.dashboard_link,
        )
        return client

    cluster = _make_cluster(config)
    try:
        if "scale" in config:
            cluster.scale(**config["scale"])
        elif "adapt" in config:
            cluster.adapt(**config["adapt"])
        return _owning_client_class()(cluster)
    except BaseException:
        cluster.close()
        raise


def client_from_config(path: str | os.PathLike | Mapping[str, Any]) -> Any:
    """A ``distributed.Client`` connected to the cluster ``path`` describes (same as :func:`connect`)."""
    return connect(path)
