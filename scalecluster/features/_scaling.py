"""log1p and standard or robust scaling, fitted once, invertible for profiles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._columns import check_frame, is_dask, require_columns, require_numeric
from ._quantiles import column_quantiles

SCALING_METHODS = ("standard", "robust", "none")


@dataclass
class Scaling:
    """A fitted scaling: ``(log1p(x) if logged else x - center) / scale`` per column.

    ``center`` and ``scale`` are pandas Series indexed by column (small, on the
    driver even for Dask input).  :meth:`transform` applies it to new data;
    :meth:`inverse_transform` maps scaled values (e.g. cluster centres) back
    to the original units.
    """

    method: str
    columns: list[str]
    log: list[str]
    center: pd.Series
    scale: pd.Series

    def transform(self, frame: Any) -> Any:
        """Scale the fitted columns of ``frame`` (pandas or Dask; lazy on Dask)."""
        check_frame(frame)
        require_columns(frame, {"columns": self.columns})
        out = frame[self.columns].astype("float64")
        if self.log:
            out = out.assign(**{c: _log1p(out[c]) for c in self.log})
        return _apply(out, self.center.to_numpy(), self.scale.to_numpy())

    def inverse_transform(self, scaled: Any) -> pd.DataFrame:
        """Scaled values (a DataFrame, or an array of shape (n, n_columns)) in original units."""
        if hasattr(scaled, "compute"):
            scaled = scaled.compute()
        if not isinstance(scaled, pd.DataFrame):
            scaled = pd.DataFrame(
                np.asarray(scaled, dtype=np.float64).reshape(-1, len(self.columns)),
                columns=self.columns,
            )
        out = scaled[self.columns] * self.scale + self.center
        for column in self.log:
            out[column] = np.expm1(out[column])
        return out


def log1p(frame: Any, columns: list[str] | None = None) -> Any:
    """``log(1 + x)`` of the given columns (all by default); the others unchanged.

    Values below -1 give NaN (pandas warns); :func:`scale` with ``log=``
    checks for them first.  Lazy on Dask.
    """
    check_frame(frame)
    columns = list(frame.columns) if columns is None else list(columns)
    require_columns(frame, {"columns": columns})
    require_numeric(frame, columns)
    return frame.assign(**{c: _log1p(frame[c].astype("float64")) for c in columns})


def _log1p(series: Any) -> Any:
    if is_dask(series):
        return series.map_partitions(_quiet_log1p, meta=series)
    return _quiet_log1p(series)


def _quiet_log1p(values: Any) -> Any:
    # Values below -1 give NaN; scale() names such columns itself.
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log1p(values)


def scale(
    frame: Any,
    *,
    method: str = "standard",
    columns: list[str] | None = None,
    log: bool | list[str] = False,
) -> tuple[Any, Scaling]:
    """Fit a scaling on ``frame`` and apply it.

    Parameters
    ----------
    frame : pandas.DataFrame or dask.dataframe.DataFrame
    method : {"standard", "robust", "none"}, default="standard"
        ``standard``: centre on the mean, divide by the standard deviation
        (population, as scikit-learn's StandardScaler).  ``robust``: centre on
        the median, divide by the interquartile range (on Dask, from merged
        per-partition sketches: rank error about 0.1 %).  ``none``: only the log.  A column with
        zero spread is divided by 1.
    columns : list of str, default=None
        Columns to scale (all by default); only these are returned.
    log : bool or list of str, default=False
        Columns to take ``log1p`` of before scaling (True: all).  Good for
        heavy-tailed counts and amounts; values must be >= 0.

    Returns
    -------
    scaled : DataFrame of shape (n_rows, n_columns)
        float64, same index; lazy on Dask.
    scaling : Scaling
        The fitted parameters (``inverse_transform`` recovers original units).

    Raises
    ------
    KeyError
        A column that does not exist (also a ValueError).
    TypeError
        A non-numeric column (named).
    ValueError
        A bad ``method``, or a negative value in a ``log`` column (named).

    Notes
    -----
    On Dask, fitting computes the statistics in one pass (the result is
    ``n_columns``-sized); the scaled frame stays lazy.
    """
    check_frame(frame)
    if method not in SCALING_METHODS:
        raise ValueError(
            f"method must be one of {list(SCALING_METHODS)}; got {method!r}."
        )
    columns = [str(c) for c in frame.columns] if columns is None else list(columns)
    require_columns(frame, {"columns": columns})
    require_numeric(frame, columns)
    logged = (
        list(columns)
        if log is True
        else []
        if log is False or log is None
        else list(log)
    )
    require_columns(frame, {"log": logged})
    unknown = [c for c in logged if c not in columns]
    if unknown:
        raise ValueError(
            f"log column(s) {unknown} are not among the scaled columns {columns}."
        )

    data = frame[columns].astype("float64")
    stats: dict[str, Any] = {"min": data[logged].min()} if logged else {}
    if logged:
        data = data.assign(**{c: _log1p(data[c]) for c in logged})
    if method == "standard":
        stats.update(center=data.mean(), scale=data.std(ddof=0))
    elif method == "robust":
        stats["quantiles"] = column_quantiles(data, [0.25, 0.5, 0.75])
    if is_dask(frame):
        import dask

        stats = dict(zip(stats, dask.compute(*stats.values())))
    if logged:
        negative = [c for c in logged if stats["min"][c] < 0]
        if negative:
            raise ValueError(
                f"Column(s) {negative} have negative values; log1p needs values >= 0."
            )
    if method == "robust":
        q = stats.pop("quantiles")
        stats.update(center=q.loc[0.5], scale=q.loc[0.75] - q.loc[0.25])
    elif method == "none":
        stats.update(
            center=pd.Series(0.0, index=columns), scale=pd.Series(1.0, index=columns)
        )
    spread = stats["scale"].astype("float64")
    spread = spread.where((spread > 0) & np.isfinite(spread), 1.0)
    fitted = Scaling(
        method,
        columns,
        logged,
        stats["center"].astype("float64").rename(None),
        spread.rename(None),
    )
    return _apply(data, fitted.center.to_numpy(), fitted.scale.to_numpy()), fitted


def _apply(data: Any, center: np.ndarray, spread: np.ndarray) -> Any:
    """``(data - center) / spread`` column-wise (partition-wise on Dask)."""
    if is_dask(data):
        return data.map_partitions(_centre_and_divide, center, spread, meta=data)
    return _centre_and_divide(data, center, spread)


def _centre_and_divide(
    part: pd.DataFrame, center: np.ndarray, spread: np.ndarray
) -> pd.DataFrame:
    return (part - center) / spread
