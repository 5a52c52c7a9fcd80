"""Parquet in and out: a Dask array with known chunks, and labels written atomically.

:func:`read_parquet` reads a file, a glob, or a (Hive-partitioned) directory
with pyarrow.  Everything that can go wrong is found from the files' footers
before any data is read: a missing path, a folder that cannot be read, no
Parquet files, a corrupt file (named), a missing column (the available ones
listed), a non-numeric column (named).  *Every* file's footer is read (in
threads; footers only), because pyarrow takes the dataset's schema from the
first file alone: a later file without a column would read as rows of NaN,
and one holding the column as text would fail only at compute time, naming
neither file nor column.  Here both are errors that name the file and the
column.  Files that hold a column as different numeric types (int32 here,
float64 there) are read as one common type.  The footers also give every row
group's row count, so the array's chunk sizes are known without a pass over
the data.

:func:`to_parquet` writes next to nothing until it is complete: the output goes
to a temporary name in the same folder and is renamed into place at the end,
so an interrupted write never leaves a file that looks finished.
"""

from __future__ import annotations

import glob as globbing
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ._atomic import replaced_atomically
from ._files import folder_files


def _parquet_files(path: str | os.PathLike) -> list[str]:
    text = os.fspath(path)
    if os.path.isfile(text):  # before globbing: a file named "weird[1].parquet" is that file
        return [text]
    if os.path.isdir(text):
        files = folder_files(text)
        if not files:
            raise ValueError(f"Parquet directory {text!r} holds no data files.")
        return files
    if globbing.has_magic(text):
        files = sorted(f for f in globbing.glob(text, recursive=True) if os.path.isfile(f))
        if not files:
            raise FileNotFoundError(f"No file matches {text!r}.")
        return files
    raise FileNotFoundError(f"Parquet path {text!r} does not exist.")


def _read_footers(files: list[str]) -> list[Any]:
    """Each file's Arrow schema, from its footer only (in threads); a corrupt file is named."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def footer(file: str) -> tuple[Any, Exception | None]:
        try:
            return pq.read_schema(file), None
        except (OSError, pa.ArrowException) as error:  # reported below, for the first bad file in order
            return None, error

    with ThreadPoolExecutor(max_workers=min(16, len(files))) as pool:
        footers = list(pool.map(footer, files))
    for file, (_, error) in zip(files, footers):
        if error is not None:
            raise ValueError(f"{file!r} is not a readable Parquet file: {error}") from error
    return [schema for schema, _ in footers]


def _is_numeric(type_: Any) -> bool:
    import pyarrow.types as pat

    return bool(
        pat.is_integer(type_) or pat.is_floating(type_)
        or (pat.is_dictionary(type_) and pat.is_integer(type_.value_type))
    )


def _check_columns(schema: Any, columns: Sequence[str] | None) -> list[str]:
    names = list(schema.names)
    if columns is None:
        columns = names
    columns = list(columns)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"Column(s) {missing} not found; available columns: {names}.")
    bad = [c for c in columns if not _is_numeric(schema.field(c).type)]
    if bad:
        raise TypeError(
            f"Column(s) {bad} are not numeric ({[str(schema.field(c).type) for c in bad]}); "
            "select numeric columns with `columns=` or encode these first."
        )
    return columns


def _check_files(
    files: list[str], footers: list[Any], schema: Any, columns: Sequence[str] | None
) -> tuple[Any, list[str]]:
    """Check that every file holds the columns read, as numbers: (the schema to read with, the columns).

    ``schema`` is the dataset's (the first file's columns and the Hive
    partition keys).  A column read as different numeric types in different
    files gets one common type in the returned schema.

    Raises
    ------
    ValueError
        A file that lacks a column read, or holds it as something else than a
        number (the file, the column and its type named).
    """
    import pyarrow as pa

    partition_keys = set(schema.names) - set(footers[0].names)
    wanted = [c for c in (schema.names if columns is None else columns) if c not in partition_keys]
    for name in wanted:
        lacking = [file for file, footer in zip(files, footers) if name not in footer.names]
        if lacking and len(lacking) < len(files):
            holder = next(file for file, footer in zip(files, footers) if name in footer.names)
            more = len(lacking) - 1
            others = f" (and {more} other file{'s' * (more > 1)})" if more else ""
            raise ValueError(
                f"Column {name!r} is missing from {lacking[0]!r}{others}, but is in {holder!r}; every file "
                "must hold the columns read. Select columns that all files hold, or rewrite that file."
            )
    columns = _check_columns(schema, columns)  # the first file's types, and the columns no file holds
    for name in (c for c in columns if c not in partition_keys):
        types = [footer.field(name).type for footer in footers]
        for file, type_ in zip(files, types):
            if not _is_numeric(type_):
                raise ValueError(
                    f"Column {name!r} is {type_} in {file!r} but {types[0]} in {files[0]!r}; every file must "
                    "hold it as a number. Fix or remove that file, or leave the column out."
                )
        if len(set(types)) > 1:
            schema = schema.set(schema.get_field_index(name), pa.field(name, _common_type(types)))
    return schema, columns


def _common_type(types: list[Any]) -> Any:
    """One type that the numeric ``types`` of a column in different files can all be read as."""
    import pyarrow as pa
    import pyarrow.types as pat

    plain = [t.value_type if pat.is_dictionary(t) else t for t in types]
    if all(pat.is_integer(t) for t in plain) and not any(t == pa.uint64() for t in plain):
        return pa.int64()
    return pa.float64()


def _read_fragment(fragment: Any, schema: Any, columns: list[str], filters: Any, dtype: Any) -> np.ndarray:
    # The dataset's schema lets Hive partition keys be read (and filtered) as columns.
    table = fragment.to_table(schema=schema, columns=columns, filter=filters)
    out = np.empty((table.num_rows, len(columns)), dtype=dtype)
    for i, name in enumerate(columns):
        out[:, i] = table.column(name).to_numpy(zero_copy_only=False)
    return out


def read_parquet(
    path: str | os.PathLike,
    columns: Sequence[str] | None = None,
    *,
    filters: Any = None,
    dtype: Any = "float32",
    blocksize: int | None = None,
) -> Any:
    """Read numeric columns of a Parquet dataset as a Dask array with known chunk sizes.

    Parameters
    ----------
    path : str or path-like
        A file, a glob (``"logs/*.parquet"``), or a directory (Hive-partitioned
        ``key=value`` folders are understood; their keys can be selected as columns).
    columns : sequence of str, default=None
        Columns to read, in this order; all columns by default. Only these are read.
    filters : pyarrow.dataset.Expression, default=None
        Row filter, e.g. ``pyarrow.dataset.field("year") == 2024``.  Chunk sizes
        then cost one light pass (counting the rows that pass).
    dtype : dtype, default="float32"
        Dtype of the array.
    blocksize : int, default=None
        Rows per chunk; by default one chunk per row group.

    Returns
    -------
    X : dask.array.Array of shape (n_rows, n_columns)

    Raises
    ------
    FileNotFoundError
        The path (or glob) matches nothing.
    PermissionError
        A folder that cannot be read (named).
    ValueError
        An empty directory, a corrupt file (named), a column that does not
        exist, or one that some file lacks or holds as a non-number (the file
        and the column named).
    TypeError
        A non-numeric column (named).
    """
    import dask
    import dask.array as da
    import pyarrow.dataset as ds

    files = _parquet_files(path)
    root = os.fspath(path) if os.path.isdir(os.fspath(path)) else None
    footers = _read_footers(files)
    dataset = ds.dataset(files, format="parquet", partitioning="hive", partition_base_dir=root)
    schema, columns = _check_files(files, footers, dataset.schema, columns)
    dtype = np.dtype(dtype)
    pieces = [rg for fragment in dataset.get_fragments() for rg in fragment.split_by_row_group()]
    parts = []
    for piece in pieces:
        if filters is None:
            rows = sum(g.num_rows for g in piece.row_groups)
        else:
            rows = piece.scanner(schema=schema, columns=[], filter=filters).count_rows()
        if rows == 0:
            continue
        block = dask.delayed(_read_fragment, pure=True)(piece, schema, columns, filters, dtype)
        parts.append(da.from_delayed(block, shape=(rows, len(columns)), dtype=dtype))
    if not parts:
        return da.zeros((0, len(columns)), dtype=dtype, chunks=((0,), (len(columns),)))
    X = da.concatenate(parts, axis=0)
    if blocksize is not None:
        if isinstance(blocksize, bool) or not isinstance(blocksize, (int, np.integer)) or blocksize < 1:
            raise ValueError(f"blocksize must be a positive int; got {blocksize!r}.")
        X = X.rechunk({0: int(blocksize)})
    return X


def to_parquet(
    labels: Any,
    path: str | os.PathLike,
    *,
    extra: dict[str, Any] | None = None,
    label_column: str = "label",
    overwrite: bool = False,
) -> str:
    """Write labels (and extra columns) as Parquet, atomically.

    Parameters
    ----------
    labels : array of shape (n_rows,)
        NumPy, CuPy or Dask (a Dask array writes one file per chunk, into a folder).
    path : str or path-like
        The output file (in-memory labels) or folder (Dask labels).
    extra : dict of str to array, default=None
        More columns of the same length (e.g. the input's row ids).
    label_column : str, default="label"
    overwrite : bool, default=False
        Replace an existing output.

    Returns
    -------
    path : str

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        A column whose length differs from the labels'.
    """
    import pandas as pd

    target = os.fspath(path)
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{target!r} exists; pass overwrite=True to replace it.")
    columns = {label_column: labels, **(extra or {})}
    n = labels.shape[0]
    for name, values in columns.items():
        if getattr(values, "shape", (len(values),))[0] != n:
            raise ValueError(f"Column {name!r} has {len(values)} rows; the labels have {n}.")
    with replaced_atomically(target, make_dir=False) as temporary:
        if hasattr(labels, "to_delayed") and hasattr(labels, "chunks"):
            import dask.dataframe as dd

            frame = dd.concat(
                [dd.from_dask_array(_as_dask(values, labels.chunks), columns=name) for name, values in columns.items()],
                axis=1,
            )
            frame.to_parquet(temporary, write_index=False)
        else:
            pd.DataFrame({name: _to_numpy(values) for name, values in columns.items()}).to_parquet(
                temporary, index=False
            )
    return target


def _as_dask(values: Any, chunks: Any) -> Any:
    import dask.array as da

    return values if isinstance(values, da.Array) else da.from_array(np.asarray(values), chunks=chunks)


def _to_numpy(values: Any) -> np.ndarray:
    if type(values).__module__.startswith("cupy"):
        import cupy

        return cupy.asnumpy(values)
    return np.asarray(values)
