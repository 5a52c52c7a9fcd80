"""Reading flows for the anomaly jobs (fit and apply): rows numbered by position, times, the label's kind.

Shared by :mod:`scalecluster.jobs.anomalies` and
:mod:`scalecluster.jobs.anomaly_apply`, so a flow's ``row`` means the same in
both: its position in the input, from 0, however Dask partitions it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..features._columns import is_dask
from ._run import Steps


def run_on(client: Any, lazy: bool) -> str:
    if client is not None:
        n = len(client.scheduler_info().get("workers", {}))
        return f"Dask cluster, {n} worker{'s' if n != 1 else ''}"
    return "Dask, local threads" if lazy else "in memory (pandas, NumPy)"


def normal_value(dtype: Any, normal: Any) -> Any:
    """``normal`` as the label column's kind: "0" for a numeric column is 0; 0 for a text column is "0"."""
    if pd.api.types.is_bool_dtype(dtype) and isinstance(normal, str) and normal.lower() in ("true", "false"):
        return normal.lower() == "true"
    if pd.api.types.is_numeric_dtype(dtype) and isinstance(normal, str):
        try:
            value = float(normal)
        except ValueError:
            return normal
        return int(value) if value.is_integer() else value
    if (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)) and not isinstance(normal, str):
        return str(normal)
    return normal


def number_rows(frame: Any, lazy: bool, client: Any, steps: Steps,
                 time_column: str | None) -> tuple[Any, np.ndarray, int, dict[str, str]]:
    """``frame`` indexed by row position in the input (0, 1, …), each partition's first row, the row count
    and the date range of ``time_column`` (``first`` and ``last``; values that are not dates are ignored)."""
    times = None if time_column is None else as_times(frame[time_column])
    if not lazy:
        dates = span(times.min(), times.max()) if times is not None else {}
        return renumber(frame, 0), np.array([0]), len(frame), dates
    import dask
    import dask.dataframe as dd

    wanted = [frame.map_partitions(len)] + ([times.min(), times.max()] if times is not None else [])
    lengths, *ends = steps.compute(client, *wanted)
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pieces = [dask.delayed(renumber)(part, int(o)) for part, o in zip(frame.to_delayed(), offsets)]
    meta = renumber(frame._meta, 0)
    return (dd.from_delayed(pieces, meta=meta, verify_meta=False), offsets, int(lengths.sum()),
            span(*ends) if ends else {})


def as_times(series: Any) -> Any:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    if is_dask(series):
        return series.map_partitions(coerce_times, meta=pd.Series(pd.to_datetime([]), name=series.name))
    return coerce_times(series)


def coerce_times(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype):  # numbers: no unit to read them in
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]", name=series.name)
    return pd.to_datetime(series, format="mixed", errors="coerce", utc=True)


def span(first: Any, last: Any) -> dict[str, str]:
    from .segment import date_text as _date_text

    if pd.isna(first) or pd.isna(last):
        return {}
    return {"first": _date_text(first), "last": _date_text(last)}


def renumber(part: pd.DataFrame, first: int) -> pd.DataFrame:
    out = part.reset_index(drop=True)
    out.index = pd.RangeIndex(first, first + len(out), name="row")
    return out


#: Units of numeric (epoch) times that ``time_unit=`` accepts.
TIME_UNITS = ("s", "ms", "us", "ns")


def check_time_unit(unit: Any) -> str | None:
    if unit is not None and unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)} (the unit of numeric epoch times) or None; "
                         f"got {unit!r}.")
    return unit


def epoch_times(frame: Any, column: str, unit: str) -> Any:
    """``frame`` with ``column`` (numbers since 1970-01-01 UTC in ``unit``, or their text) read as UTC dates;
    values that are not numbers become missing (NaT)."""
    meta = pd.Series(pd.to_datetime([], utc=True), name=column)
    if is_dask(frame):
        return frame.assign(**{column: frame[column].map_partitions(_epoch, unit, meta=meta)})
    return frame.assign(**{column: _epoch(frame[column], unit)})


def _epoch(series: pd.Series, unit: str) -> pd.Series:
    numbers = pd.to_numeric(series, errors="coerce")
    return pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce").rename(series.name)


def looks_numeric(series: pd.Series) -> bool:
    """The first values of a time column are numbers (or text of numbers): epoch times, not dates."""
    values = series.dropna().head(20)
    return len(values) > 0 and bool(pd.to_numeric(values, errors="coerce").notna().all())
