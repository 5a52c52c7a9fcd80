"""Loading a job's input: Parquet (file, folder, glob) or CSV, as pandas or Dask.

Errors for user mistakes are plain and one line: a path that does not exist,
a format that is not Parquet or CSV.  Missing columns and columns of the
wrong kind are reported by :mod:`scalecluster.features` (naming the column
and listing the available ones).
"""

from __future__ import annotations

import glob
import os
from typing import Any

import pandas as pd

_PARQUET = (".parquet", ".parq", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv")


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame (by its type's module; imports nothing)."""
    return type(data).__module__.startswith("dask") and hasattr(data, "columns")


def load_table(data: Any, *, lazy: bool) -> Any:
    """The job's input as a DataFrame: Dask when ``lazy``, pandas otherwise.

    Parameters
    ----------
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        A Parquet file, a folder of Parquet files (searched recursively, files
        starting with ``_`` or ``.`` skipped), a CSV file, or a glob of either.
        A frame is returned as is (a pandas frame becomes a Dask frame of a few
        partitions when ``lazy``).
    lazy : bool
        Read with ``dask.dataframe`` (one partition per Parquet file or CSV block).

    Raises
    ------
    FileNotFoundError
        Nothing exists at the path (or the glob matches nothing).
    ValueError
        Files that are neither Parquet nor CSV, or a folder with no Parquet files.
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

            return dd.read_parquet(files)
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if lazy:
        import dask.dataframe as dd

        return dd.read_csv(files, blocksize="64MB")
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def _resolve(path: str) -> tuple[list[str], str]:
    """The files a path names, and their format ("parquet" or "csv")."""
    if glob.has_magic(path):
        files = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
        if not files:
            raise FileNotFoundError(f"No files match {path!r}.")
    elif os.path.isdir(path):
        files = sorted(
            os.path.join(root, name)
            for root, dirs, names in os.walk(path)
            for name in names
            if not name.startswith(("_", ".")) and not any(part.startswith(".") for part in _parts(root, path))
        )
        files = [f for f in files if f.lower().endswith(_PARQUET + _CSV)]
        if not files:
            raise ValueError(f"The folder {path!r} holds no Parquet or CSV files.")
    elif os.path.isfile(path):
        files = [path]
    else:
        raise FileNotFoundError(f"No such file or folder: {path!r}.")
    kinds = {"parquet" if f.lower().endswith(_PARQUET) else "csv" if f.lower().endswith(_CSV) else "?" for f in files}
    if kinds == {"?"} and len(files) == 1:
        kinds = {_sniff(files[0])}
    if "?" in kinds or len(kinds) > 1:
        raise ValueError(f"{path!r}: expected Parquet (.parquet) or CSV (.csv) files, not a mix or other files.")
    return files, kinds.pop()


def _parts(root: str, base: str) -> list[str]:
    relative = os.path.relpath(root, base)
    return [] if relative == "." else relative.split(os.sep)


def _sniff(path: str) -> str:
    """A file without a known extension: Parquet if it starts with the Parquet magic, else '?'."""
    with open(path, "rb") as handle:
        return "parquet" if handle.read(4) == b"PAR1" else "?"
