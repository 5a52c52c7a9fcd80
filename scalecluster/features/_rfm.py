"""Recency, frequency and monetary value per customer, from a transaction log."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._columns import (
    as_datetime,
    check_frame,
    is_dask,
    require_columns,
    require_numeric,
)

RFM_COLUMNS = ("recency", "frequency", "monetary")


def rfm(
    transactions: Any,
    *,
    customer: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str = "revenue",
    order: str | None = None,
    reference_date: str | pd.Timestamp | None = None,
) -> Any:
    """Per-customer recency, frequency and monetary value (RFM).

    Parameters
    ----------
    transactions : pandas.DataFrame or dask.dataframe.DataFrame
        One row per transaction (or order line).
    customer : str, default="customer_id"
        Column identifying the customer.
    timestamp : str, default="timestamp"
        Column of transaction times: datetime64, or strings that parse as
        dates (they are parsed with ``pandas.to_datetime(format="mixed")``).
    amount : str, default="revenue"
        Numeric column of amounts spent.
    order : str, default=None
        Column of order ids.  With it, frequency counts distinct orders (an
        order of several lines counts once); without it, rows.
    reference_date : str or Timestamp, default=None
        "Today".  Only transactions strictly before it count.  By default
        the latest timestamp plus one day (so every recency is positive).

    Returns
    -------
    features : DataFrame of shape (n_customers, 3)
        Indexed by customer, with columns ``recency`` (float64: days,
        fractional, from the customer's last transaction to the reference
        date), ``frequency`` (int64) and ``monetary`` (float64: total amount).
        A Dask frame in gives a lazy Dask frame out (one groupby-aggregation,
        two when ``order`` is given); pandas in gives pandas out.

    Raises
    ------
    KeyError
        A column that does not exist (named, with the available columns;
        the error is also a ValueError).
    TypeError
        A non-numeric ``amount``, or a ``timestamp`` that is neither dates nor strings.
    ValueError
        A ``timestamp`` column of strings that do not parse as dates (on Dask,
        when computed).

    Notes
    -----
    Rows with a missing timestamp do not count towards recency or frequency;
    missing amounts count as zero in ``monetary``.
    """
    check_frame(transactions, "transactions")
    roles = {"customer": customer, "timestamp": timestamp, "amount": amount}
    if order is not None:
        roles["order"] = order
    require_columns(transactions, roles)
    require_numeric(transactions, [amount], "numeric (the amount spent)")
    lazy = is_dask(transactions)
    columns = list(
        dict.fromkeys(
            [customer, timestamp, amount] + ([order] if order is not None else [])
        )
    )
    frame = transactions[columns].assign(
        **{timestamp: as_datetime(transactions, timestamp)}
    )
    frame = frame[frame[timestamp].notnull()]
    if reference_date is None:
        reference = frame[timestamp].max() + pd.Timedelta(days=1)
    else:
        reference = _reference(reference_date, frame[timestamp].dtype)
        frame = frame[frame[timestamp] < reference]
    extra = {"split_out": True} if lazy else {}
    if order is not None:
        # One row per order first, so that frequency counts orders, not lines.
        # (The dict form: named aggregation here trips Dask's optimiser when split_out is set.)
        frame = frame.groupby([customer, order]).agg(
            {timestamp: "max", amount: "sum"}, **extra
        )
        frame = frame.reset_index()
    per_customer = frame.groupby(customer).agg(
        last=(timestamp, "max"),
        frequency=(timestamp, "count"),
        monetary=(amount, "sum"),
        **extra,
    )
    recency = (reference - per_customer["last"]) / pd.Timedelta(days=1)
    out = per_customer.assign(recency=recency)[list(RFM_COLUMNS)]
    return out.astype(
        {"recency": "float64", "frequency": "int64", "monetary": "float64"}
    )


def _reference(value: Any, dtype: Any) -> pd.Timestamp:
    """``value`` as a Timestamp comparable with a column of ``dtype`` (time zone matched)."""
    try:
        reference = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"reference_date must be a date; got {value!r}.") from error
    zone = getattr(dtype, "tz", None)
    if zone is not None and reference.tzinfo is None:
        reference = reference.tz_localize(zone)
    elif zone is None and reference.tzinfo is not None:
        reference = reference.tz_convert(None)
    return reference
