"""Checks at the door for feature builders: columns exist, have the right kind.

Every check works on pandas and Dask DataFrames alike and looks only at
dtypes (a Dask frame's metadata): nothing is computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd


class MissingColumnError(KeyError, ValueError):
    """A column that is not in the frame (both a KeyError and a ValueError)."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


def is_dask(frame: Any) -> bool:
    """Whether ``frame`` is a Dask DataFrame or Series (by its type's module)."""
    return type(frame).__module__.startswith("dask")


def check_frame(frame: Any, name: str = "frame") -> None:
    """``frame`` must be a pandas or Dask DataFrame."""
    if not (
        isinstance(frame, pd.DataFrame)
        or (is_dask(frame) and hasattr(frame, "columns"))
    ):
        raise TypeError(
            f"{name} must be a pandas or Dask DataFrame; got {type(frame).__name__}."
        )


def require_columns(frame: Any, roles: dict[str, str | list[str]]) -> None:
    """Each ``role: column`` (or ``role: [columns]``) must name columns of ``frame``.

    Raises
    ------
    MissingColumnError
        Naming the missing column, the argument that asked for it, and the
        available columns.
    """
    available = [str(c) for c in frame.columns]
    for role, wanted in roles.items():
        for column in [wanted] if isinstance(wanted, str) else wanted:
            if column not in frame.columns:
                raise MissingColumnError(
                    f"Column {column!r} ({role}=) not found; available columns: {available}."
                )


def require_numeric(frame: Any, columns: Iterable[str], what: str = "numeric") -> None:
    """The columns must be numeric (booleans are not), or a TypeError names them."""
    for column in columns:
        dtype = frame[column].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(
            dtype
        ):
            raise TypeError(f"Column {column!r} must be {what}; it has dtype {dtype}.")


def as_datetime(frame: Any, column: str) -> Any:
    """Column ``column`` as datetimes: kept if it is, parsed if it holds strings.

    Numbers are refused (their unit would be a guess).  Strings that do not
    parse raise a ValueError naming the column; on Dask that happens when the
    result is computed.
    """
    series = frame[column]
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return series
    if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        raise TypeError(
            f"Column {column!r} must hold dates (datetime64, or strings that parse as dates); it has dtype {dtype}."
        )
    if is_dask(series):
        meta = pd.Series(pd.to_datetime([]), name=series.name)
        return series.map_partitions(_parse_dates, column, meta=meta)
    return _parse_dates(series, column)


def _parse_dates(series: pd.Series, column: str) -> pd.Series:
    try:
        return pd.to_datetime(series, format="mixed")
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Column {column!r} holds values that do not parse as dates: {error}"
        ) from error
