"""A job's columns, checked and converted at the door, and library errors said in our voice.

Messages name the column, the value, the parameter that chose the column
(``amount=``; the command line shows it as ``--amount``) and the fix.  Nothing
here is computed on Dask: conversions are lazy, and a bad value found in a
partition raises the same message when the job computes it.

:func:`library_errors` is the job's boundary: errors that scikit-learn, pandas,
pyarrow or Dask raise deep inside a run, whose cause the job knows, are
re-raised as one line that says what to change.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..features import MissingColumnError
from ..features._columns import is_dask
from ..io._header import missing_message


def require(frame: Any, roles: dict[str, Any], *, what: str = "the input") -> None:
    """Each ``parameter: column`` (or ``parameter: [columns]``) names a column of ``frame``.

    Raises
    ------
    MissingColumnError
        Naming the column, the parameter, the closest column names and the available ones.
    """
    available = [str(c) for c in frame.columns]
    for role, wanted in roles.items():
        for column in [wanted] if isinstance(wanted, str) else list(wanted):
            if column not in frame.columns:
                raise MissingColumnError(missing_message(column, role, available, what))


def numbers(frame: Any, roles: dict[str, str], *, what: str = "the input") -> Any:
    """``frame`` with the columns of ``roles`` (column -> the parameter that named it) as float64.

    Text columns (CSV is read as text) are parsed strictly: a value that is
    not a plain number (``$12.50``, ``1,234``, ``n/a``) is an error naming the
    column, the value and the parameter; empty cells become NaN.  Booleans and
    dates are refused.
    """
    for column, role in roles.items():
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype)
        ):
            raise TypeError(
                f"Column {column!r} ({role}=) must be numeric; it has dtype {dtype}. "
                f"Name a column of numbers with {role}=."
            )
    if is_dask(frame):
        meta = _parse_numbers(frame._meta, roles, what)
        return frame.map_partitions(_parse_numbers, roles, what, meta=meta)
    return _parse_numbers(frame, roles, what)


def _parse_numbers(part: pd.DataFrame, columns: dict[str, str], what: str) -> pd.DataFrame:
    converted = {}
    for column, role in columns.items():
        series = part[column]
        if pd.api.types.is_numeric_dtype(series.dtype):  # typed already (Parquet, a DataFrame): kept as it is
            continue
        text = series.astype("string").str.strip()
        parsed = pd.to_numeric(text, errors="coerce").astype("float64")
        bad = text.notna() & (text != "") & (parsed.isna() | np.isinf(parsed)).to_numpy()
        if bad.any():
            value = text[bad].iloc[0]
            where = _line(part, bad)
            raise ValueError(
                f"Column {column!r} ({role}=) holds {value!r}{where or ' in ' + what}, which is not a number "
                f"({_count(int(bad.sum()))}). Write plain numbers (no currency signs, no thousands "
                f"separators, a point for decimals), leave missing values empty, or name another column "
                f"with {role}=."
            )
        converted[column] = parsed
    return part.assign(**converted)


def _line(values: Any, bad: Any) -> str:
    """`` (line 17 of 'tx.csv')`` for the first bad value, where the reader recorded its files; else ''."""
    files = values.attrs.get("files")
    if not files:
        return ""
    position = int(np.flatnonzero(np.asarray(bad))[0])
    for file, start, n_rows in files:
        if start <= position < start + n_rows:
            return f" (line {position - start + 2:,} of {file!r})"  # line 1 is the header
    return ""


def _count(n: int) -> str:
    return "the only such value" if n == 1 else f"{n:,} such values"


def text(frame: Any, columns: list[str]) -> Any:
    """``frame`` with ``columns`` as strings where they hold a mix of numbers and text (ids)."""
    mixed = [c for c in columns if pd.api.types.is_object_dtype(frame[c].dtype)]
    if not mixed:
        return frame
    return frame.assign(**{c: frame[c].astype("string") for c in mixed})


def dates(frame: Any, column: str, role: str, *, what: str = "the input") -> Any:
    """Column ``column`` as datetimes: kept if it is, parsed if it holds text.

    A value that is not a date is an error naming it; values with different
    time-zone offsets are read in UTC.  Numbers are refused (their unit would
    be a guess).
    """
    series = frame[column]
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return series
    if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        kind = "numbers" if pd.api.types.is_numeric_dtype(dtype) else f"values of dtype {dtype}"
        raise TypeError(
            f"Column {column!r} ({role}=) must hold dates (like 2024-05-31 or 2024-05-31 14:02:11); it holds "
            f"{kind} (dtype {dtype}). Name the date column with {role}=."
        )
    if is_dask(series):
        meta = pd.Series(pd.to_datetime([]), name=series.name)
        return series.map_partitions(_parse_dates, column, role, what, meta=meta)
    return _parse_dates(series, column, role, what)


def _parse_dates(series: pd.Series, column: str, role: str, what: str) -> pd.Series:
    try:
        return pd.to_datetime(series, format="mixed")
    except (ValueError, TypeError) as error:
        first_error = error
    try:  # several time-zone offsets: one clock, UTC
        return pd.to_datetime(series, format="mixed", utc=True)
    except (ValueError, TypeError):
        pass
    parsed = pd.to_datetime(series, format="mixed", errors="coerce", utc=True)
    bad = series.notna().to_numpy() & parsed.isna().to_numpy()
    if not bad.any():  # pragma: no cover - pandas refused the column as a whole
        raise ValueError(f"Column {column!r} ({role}=) could not be read as dates: {first_error}") from None
    value = series[bad].iloc[0]
    raise ValueError(
        f"Column {column!r} ({role}=) holds {value!r}{_line(series, bad) or ' in ' + what}, which is not a "
        f"date ({_count(int(bad.sum()))}). Write dates like 2024-05-31 or 2024-05-31 14:02:11, or "
        f"name another column with {role}=."
    ) from None


# --------------------------------------------------------------------------- library errors

_DASK_DTYPES = re.compile(r"Mismatched dtypes found in `pd\.read_(?:csv|table)`")
_DASK_ROW = re.compile(r"^\|\s*(\S+)\s*\|\s*(\S+)\s*\|\s*(\S+)\s*\|$", re.MULTILINE)


@contextlib.contextmanager
def library_errors(what: str) -> Iterator[None]:
    """Re-raise errors from deep inside a run whose cause is known as one line in our voice.

    ``what`` names the rows (``customers``, ``flows``) in the messages.
    """
    try:
        yield
    except (ValueError, TypeError) as error:
        message = str(error)
        if _DASK_DTYPES.search(message):
            rows = [(c, found, expected) for c, found, expected in _DASK_ROW.findall(message)
                    if c != "Column"]
            named = ", ".join(f"{c!r} ({found} in some rows, {expected} in others)" for c, found, expected in rows)
            raise ValueError(
                f"Column(s) {named or '(unknown)'} hold both numbers and text in the input. Make each column "
                "one kind (ids as text, amounts as plain numbers), or convert the file to Parquet."
            ) from None
        if "contains NaN" in message or "contains infinity" in message:
            raise ValueError(
                f"Some {what} have a missing or infinite feature value after scaling, so they cannot be "
                "clustered. Check the input columns for empty cells, huge values or values below zero."
            ) from None
        if "Unable to merge" in message or "incompatible types" in message:
            raise ValueError(
                f"The input's files do not agree on a column's type ({' '.join(message.split())[:200]}). "
                "Write every file with the same types, or read the files one at a time."
            ) from None
        raise
