"""Outputs that appear all at once or not at all, and the leftovers of writers that were killed.

Everything scalecluster writes (labels, generated datasets, a job's report
folder) is first written under a hidden temporary name next to the target and
renamed into place when complete: an interrupted or failed run leaves no
output that looks finished, and removes its temporary files.

A writer killed outright (``kill -9``, the out-of-memory killer, a lost node)
cannot remove its temporary, so the next write to the same target removes
the ones that are certainly abandoned, and logs one line (logger
``scalecluster.io``, level INFO) naming them.  The rule, safe for writers
running at the same time:

* A temporary is named ``.<target name>.<32 hex>.<pid>-<machine>.tmp``: the
  writer's process id, and 8 hex digits that identify its machine (a hash of
  the host name and, on Linux, the process-id namespace, so that two
  containers on one host are two machines).
* Only names of exactly that form for *this* target are considered (and the
  older form without ``.<pid>-<machine>``); nothing else in the folder is
  ever touched.
* One written on this machine is removed when its process is gone.  A live
  process keeps its temporary, however old.
* One whose writer cannot be checked (the older name, another machine, a
  system without process ids) is removed only when nothing in it has changed
  for :data:`STALE_AFTER_S` seconds (24 hours).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator

logger = logging.getLogger("scalecluster.io")

#: A temporary whose writer cannot be checked is abandoned after this long without a change.
STALE_AFTER_S = 24 * 3600
#: What follows ".<target name>." in a temporary's name (the pid and machine are absent in older names).
_TEMPORARY = re.compile(r"[0-9a-f]{32}(?:\.(?P<pid>[0-9]+)-(?P<machine>[0-9a-f]{8}))?\.tmp")


@contextlib.contextmanager
def replaced_atomically(
    path: str | os.PathLike, *, overwrite: bool = True, exists_message: str | None = None, make_dir: bool = True
) -> Iterator[str]:
    """Yield a temporary path that becomes ``path`` when the block exits cleanly.

    Abandoned temporaries of ``path`` (see the module docstring) are removed first.

    Parameters
    ----------
    path : str or path-like
        The final file or folder.
    overwrite : bool, default=True
        Replace an existing ``path``; if False, an existing ``path`` is an error
        raised before any work.
    exists_message : str, default=None
        The message of that error.
    make_dir : bool, default=True
        Create the temporary path as a folder (else the writer creates it).

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    target = os.path.abspath(os.fspath(path))
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(exists_message or f"{os.fspath(path)!r} exists; pass overwrite=True to replace it.")
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    remove_abandoned_temporaries(target)
    temporary = os.path.join(
        parent, f".{os.path.basename(target)}.{uuid.uuid4().hex}.{os.getpid()}-{_machine()}.tmp"
    )
    if make_dir:
        os.makedirs(temporary)
    try:
        yield temporary
        if os.path.exists(target):
            remove(target)
        os.replace(temporary, target)
    finally:
        if os.path.lexists(temporary):
            remove(temporary)


def remove(path: str) -> None:
    """Delete a file or a folder tree (a link is removed, never what it points to)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


def remove_abandoned_temporaries(target: str) -> list[str]:
    """Remove the temporaries of ``target`` that interrupted writers left; return their names.

    See the module docstring for which ones count as abandoned.  A temporary
    that cannot be removed (permissions, another process removing it too) is
    left as it is.
    """
    parent, name = os.path.split(os.path.abspath(target))
    prefix = f".{name}."
    try:
        entries = [entry for entry in os.listdir(parent) if entry.startswith(prefix)]
    except OSError:
        return []
    removed = []
    for entry in sorted(entries):
        match = _TEMPORARY.fullmatch(entry[len(prefix):])
        path = os.path.join(parent, entry)
        if match is None or not _abandoned(path, match):
            continue
        try:
            remove(path)
        except OSError as error:
            if os.path.lexists(path):
                logger.debug("Could not remove the abandoned temporary %s: %s", path, error)
                continue
        removed.append(entry)
    if removed:
        logger.info(
            "Removed %d temporary output(s) of %s left by interrupted writes: %s",
            len(removed), target, ", ".join(removed),
        )
    return removed


def _abandoned(path: str, match: re.Match) -> bool:
    if match["pid"] is not None and match["machine"] == _machine():
        alive = _alive(int(match["pid"]))
        if alive is not None:
            return not alive
    return time.time() - _last_change(path) >= STALE_AFTER_S


def _alive(pid: int) -> bool | None:
    """Whether process ``pid`` runs on this machine; None where that cannot be asked."""
    if os.name != "posix":
        return None  # on Windows, os.kill(pid, 0) would send CTRL_C_EVENT
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return None
    return True


def _last_change(path: str) -> float:
    """The latest modification time of ``path`` and everything under it (links not followed)."""
    try:
        latest = os.lstat(path).st_mtime
    except OSError:
        return time.time()  # gone or unreadable: not ours to judge as old
    if os.path.isdir(path) and not os.path.islink(path):
        for root, dirs, files in os.walk(path):
            for entry in dirs + files:
                with contextlib.suppress(OSError):
                    latest = max(latest, os.lstat(os.path.join(root, entry)).st_mtime)
    return latest


@functools.cache
def _machine() -> str:
    """8 hex digits for this machine: the host name and, on Linux, the process-id namespace."""
    identity = socket.gethostname()
    with contextlib.suppress(OSError):
        identity += os.readlink("/proc/self/ns/pid")  # two containers on one host do not share pids
    return hashlib.sha256(identity.encode()).hexdigest()[:8]
