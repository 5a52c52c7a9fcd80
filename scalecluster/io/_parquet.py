"""Parquet in and out: a Dask array with known chunks, and labels written atomically.

:func:`read_parquet` reads a file, a glob, or a (Hive-partitioned) directory
with pyarrow.  Everything that can go wrong is found from the files' footers
before any data is read: a missing path, no Parquet files, a corrupt file (named),
a missing column (the available ones listed), a non-numeric column (named).
The footers also give every row group's row count, so the array's chunk sizes
are known without a pass over the data.

:func:`to_parquet` writes next to nothing until it is complete: the output goes
to a temporary name in the same folder and is renamed into place at the end,
so an interrupted write never leaves a file that looks finished.
"""

from __future__ import annotations

import glob as globbing
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._atomic import replaced_atomically


def _parquet_files(path: str | os.PathLike) -> list[str]:
    text = os.fspath(path)
    if any(ch in text for ch in "*?["):
        files = sorted(f for f in globbing.glob(text, recursive=True) if os.path.isfile(f))
        if not files:
            raise FileNotFoundError(f"No file matches {text!r}.")
        return files
    if not os.path.exists(text):
        raise FileNotFoundError(f"Parquet path {text!r} does not exist.")
    if os.path.isfile(text):
        return [text]
    files = sorted(
        str(p) for p in Path(text).rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
    )
    if not files:
        raise ValueError(f"Parquet directory {text!r} holds no data files.")
    return files


def _open_dataset(files: list[str], root: str | None) -> Any:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    for file in files:  # footers only: a corrupt file is named before any work
        try:
            pq.read_metadata(file)
        except Exception as error:
            raise ValueError(f"{file!r} is not a readable Parquet file: {error}") from error
    return ds.dataset(files, format="parquet", partitioning="hive", partition_base_dir=root)


def _check_columns(schema: Any, columns: Sequence[str] | None) -> list[str]:
    import pyarrow.types as pat

    names = list(schema.names)
    if columns is None:
        columns = names
    columns = list(columns)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"Column(s) {missing} not found; available columns: {names}.")
    bad = [
        c for c in columns
        if not (pat.is_integer(schema.field(c).type) or pat.is_floating(schema.field(c).type)
                or pat.is_dictionary(schema.field(c).type) and pat.is_integer(schema.field(c).type.value_type))
    ]
    if bad:
        raise TypeError(
            f"Column(s) {bad} are not numeric ({[str(schema.field(c).type) for c in bad]}); "
            "select numeric columns with `columns=` or encode these first."
        )
    return columns


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
    ValueError
        An empty directory, a corrupt file (named), a column that does not exist.
    TypeError
        A non-numeric column (named).
    """
    import dask
    import dask.array as da

    files = _parquet_files(path)
    root = os.fspath(path) if os.path.isdir(os.fspath(path)) else None
    dataset = _open_dataset(files, root)
    columns = _check_columns(dataset.schema, columns)
    dtype = np.dtype(dtype)
    pieces = [rg for fragment in dataset.get_fragments() for rg in fragment.split_by_row_group()]
    parts = []
    for piece in pieces:
        if filters is None:
            rows = sum(g.num_rows for g in piece.row_groups)
        else:
            rows = piece.scanner(schema=dataset.schema, columns=[], filter=filters).count_rows()
        if rows == 0:
            continue
        block = dask.delayed(_read_fragment, pure=True)(piece, dataset.schema, columns, filters, dtype)
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
