"""Partitioned Parquet output that appears all at once or not at all.

The files are written into a hidden temporary folder next to the target and
the folder is renamed into place when every part is complete, as
:func:`scalecluster.to_parquet` does for labels: an interrupted run leaves no
output that looks finished.  A run killed outright leaves its temporary
folder behind; the next write of the same dataset removes it (only once its
writer is certainly gone: see :mod:`scalecluster.io._atomic`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

import pandas as pd

from ..io._atomic import replaced_atomically

#: Name of the file that records how a dataset was generated (readers skip ``_`` files).
PARAMS_FILE = "_generator.json"


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, overwrite: bool) -> Iterator[str]:
    """Yield a temporary folder that becomes ``path`` when the block exits cleanly.

    Temporary folders of ``path`` that killed writers left are removed first (and logged).

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False (checked before any work).
    """
    with replaced_atomically(path, overwrite=overwrite) as temporary:
        yield temporary


def write_part(frame: pd.DataFrame, folder: str, index: int) -> str:
    """Write one part file, ``part-00000.parquet``, into ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(folder, exist_ok=True)
    file = os.path.join(folder, f"part-{index:05d}.parquet")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), file)
    return file


def write_params(folder: str, params: dict[str, Any]) -> None:
    """Record the generator's arguments (JSON) beside the data."""
    with open(os.path.join(folder, PARAMS_FILE), "w", encoding="utf-8") as handle:
        json.dump(params, handle, indent=2, sort_keys=True, default=str)
