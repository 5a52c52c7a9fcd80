"""Loading a job's input: Parquet (file, folder, glob), CSV or TSV, as pandas or Dask.

Errors for user mistakes are plain and one line, and name the file or folder:
a path that does not exist, a folder that cannot be read (permissions), a
format that is not Parquet, CSV or TSV, a CSV file that is empty or has a
header but no rows.  These are caught here because the alternatives mislead:
an unreadable folder looks empty, a header-only CSV gives columns of dtype
object (reported later as "must be numeric"), an empty one gives pandas'
``EmptyDataError`` without the file's name.  Missing columns and columns of
the wrong kind are reported by :mod:`scalecluster.jobs._columns` (naming
the column, the closest and the available ones; for CSV, the value and its line).

A path that exists is taken literally, even when its name holds glob
characters (``weird[1].parquet``); only a path that does not exist is a glob.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import pandas as pd

from ..io._header import resolve as _resolve
from ..io._header import separator as _separator


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame (by its type's module; imports nothing)."""
    return type(data).__module__.startswith("dask") and hasattr(data, "columns")


def describe_input(data: Any) -> str:
    """The input as a report names it: its path as given, or the kind of frame."""
    if isinstance(data, pd.DataFrame):
        return "a pandas DataFrame"
    if is_dask_frame(data):
        return "a Dask DataFrame"
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    return type(data).__name__


def load_table(data: Any, *, lazy: bool, require: dict[str, Any] | None = None, columns: list[str] | None = None,
               as_text: bool = False) -> Any:
    """The job's input as a DataFrame: Dask when ``lazy``, pandas otherwise.

    Parameters
    ----------
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        A Parquet file, a folder of Parquet files (searched recursively, files
        starting with ``_`` or ``.`` skipped), a CSV or TSV file, or a glob of
        either.  A frame is returned as is (a pandas frame becomes a Dask frame
        of a few partitions when ``lazy``).
    lazy : bool
        Read with ``dask.dataframe`` (one partition per Parquet file or CSV block).
    require : dict, default=None
        ``parameter: column`` (or a list of columns) that must exist, checked
        on the header or schema before any data is read (see
        :func:`scalecluster.jobs._columns.require`).
    columns : list of str, default=None
        Read only these columns (all by default).
    as_text : bool, default=False
        Read every column of a CSV or TSV file as text, so that Dask never
        guesses a column's type from the first block (ids that are numbers
        there and text later, amounts that are integers there and decimals
        later).  The job converts the columns it uses, with errors that name
        the value, the line and the file (in memory).

    Raises
    ------
    FileNotFoundError
        Nothing exists at the path (or the glob matches nothing).
    PermissionError
        A folder that cannot be read (named).
    ValueError
        Files that are neither Parquet, CSV nor TSV, a folder with none, or a
        CSV/TSV file that is empty or has a header but no rows (named).
    KeyError
        A column of ``require`` that does not exist (a MissingColumnError, also a ValueError).
    TypeError
        ``data`` that is neither a path nor a DataFrame.
    """
    from ._columns import require as require_columns

    if isinstance(data, pd.DataFrame) or is_dask_frame(data):
        require_columns(data, require or {}, what="the DataFrame")
        frame = data if columns is None else data[list(columns)]
        if isinstance(frame, pd.DataFrame) and lazy:
            import dask.dataframe as dd

            return dd.from_pandas(frame, npartitions=max(1, min(8, len(frame) // 50_000)))
        return frame
    if not isinstance(data, (str, os.PathLike)):
        raise TypeError(f"The input must be a path or a DataFrame; got {type(data).__name__}.")
    path = os.fspath(data)
    files, kind = _resolve(path)
    what = repr(files[0]) if len(files) == 1 else f"{path!r}"
    if kind == "parquet":
        if require:
            import pyarrow.parquet as pq

            names = pq.read_schema(files[0]).names
            require_columns(pd.DataFrame(columns=names), require, what=what)
        if lazy:
            import dask.dataframe as dd

            return dd.read_parquet(_literal(files), columns=columns)
        return pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)
    sep = _separator(files[0], kind)  # one separator for all files (Dask reads them as one table)
    options: dict[str, Any] = {"sep": sep, "usecols": columns}
    if as_text:
        options["dtype"] = str
    heads = []
    for file in files:  # Dask would infer the columns from the first block: check every file's head
        heads.append(_check_rows(file, pd.read_csv(file, sep=sep, nrows=1) if _has_content(file) else None))
        if require:
            require_columns(heads[-1], require, what=repr(file))
    if lazy:
        import dask.dataframe as dd

        return dd.read_csv(_literal(files), blocksize="64MB", **options)
    frames, spans, start = [], [], 0
    for file in files:
        frame = pd.read_csv(file, **options)
        frames.append(frame)
        spans.append((file, start, len(frame)))
        start += len(frame)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs["files"] = spans  # for errors that name a value's line (see _columns)
    return frame


def _literal(files: list[str]) -> list[str]:
    # Dask hands paths to fsspec, which expands glob characters: a file named
    # "weird[1].parquet" would match nothing (and read as an empty frame).
    return [glob.escape(f) for f in files]


def _has_content(file: str) -> bool:
    """False for a file that holds nothing: 0 bytes, or only blank lines (pandas' EmptyDataError)."""
    if os.path.getsize(file) == 0:
        return False
    try:
        pd.read_csv(file, nrows=0)
    except pd.errors.EmptyDataError:
        return False
    return True


def _check_rows(file: str, head: pd.DataFrame | None) -> pd.DataFrame:
    """``head`` (the file's first rows, or None for an empty file), if it has rows; else a clear error."""
    if head is None:
        raise ValueError(f"The file {file!r} is empty: it has no header and no rows. Remove it or give another file.")
    if len(head) == 0:
        raise ValueError(
            f"The file {file!r} has a header ({len(head.columns)} columns) but no rows. "
            "Remove it or give a file with data."
        )
    return head
