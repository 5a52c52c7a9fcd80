"""Outputs that appear all at once or not at all.

Everything scalecluster writes (labels, generated datasets, a job's report
folder) is first written under a hidden temporary name next to the target and
renamed into place when complete: an interrupted or failed run leaves no
output that looks finished, and removes its temporary files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def replaced_atomically(
    path: str | os.PathLike, *, overwrite: bool = True, exists_message: str | None = None, make_dir: bool = True
) -> Iterator[str]:
    """Yield a temporary path that becomes ``path`` when the block exits cleanly.

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
    temporary = os.path.join(parent, f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")
    if make_dir:
        os.makedirs(temporary)
    try:
        yield temporary
        if os.path.exists(target):
            remove(target)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            remove(temporary)


def remove(path: str) -> None:
    """Delete a file or a folder tree."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    else:
        os.remove(path)
