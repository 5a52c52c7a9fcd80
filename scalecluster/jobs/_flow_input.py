"""Reading flows for the anomaly jobs (fit and apply): rows numbered by position, times, the label's kind.

Shared by :mod:`scalecluster.jobs.anomalies` and
:mod:`scalecluster.jobs.anomaly_apply`, so a flow's ``row`` means the same in
both: its position in the input, from 0, however Dask partitions it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..features._columns import is_dask
from ._run import Steps


@dataclass
class Flows:
    """Flows read for a job: rows numbered by position, the time and label columns the job uses."""

    frame: Any  #: indexed by ``row``; pandas, or Dask
    offsets: np.ndarray  #: each partition's first row
    n_rows: int
    time_column: str | None
    label: str | None  #: the ground-truth column, when it exists
    normal: Any  #: the label value of normal rows, as the label column's kind


def number_flows(frame: Any, lazy: bool, client: Any, steps: Steps, info: dict[str, Any], *,
                 timestamp: str | None, time_unit: str | None, label: str | None, normal: Any,
                 dayfirst: bool = False, date_format: str | None = None, needs_times: str | None = None) -> Flows:
    """The time column (``timestamp``, else a column named ``timestamp``) read once as UTC dates: epoch
    numbers with ``time_unit``, text as the segmentation job reads it (:func:`parse_times`); the rows
    numbered; the label column and ``normal`` as its kind.  ``info`` gets the row count, the date range and
    the label settings.  ``needs_times``: the error when there is no time column."""
    time_column = timestamp if timestamp is not None else ("timestamp" if "timestamp" in frame.columns else None)
    if needs_times is not None and time_column is None:
        raise ValueError(needs_times)
    if time_unit is not None and time_column is not None:
        frame = epoch_times(frame, time_column, time_unit)
    elif time_column is not None:
        frame = parse_times(frame, time_column, dayfirst, date_format)
    frame, offsets, n_rows, dates = number_rows(frame, lazy, client, steps, time_column)
    info.update(rows=n_rows, time_column=time_column, **dates)
    used = label if label is not None and label in frame.columns else None
    if used is not None:
        normal = normal_value(frame[used].dtype, normal)
        info["settings"].update(label=used, normal=normal)
    return Flows(frame, offsets, n_rows, time_column, used, normal)


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


def parse_times(frame: Any, column: str, dayfirst: bool, date_format: str | None) -> Any:
    """``frame`` with the text of ``column`` read as UTC dates, one format for the column (given, or guessed
    from its first value, as :func:`scalecluster.jobs._transactions.convert` reads transaction times).

    Day-first dates (``13/04/2025``) without ``dayfirst=True``, or month-first ones with it, stop the job
    with one line: guessed value by value, ``03/04`` and ``13/04`` would silently mean two orders.  A column
    of dates or numbers is left as it is (numbers need ``time_unit=``); text that is not a date becomes NaT.
    """
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return frame
    first = values.head(20) if not is_dask(values) else values.head(20, npartitions=1)  # one partition: no pass over the data
    if looks_numeric(first):
        return frame
    meta = pd.Series(pd.to_datetime([], utc=True), name=column)
    if is_dask(frame):
        return frame.assign(**{column: values.map_partitions(_text_times, dayfirst, date_format, meta=meta)})
    return frame.assign(**{column: _text_times(values, dayfirst, date_format)})


def _text_times(values: pd.Series, dayfirst: bool, date_format: str | None) -> pd.Series:
    from ._transactions import Reading, _times

    times, _bad, day_first, month_first, _numeric, _zoned = _times(values, Reading(dayfirst=dayfirst,
                                                                                  date_format=date_format))
    column = values.name
    if date_format is None and not dayfirst and np.any(day_first):
        example = values[np.asarray(day_first, dtype=bool)].iloc[0]
        raise ValueError(f"Column {column!r} (timestamp=) holds day-first dates: {int(np.sum(day_first)):,} values "
                         f"like {example!r} have a day above 12 in first place, so the month cannot come first. "
                         "Pass dayfirst=True, or give the format with date_format= (like %d/%m/%Y %H:%M).")
    if date_format is None and dayfirst and np.any(month_first):
        example = values[np.asarray(month_first, dtype=bool)].iloc[0]
        raise ValueError(f"Column {column!r} (timestamp=) holds month-first dates: {int(np.sum(month_first)):,} "
                         f"values like {example!r} have a day above 12 in second place, but dayfirst=True was "
                         "given. Leave out dayfirst=True, or give the format with date_format= (like %m/%d/%Y).")
    return pd.Series(pd.DatetimeIndex(times).tz_localize("UTC"), index=values.index, name=column)
