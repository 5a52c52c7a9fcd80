"""Options of a cluster config that import or run code, refused unless the caller allows code.

A cluster config file is data: reading one, even one written by someone
else, must not run code.  Yet some keyword arguments of the clusters' own
classes do exactly that, by name or by path: ``preload`` runs a Python file
or imports a module in the scheduler and the workers (and, with
``processes: false``, in the very process that called ``connect``);
``worker_class`` imports a class and instantiates it; ``pre_import`` (dask-cuda)
imports modules in every worker; SLURM's ``job_script_prologue``, ``python``
or ``worker_extra_args`` become lines of a job script that runs under your
account.  Such options are refused, naming each one and what it does, unless
the caller passes ``allow_code=True`` (``--allow-code`` on the command line).

The check goes by name, not by value: an option is code if its name is one
of :data:`CODE_OPTIONS`, starts with ``preload``, ends with ``class``, ``cls``
or ``plugins``, wherever it sits (a top-level option, or a key nested in a
mapping such as ``scheduler_options``, ``worker_kwargs`` or a Nanny's
``config``, dotted Dask config keys included).  Environment variables
that make a process load code (``LD_PRELOAD``, ``PYTHONPATH``, a ``DASK_``
variable that sets a preload...) are refused in an ``env`` mapping.  An empty
value (``job_script_prologue: []``, ``worker_class: null``) loads nothing and
passes.  ``security`` is code only when given as a name (a string): true, false or a
mapping of ``distributed.security.Security`` arguments are data.

What a kubernetes config's ``image`` runs is what such a config is for, and
runs inside the Kubernetes cluster's containers, not here: it is not refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Names of options (or nested keys) that import or run code -> what they do.
CODE_OPTIONS: dict[str, str] = {
    "preload": "imports a module or runs a Python file in the scheduler or the workers",
    "preload_argv": "passes arguments to the preload scripts",
    "preload_nanny": "imports a module or runs a Python file in the nanny processes",
    "preload_nanny_argv": "passes arguments to the nanny's preload scripts",
    "worker_class": "imports a class by name and runs it as the worker",
    "plugins": "installs plugin objects that run in the scheduler or the workers",
    "extensions": "instantiates extension classes in the scheduler or the client",
    "services": "instantiates service classes in the scheduler",
    "worker_services": "instantiates service classes in the workers",
    "pre_import": "imports modules in every worker",
    "security_loader": "imports a function that makes the client's security settings",
    "adaptive": "names the class that scales the cluster",
    "python": "is the program each SLURM job runs its worker with",
    "worker_command": "is the module or program each job or pod runs",
    "job_script_prologue": "adds shell lines to each SLURM job script",
    "env_extra": "adds shell lines to each SLURM job script",
    "shebang": "is the interpreter of each SLURM job script",
    "worker_extra_args": "adds arguments (such as --preload) to each worker's command line",
    "extra": "adds arguments (such as --preload) to each worker's command line",
}
_BY_PATTERN = "names a class, a plugin or a preload to import"
#: Environment variables that make a process load code chosen by their value.
_CODE_VARIABLES = {
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONBREAKPOINT",
    "PYTHONEXECUTABLE",
}


def code_options(options: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted option name, what it does) for each option of ``options`` that loads code.

    ``options`` is a config's ``options`` (or ``scale``/``adapt``) mapping;
    nested mappings and lists are searched too.
    """
    found: list[tuple[str, str]] = []
    if isinstance(options, Mapping):
        for key, value in options.items():
            name = f"{prefix}{key}"
            reason = _reason(str(key), value)
            if reason is not None:
                found.append((name, reason))
            elif _normalise(str(key)) == "env" and isinstance(value, Mapping):
                found.extend(
                    (f"{name}.{variable}", "makes the process load code it names")
                    for variable in value
                    if _is_code_variable(str(variable))
                )
            else:
                found.extend(code_options(value, f"{name}."))
    elif isinstance(options, (list, tuple)):
        for index, value in enumerate(options):
            found.extend(code_options(value, f"{prefix}{index}."))
    return found


def refuse_code(config: Mapping[str, Any], where: str) -> None:
    """Raise if ``config`` has options that import or run code (see the module docstring).

    Raises
    ------
    ValueError
        Naming each such option and what it does, why it is refused and how to allow it.
    """
    found = [
        item
        for field in ("options", "scale", "adapt")
        for item in code_options(config.get(field), "" if field == "options" else f"{field}.")
    ]
    if not found:
        return
    listed = "; ".join(f"{name!r} {reason}" for name, reason in found)
    raise ValueError(
        f"{where} has options that import or run code: {listed}. A cluster config is data, so these are "
        "refused unless you trust the config and allow code: pass allow_code=True (on the command line: "
        "--allow-code)."
    )


def _normalise(key: str) -> str:
    # "distributed.worker.preload" (a Dask config key) and "preload-nanny" mean the same options.
    return key.rsplit(".", 1)[-1].replace("-", "_").lower()


def _reason(key: str, value: Any) -> str | None:
    if value is None or (isinstance(value, (str, list, tuple, dict)) and len(value) == 0):
        return None  # an empty option loads nothing (e.g. job_script_prologue: [])
    name = _normalise(key)
    if name == "security":
        return "is given as a name, which would be imported as code" if isinstance(value, str) else None
    if name in CODE_OPTIONS:
        return CODE_OPTIONS[name]
    if name.startswith("preload") or name.endswith(("class", "cls", "plugins")):
        return _BY_PATTERN
    return None


def _is_code_variable(variable: str) -> bool:
    upper = variable.upper()
    if upper in _CODE_VARIABLES:
        return True
    # DASK_DISTRIBUTED__WORKER__PRELOAD sets the Dask config key distributed.worker.preload.
    if upper.startswith("DASK_"):
        return _reason(upper[len("DASK_"):].rsplit("__", 1)[-1], "set") is not None
    return False
