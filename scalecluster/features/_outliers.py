"""Dropping outlying rows by per-column bounds, with a report of what went."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._columns import check_frame, is_dask, require_columns, require_numeric
from ._quantiles import column_quantiles

OUTLIER_METHODS = ("iqr", "quantile", None)


@dataclass
class OutlierReport:
    """Which rows :func:`drop_outliers` dropped, and why.

    On Dask input the counts are lazy Dask scalars; :meth:`compute` makes
    them ints.  The bounds are always concrete.
    """

    method: str | None
    n_rows: Any  #: rows in
    n_dropped: Any  #: rows out of bounds in at least one column
    by_column: dict[str, Any] = field(
        default_factory=dict
    )  #: rows out of each column's bounds
    bounds: dict[str, tuple[float, float]] = field(
        default_factory=dict
    )  #: kept: low <= x <= high

    def compute(self) -> OutlierReport:
        """The same report with every count an int (one Dask compute if any is lazy)."""
        import dask

        n_rows, n_dropped, counts = dask.compute(
            self.n_rows, self.n_dropped, self.by_column
        )
        return OutlierReport(
            self.method,
            int(n_rows),
            int(n_dropped),
            {c: int(v) for c, v in counts.items()},
            dict(self.bounds),
        )

    def __str__(self) -> str:
        if self.method is None:
            return "No outlier removal."
        if self._lazy():  # no computation hidden in a print: say how to get the counts
            lines = [f"Outlier bounds ({self.method}); the counts are lazy Dask scalars, call .compute() for them:"]
            lines += [f"  {column}: kept in [{low:.6g}, {high:.6g}]" for column, (low, high) in self.bounds.items()]
            return "\n".join(lines)
        lines = [f"Dropped {self.n_dropped} of {self.n_rows} rows ({self.method}):"]
        for column, (low, high) in self.bounds.items():
            lines.append(
                f"  {column}: {self.by_column.get(column, 0)} outside [{low:.6g}, {high:.6g}]"
            )
        return "\n".join(lines)

    def _lazy(self) -> bool:
        values = [self.n_rows, self.n_dropped, *self.by_column.values()]
        return any(not isinstance(v, (int, np.integer)) for v in values)


def drop_outliers(
    frame: Any,
    method: str | None = "iqr",
    *,
    columns: list[str] | None = None,
    factor: float = 1.5,
    quantiles: tuple[float, float] = (0.01, 0.99),
    log: bool | list[str] = False,
) -> tuple[Any, OutlierReport]:
    """Drop rows outside per-column bounds.

    Parameters
    ----------
    frame : pandas.DataFrame or dask.dataframe.DataFrame
    method : {"iqr", "quantile", None}, default="iqr"
        ``iqr``: keep ``[q1 - factor * iqr, q3 + factor * iqr]`` (Tukey's
        fences).  ``quantile``: keep ``[quantiles[0], quantiles[1]]``-quantiles.
        None: keep everything (the report says so).
    columns : list of str, default=None
        Columns whose bounds are checked (all by default).
    factor : float, default=1.5
        Width of the IQR fences.
    quantiles : (float, float), default=(0.01, 0.99)
    log : bool or list of str, default=False
        Columns whose bounds are found on the ``log1p`` scale (True: all;
        the bounds are reported in original units).  Use it for heavy-tailed
        columns (spend, bytes), where fences on the raw scale would cut the
        whole upper tail.

    Returns
    -------
    kept : DataFrame
        The rows within bounds in every column (NaN counts as within); all columns.
    report : OutlierReport
        Rows in, rows dropped, rows outside each column's bounds, the bounds.

    Raises
    ------
    KeyError
        A column that does not exist (also a ValueError).
    TypeError
        A non-numeric column (named).
    ValueError
        A bad ``method``, ``factor`` or ``quantiles``.

    Notes
    -----
    On Dask the bounds are computed in one pass (quantiles from merged
    per-partition sketches, rank error about 0.1 %); the kept rows and the
    counts stay lazy.
    """
    check_frame(frame)
    if method not in OUTLIER_METHODS:
        raise ValueError(
            f"method must be one of {list(OUTLIER_METHODS)}; got {method!r}."
        )
    if (
        isinstance(factor, bool)
        or not isinstance(factor, (int, float))
        or not factor >= 0
    ):
        raise ValueError(f"factor must be a non-negative float; got {factor!r}.")
    low_q, high_q = _check_quantiles(quantiles)
    columns = [str(c) for c in frame.columns] if columns is None else list(columns)
    require_columns(frame, {"columns": columns})
    require_numeric(frame, columns)
    logged = list(columns) if log is True else [] if not log else list(log)
    unknown = [c for c in logged if c not in columns]
    if unknown:
        raise ValueError(
            f"log column(s) {unknown} are not among the checked columns {columns}."
        )
    n_rows = frame.shape[0] if not is_dask(frame) else frame.index.size
    if method is None:
        return frame, OutlierReport(None, n_rows, 0)

    data = frame[columns].astype("float64")
    if logged:
        data = data.assign(**{c: _log1p(data[c]) for c in logged})
    probs = [0.25, 0.75] if method == "iqr" else [low_q, high_q]
    q = column_quantiles(data, probs)
    low, high = q.iloc[0], q.iloc[1]
    if method == "iqr":
        low, high = low - factor * (high - low), high + factor * (high - low)
    for column in logged:
        low[column], high[column] = np.expm1(low[column]), np.expm1(high[column])
    bounds = {c: (float(low[c]), float(high[c])) for c in columns}

    lows, highs = low[columns].to_numpy(), high[columns].to_numpy()
    values = frame[columns]
    if is_dask(values):
        outside = values.map_partitions(_outside, lows, highs, meta=values.astype(bool))
    else:
        outside = _outside(values, lows, highs)
    drop = outside.any(axis=1)
    report = OutlierReport(
        method, n_rows, drop.sum(), {c: outside[c].sum() for c in columns}, bounds
    )
    if not is_dask(frame):
        report = report.compute()
    return frame[~drop], report


def _check_quantiles(quantiles: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in quantiles)
    except (TypeError, ValueError):
        low, high = -1.0, -1.0
    if not 0 <= low < high <= 1:
        raise ValueError(
            f"quantiles must be two floats 0 <= low < high <= 1; got {quantiles!r}."
        )
    return low, high


def _log1p(series: Any) -> Any:
    return (
        series.map_partitions(np.log1p, meta=series)
        if is_dask(series)
        else np.log1p(series)
    )


def _outside(part: pd.DataFrame, low: np.ndarray, high: np.ndarray) -> pd.DataFrame:
    return (part < low) | (part > high)
