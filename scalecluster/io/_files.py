"""The files under a folder, for the readers (:func:`~scalecluster.read_parquet`, the jobs' inputs).

``os.walk`` and ``Path.rglob`` skip a folder they cannot list without a word,
so an unreadable folder used to be reported as one that "holds no data files".
Here a folder that cannot be read is an error that names it.
"""

from __future__ import annotations

import os


def folder_files(folder: str) -> list[str]:
    """The files under ``folder``, recursively and sorted; names starting with ``_`` or ``.`` are skipped.

    Hidden folders (``.name``) are not entered: they hold other tools' state
    and the temporary outputs of writes in progress (see :mod:`._atomic`).

    Raises
    ------
    OSError
        ``folder`` or a folder under it cannot be read; a PermissionError
        (naming the folder) for missing permissions.
    """

    def unreadable(error: OSError) -> None:
        fix = "; check its permissions" if isinstance(error, PermissionError) else ""
        raise type(error)(f"The folder {error.filename!r} cannot be read ({error.strerror}){fix}.") from error

    found = []
    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, name) for name in names if not name.startswith(("_", ".")))
    return sorted(found)
