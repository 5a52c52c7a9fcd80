"""Loading a job's input: Parquet (file, folder, glob), CSV or TSV, as pandas or Dask.

Errors for user mistakes are plain and one line, and name the file or folder:
a path that does not exist, a folder that cannot be read (permissions), a
format that is not Parquet, CSV or TSV, a CSV file that is empty or has a
header but no rows.  These are caught here because the alternatives mislead:
an unreadable folder looks empty, a header-only CSV gives columns of dtype
object (reported later as "must be numeric"), an empty one gives pandas'
``EmptyDataError`` without the file's name.  Missing columns and columns of
the wrong kind are reported by :mod:`scalecluster.features` (naming the
column and listing the available ones).

A path that exists is taken literally, even when its name holds glob
characters (``weird[1].parquet``); only a path that does not exist is a glob.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import pandas as pd

from ..io._files import folder_files

_PARQUET = (".parquet", ".parq", ".pq")
_CSV = (".csv", ".csv.gz")
_TSV = (".tsv", ".tsv.gz")
#: Field separator of each text format.
_SEPARATORS = {"csv": ",", "tsv": "\t"}


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame (by its type's module; imports nothing)."""
    return type(data).__module__.startswith("dask") and hasattr(data, "columns")


def load_table(data: Any, *, lazy: bool) -> Any:
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

    Raises
    ------
    FileNotFoundError
        Nothing exists at the path (or the glob matches nothing).
    PermissionError
        A folder that cannot be read (named).
    ValueError
        Files that are neither Parquet, CSV nor TSV, a folder with none, or a
        CSV/TSV file that is empty or has a header but no rows (named).
    TypeError
        ``data`` that is neither a path nor a DataFrame.
    """
    if isinstance(data, pd.DataFrame):
        if lazy:
            import dask.dataframe as dd

            return dd.from_pandas(data, npartitions=max(1, min(8, len(data) // 50_000)))
        return data
    if is_dask_frame(data):
        return data
    if not isinstance(data, (str, os.PathLike)):
        raise TypeError(f"The input must be a path or a DataFrame; got {type(data).__name__}.")
    files, kind = _resolve(os.fspath(data))
    if kind == "parquet":
        if lazy:
            import dask.dataframe as dd

            return dd.read_parquet(_literal(files))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    sep = _SEPARATORS[kind]
    if lazy:
        import dask.dataframe as dd

        for file in files:  # Dask would infer the columns from the first block: check every file's head
            _check_rows(file, pd.read_csv(file, sep=sep, nrows=1) if _has_content(file) else None)
        return dd.read_csv(_literal(files), sep=sep, blocksize="64MB")
    frames = []
    for file in files:
        frames.append(_check_rows(file, pd.read_csv(file, sep=sep) if _has_content(file) else None))
    return pd.concat(frames, ignore_index=True)


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


def _resolve(path: str) -> tuple[list[str], str]:
    """The files a path names, and their format ("parquet", "csv" or "tsv")."""
    if os.path.isfile(path):  # before globbing: a file named "weird[1].parquet" is that file
        files = [path]
    elif os.path.isdir(path):
        files = [f for f in folder_files(path) if f.lower().endswith(_PARQUET + _CSV + _TSV)]
        if not files:
            raise ValueError(f"The folder {path!r} holds no Parquet, CSV or TSV files.")
    elif glob.has_magic(path):
        files = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
        if not files:
            raise FileNotFoundError(f"No files match {path!r}.")
    else:
        raise FileNotFoundError(f"No such file or folder: {path!r}.")
    kinds = {_kind(f) for f in files}
    if kinds == {"?"} and len(files) == 1:
        kinds = {_sniff(files[0])}
    if "?" in kinds or len(kinds) > 1:
        raise ValueError(
            f"{path!r}: expected Parquet (.parquet), CSV (.csv) or TSV (.tsv) files of one kind, "
            "not a mix or other files."
        )
    return files, kinds.pop()


def _kind(file: str) -> str:
    name = file.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    if name.endswith(_CSV):
        return "csv"
    return "tsv" if name.endswith(_TSV) else "?"


def _sniff(path: str) -> str:
    """A file without a known extension: Parquet if it starts with the Parquet magic, else '?'."""
    with open(path, "rb") as handle:
        return "parquet" if handle.read(4) == b"PAR1" else "?"
