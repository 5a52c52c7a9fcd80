"""Reading a cluster config (bundled name, YAML file or mapping) and checking it before anything starts.

Every mistake a config can hold is found here, when it is read, and named
with the file it came from: YAML that does not parse, an unknown type or
field, an option the cluster's class would not take (with the closest name
it does take), TLS files that are missing or are not what they must be
(:mod:`._tls`), and options that would import or run code (:mod:`._code`).
Starting a scheduler or submitting a SLURM job only to fail on a typo would
cost minutes; reading the file costs nothing.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ._classes import CLUSTER_CLASSES, client_parameters, cluster_parameters
from ._code import refuse_code
from ._tls import TLS_FIELDS, resolve_tls_files

#: Every known ``type``.
CLUSTER_TYPES: tuple[str, ...] = (*CLUSTER_CLASSES, "scheduler")
#: The configs that ship with the package, by name (one per type).
BUNDLED_CONFIGS: tuple[str, ...] = CLUSTER_TYPES

_FIELDS = {kind: {"type", "options", "scale", "adapt"} for kind in CLUSTER_CLASSES}
_FIELDS["scheduler"] = {"type", "address", "tls", "options"}


class _CodeAllowed(dict):
    """A config read with ``allow_code=True``.

    Passing it on (to :func:`connect`, :func:`make_cluster`, a job's
    ``cluster=``) keeps that choice, so the caller that read and trusted
    a file need not repeat it wherever the config travels.
    """


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
    return resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def load_cluster_config(
    config: str | os.PathLike | Mapping[str, Any] | None = None,
    *,
    allow_code: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Read and check a cluster config.

    Parameters
    ----------
    config : str, path or mapping, default=None
        The name of a bundled config (one of :data:`BUNDLED_CONFIGS`), else
        the path of a YAML file, or the config itself as a mapping.  None
        means ``"local"``.
    allow_code : bool, default=False
        Accept options that import or run code (``preload``, ``worker_class``,
        ``plugins``, SLURM's ``job_script_prologue``...; see
        :mod:`scalecluster.cluster_configs`).  Without it they are refused:
        a config is data.  Pass True only for a config you trust.
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
        (relative to the file's folder).  Read with ``allow_code=True``, the
        dict keeps that choice when it is passed on to :func:`connect` or
        :func:`make_cluster`.

    Raises
    ------
    FileNotFoundError
        If ``config`` is neither a bundled name nor an existing file, or a TLS
        file does not exist.
    ValueError
        If the file is not valid YAML, the config is not a mapping, has an
        unknown ``type``, lacks a required field, has fields its type does not
        know, options that its cluster class does not take (checked only when
        that class's package is installed), options that import or run code
        (without ``allow_code``), or TLS files that are not PEM certificates
        and keys (named).
    """
    allow_code = allow_code or isinstance(config, _CodeAllowed)
    if config is None:
        config = "local"
    raw, source, base = _read(config)
    where, of_where = f"Cluster config {source}", f"cluster config {source}"

    if not isinstance(raw, dict):  # bad file content: a ValueError, like the other checks
        raise ValueError(  # noqa: TRY004
            f"{where} must be a mapping with a type (one of {', '.join(CLUSTER_TYPES)}); "
            f"got {type(raw).__name__}."
        )
    if "type" in overrides:
        raise ValueError("The type of a cluster config cannot be overridden; pass another config.")
    kind = raw.get("type")
    if kind is None:
        raise ValueError(f"{where} has no type; it should be one of {', '.join(CLUSTER_TYPES)}.")
    if kind not in CLUSTER_TYPES:
        raise ValueError(
            f"{where} has an unknown type {kind!r}; the known types are {', '.join(CLUSTER_TYPES)}."
        )
    if not allow_code:  # the file's content and the keywords apart, so that the message names the culprit
        refuse_code(raw, where)
        refuse_code(_as_fields(kind, overrides), f"{where}, with the keyword arguments given,")
    for key, value in overrides.items():
        if key in _FIELDS[kind] - {"options"}:
            raw[key] = value
        else:
            raw["options"] = {**(raw.get("options") or {}), key: value}
    unknown = sorted(set(raw) - _FIELDS[kind])
    if unknown:
        raise ValueError(f"{where} (type: {kind}) has unknown fields {unknown}; it takes {sorted(_FIELDS[kind])}.")
    if raw.get("options") is None:
        raw["options"] = {}
    for field in ("options", "scale", "adapt", "tls"):
        if field in raw and not isinstance(raw[field], dict):
            raise ValueError(f"The {field} of {of_where} must be a mapping; got {type(raw[field]).__name__}.")
    if "scale" in raw and "adapt" in raw:
        raise ValueError(f"{where} has both scale and adapt; give one.")

    if kind == "scheduler":
        _check_scheduler(raw, where, base)
    else:
        _check_options(kind, raw["options"], where)
    return _CodeAllowed(raw) if allow_code else raw


def _as_fields(kind: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Keyword overrides arranged as a config: the type's fields, and options for the rest."""
    fields = {key: value for key, value in overrides.items() if key in _FIELDS[kind] - {"options"}}
    fields["options"] = {key: value for key, value in overrides.items() if key not in fields}
    return fields


def _read(config: str | os.PathLike | Mapping[str, Any]) -> tuple[Any, str, Path | None]:
    """(content, how to name it in messages, folder that relative TLS paths start from)."""
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config)), "given as a mapping", Path.cwd()
    import yaml

    name = os.fspath(config)
    if name in BUNDLED_CONFIGS:
        return yaml.safe_load(bundled_config_text(name)), f"{name!r} (bundled)", None
    path = Path(name).expanduser()
    if path.is_dir():
        raise ValueError(f"Cluster config {name!r} is a folder; give the path of a YAML file.")
    if not path.is_file():
        raise FileNotFoundError(
            f"Cluster config {name!r} does not exist: it is neither a file nor one of the bundled configs "
            f"({', '.join(BUNDLED_CONFIGS)})."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"Cluster config {name!r} is not UTF-8 text ({error.reason} at byte {error.start}).") from None
    except OSError as error:
        raise ValueError(
            f"Cluster config {name!r} cannot be read ({error.strerror or error}); check its permissions."
        ) from error
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"Cluster config {name!r} is not valid YAML: {_yaml_problem(error)}.") from error
    return content, repr(name), path.resolve().parent


def _yaml_problem(error: Exception) -> str:
    """One line from a YAML error: what is wrong and where (line and column count from 1)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return problem
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def _check_scheduler(config: dict[str, Any], where: str, base: Path | None) -> None:
    address = config.get("address")
    if not isinstance(address, str) or not address:
        raise ValueError(
            f"{where} has type: scheduler but no address (e.g. tcp://127.0.0.1:8786 or tls://host:8786)."
        )
    _check_names(config["options"], client_parameters(), f"{where} (type: scheduler)", "distributed.Client")
    tls = config.get("tls")
    if tls is None:
        return
    if not address.startswith("tls://"):
        raise ValueError(
            f"{where} has TLS files but the address {address!r} is not a tls:// address; "
            f"use tls://{address.split('://')[-1]}."
        )
    unknown = sorted(set(tls) - set(TLS_FIELDS))
    if unknown:
        raise ValueError(f"{where} has unknown tls fields {unknown}; it takes {sorted(TLS_FIELDS)}.")
    if "security" in config["options"]:
        raise ValueError(f"{where} has both tls and options.security; give one.")
    resolve_tls_files(tls, where, base)


def _check_options(kind: str, options: dict[str, Any], where: str) -> None:
    """Name the options the cluster class would not take (when its package is installed)."""
    try:
        accepted = cluster_parameters(kind)
    except ImportError:
        return  # said when the cluster is made, with the extra to install
    module, cls, _ = CLUSTER_CLASSES[kind]
    _check_names(options, accepted, f"{where} (type: {kind})", f"{module}.{cls}")


def _check_names(options: Mapping[str, Any], accepted: set[str], where: str, target: str) -> None:
    unknown = sorted(set(options) - accepted)
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, accepted, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ValueError(f"{where} has options that {target} does not take: {', '.join(hints)}.")
