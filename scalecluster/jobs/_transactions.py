"""Transactions -> one row per customer, with every input row accounted for.

The segmentation job, ``apply`` and ``drift`` read transactions the same way,
here:

1. **Columns converted at the door** (:func:`convert`).  Customer ids become
   text exactly as written, surrounding spaces removed (a typed integer id
   ``10859`` becomes ``"10859"``; a float column of whole numbers, as pandas
   writes ids with gaps, ``"10859"`` too): ``"C10859"`` and ``"10859"`` are two
   customers.  Amounts become numbers (empty -> missing; text that is not a
   plain number stops the job).  Times become dates: ``date_format`` if given,
   else the format of the first value (``dayfirst`` deciding ``03/04/2024``),
   else pandas' mixed parser; times with a UTC offset are converted to UTC and
   all times compared without a zone.  Text that is not a date stops the job.
   Each row also gets a 64-bit hash of all its columns, as written, to find
   exact duplicates.
2. **Rows set aside, each for one reason, in this order** (so they add up to
   the rows read): no customer id; no order id (with ``order``); an exact
   duplicate of an earlier row of the same customer (every column equal; kept
   with ``keep_duplicates``); no amount; no (readable) time; on or after the
   reference date (when one is given).  The others are *valid rows*.
3. **Orders and customers.**  An order is the valid rows of one order id (one
   row each, without ``order``); its net amount is the sum, refunds
   (negative amounts) included.  An order counts (frequency, recency) when its
   net amount is positive; net spend (monetary) is the sum over all valid
   rows.  A customer with no valid row, or a net spend of 0 or less, is set
   aside (counted, listed, not segmented); the others get recency (days from
   their last counted order to the reference date), frequency and monetary.
   "0 or less" allows for rounding: net spend at most 1e-9 times the
   purchases (refunds that cancel purchases leave sums like 1e-14).

In memory, the steps run on the whole frame; on Dask, the rows are first
shuffled by customer (one shuffle), and the same pandas function runs on each
partition: the counts are the same by construction.  Problems that stop the
job (values that are not numbers or dates, day-first dates read month-first,
no customer left) are found in that one pass, before any modelling, and said in
one line with the column, the count and the fix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..features._columns import is_dask
from ._columns import _line

#: Net spend at most this fraction of a customer's (or an order's) purchases counts as 0.
NET_TOLERANCE = 1e-9
#: Dates written with numbers only, day and month in the first two places (either order).
_NUMERIC_DATE = r"^(?P<first>\d{1,2})[/.\-](?P<second>\d{1,2})[/.\-]\d{2,4}(?:\D|$)"
#: Times with a zone: "Z" or a UTC offset at the end.
_ZONE = r"(?:Z|[+-]\d\d:?\d\d)$"
#: Ids that are another id with a letter prefix ("C10859" and "10859").
_PREFIXED_ID = r"^[A-Za-z]+(\d+)$"
#: Why rows are set aside, in the order they are checked (key -> words for the report).
ROW_REASONS = {
    "missing_customer": "no customer id",
    "missing_order": "no order id",
    "duplicates": "exact duplicate of an earlier row",
    "missing_amount": "no amount",
    "missing_time": "no time",
    "late": "on or after the reference date",
}
#: Why customers are set aside.
CUSTOMER_REASONS = {"no_valid_rows": "no valid row", "not_positive": "net spend 0 or less"}
_PER_CUSTOMER = ("rows", "duplicates", "missing_amount", "missing_time", "late", "valid_rows", "refund_rows",
                 "net", "gross", "frequency")


@dataclass
class Roles:
    """Which input column plays which part (parameter name -> column)."""

    customer: str
    timestamp: str
    amount: str
    order: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"customer": self.customer, "timestamp": self.timestamp, "amount": self.amount}
        if self.order is not None:
            out["order"] = self.order
        return out


@dataclass
class Reading:
    """How the rows are read: duplicates, dates, the reference date (None: one day after the last valid row)."""

    keep_duplicates: bool = False
    dayfirst: bool = False
    date_format: str | None = None
    reference: pd.Timestamp | None = None


@dataclass
class CustomerTable:
    """What :func:`read_customers` found: RFM per kept customer, the customers set aside, the counts."""

    features: Any  #: recency, frequency, monetary per segmented customer (pandas, or a persisted Dask frame)
    set_aside: pd.DataFrame  #: customer, reason, valid_rows, net spend
    #: the data-quality counts: rows, missing_customer, missing_order, duplicates, missing_amount, missing_time,
    #: late, valid_rows, refund_rows, customers, no_valid_rows, not_positive, segmented, prefixed_ids, ...
    quality: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    reference: pd.Timestamp | None = None
    reference_rule: str = ""
    first: Any = None
    last: Any = None


# --------------------------------------------------------------------------- columns at the door


def check_kinds(frame: Any, roles: Roles) -> None:
    """Columns of a kind that cannot be converted (booleans for amounts, numbers for times): one line each."""
    amount = frame[roles.amount].dtype
    if pd.api.types.is_bool_dtype(amount) or not (
        pd.api.types.is_numeric_dtype(amount) or pd.api.types.is_string_dtype(amount)
        or pd.api.types.is_object_dtype(amount)
    ):
        raise TypeError(f"Column {roles.amount!r} (amount=) must be numeric; it has dtype {amount}. "
                        "Name a column of numbers with amount=.")
    times = frame[roles.timestamp].dtype
    if not (pd.api.types.is_datetime64_any_dtype(times) or pd.api.types.is_string_dtype(times)
            or pd.api.types.is_object_dtype(times)):
        kind = "numbers" if pd.api.types.is_numeric_dtype(times) else f"values of dtype {times}"
        raise TypeError(
            f"Column {roles.timestamp!r} (timestamp=) must hold dates (like 2024-05-31 or 2024-05-31 14:02:11); "
            f"it holds {kind} (dtype {times}). Name the date column with timestamp=."
        )


def convert(part: pd.DataFrame, roles: Roles, reading: Reading, hashed: list[str] | None) -> pd.DataFrame:
    """One partition's rows as the job uses them (see the module docstring, step 1).

    Columns: ``_c`` (customer, text), ``_o`` (order, text or numbers, with
    ``order``), ``_t`` (datetime64[us], no zone), ``_a`` (float64), ``_row``
    (uint64 hash of the ``hashed`` columns as written), and flags counted by
    :func:`row_counts`: ``_bad_a`` / ``_bad_t`` (text that is not a number / a
    date), ``_d1`` / ``_d2`` (numeric dates whose first / second place is above
    12), ``_dn`` (numeric dates), ``_tz`` (times with a zone or UTC offset, now in UTC).
    """
    out = pd.DataFrame(index=part.index)
    out["_c"] = _ids(part[roles.customer])
    if roles.order is not None:
        out["_o"] = _order_ids(part[roles.order])
    out["_t"], out["_bad_t"], out["_d1"], out["_d2"], out["_dn"], out["_tz"] = _times(part[roles.timestamp], reading)
    out["_a"], out["_bad_a"] = _amounts(part[roles.amount])
    if hashed:
        try:
            out["_row"] = pd.util.hash_pandas_object(part[hashed], index=False).to_numpy()
        except TypeError:  # unhashable cells (lists, dicts from nested Parquet columns): compare their text
            out["_row"] = pd.util.hash_pandas_object(part[hashed].astype(str), index=False).to_numpy()
    else:
        out["_row"] = np.zeros(len(part), dtype=np.uint64)
    return out


def _ids(values: pd.Series) -> pd.Series:
    """Customer ids as text: integers as written, whole floats without ``.0``, text stripped; empty -> missing."""
    dtype = values.dtype
    if pd.api.types.is_integer_dtype(dtype):
        text = values.astype("Int64").astype("string")
    elif pd.api.types.is_float_dtype(dtype):
        whole = values.notna() & (values == np.floor(values)) & (values.abs() < 2**53)
        text = values.astype("string")
        text = text.mask(whole, values.where(whole).astype("Int64").astype("string"))
    else:
        if pd.api.types.is_object_dtype(dtype):  # a mix (ints, floats, text): whole floats as integers there too
            values = values.map(_whole, na_action="ignore")
        text = values.astype("string").str.strip()
    return text.mask(text == "").astype("string")


def _whole(value: Any) -> Any:
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return value


def _order_ids(values: pd.Series) -> pd.Series:
    """Order ids: numbers kept (a grouping key only), anything else as stripped text; empty -> missing."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("Float64") if pd.api.types.is_float_dtype(values.dtype) else values.astype("Int64")
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _amounts(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_numeric_dtype(values.dtype):
        number = values.astype("float64")
        return number, np.zeros(len(values), dtype=bool)
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = (text.notna() & (number.isna() | np.isinf(number))).to_numpy(dtype=bool)
    return number.mask(bad), bad


def _times(values: pd.Series, reading: Reading) -> tuple[Any, ...]:
    none = np.zeros(len(values), dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        times, zoned = values, none
        if getattr(values.dtype, "tz", None) is not None:
            times = values.dt.tz_convert("UTC").dt.tz_localize(None)
            zoned = values.notna().to_numpy(dtype=bool)
        return times.astype("datetime64[us]"), none, none, none, none, zoned
    import pyarrow as pa
    import pyarrow.compute as pc

    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna().to_numpy(dtype=bool)
    d1 = d2 = dn = zoned = none
    times = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    if present.any():
        arrow = pa.array(text.array)
        if reading.date_format is None:  # numeric dates: which place can hold the day? (C++ regex: fast)
            found = pc.extract_regex(arrow, _NUMERIC_DATE)
            first = _floats(pc.struct_field(found, "first"))
            second = _floats(pc.struct_field(found, "second"))
            dn, d1, d2 = ~np.isnan(first), first > 12, second > 12
        times = _parse_times(text, arrow, present, reading)
        zoned = pc.fill_null(pc.match_substring_regex(arrow, _ZONE), False).to_numpy(zero_copy_only=False)
    bad = present & np.isnat(times)
    zoned = np.asarray(zoned, dtype=bool) & ~bad
    return pd.Series(times, index=values.index), bad, d1, d2, dn, zoned


def _floats(values: Any) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)


def _parse_times(text: pd.Series, arrow: Any, present: np.ndarray, reading: Reading) -> np.ndarray:
    """Text as naive datetime64[us] (offsets converted to UTC); NaT where it is not a date.

    The format (given, or guessed from the first value) is tried with Arrow's
    strptime (C++), then pandas' with the same format for what that could not
    read (fractions of seconds), then — without a given format — pandas' mixed
    parser, value by value, for the rest.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pandas.tseries.api import guess_datetime_format

    def with_pandas(values: pd.Series, **options: Any) -> np.ndarray:
        parsed = pd.to_datetime(values, errors="coerce", utc=True, **options)
        return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")

    fmt = reading.date_format
    if fmt is None:
        first = text[present].iloc[0]
        with warnings.catch_warnings():  # "13/01/2024" guessed day-first without dayfirst: the counts say so
            warnings.simplefilter("ignore", UserWarning)
            fmt = guess_datetime_format(str(first), dayfirst=reading.dayfirst)
    times = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    if fmt is not None:
        try:
            parsed = pc.strptime(arrow, format=fmt, unit="us", error_is_null=True)
            times = parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]")  # a zone: values in UTC
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
            pass
        left = present & np.isnat(times)
        if left.any():
            times[left] = with_pandas(text[left], format=fmt)
    left = present & np.isnat(times)
    if left.any() and reading.date_format is None:  # other formats in the column: value by value
        times[left] = with_pandas(text[left], format="mixed", dayfirst=reading.dayfirst)
    return times


# --------------------------------------------------------------------------- per customer


def customers_of(rows: pd.DataFrame, *, has_order: bool, reading: Reading) -> pd.DataFrame:
    """The rows of whole customers (a partition holding every row of its customers) -> one row per customer.

    ``rows`` are :func:`convert`'s, with a customer id (and an order id).
    Columns: ``rows``, ``duplicates``, ``missing_amount``, ``missing_time``,
    ``late``, ``valid_rows``, ``refund_rows`` (counts), ``net`` and ``gross``
    (net spend and purchases over valid rows), ``frequency`` (orders with a
    positive net amount), ``first`` / ``last_valid`` (valid rows' times) and
    ``last`` (the last counted order's time).  Sorted by customer id.

    Notes
    -----
    Customers and orders are numbered once (``pandas.factorize``); every count,
    sum and extreme is then a NumPy ``bincount`` or ``ufunc.at`` over those
    numbers: O(rows) after the factorisation, no group-by on text.
    """
    codes, ids = pd.factorize(rows["_c"], sort=True)
    n = len(ids)
    if not reading.keep_duplicates and len(rows):
        duplicate = pd.DataFrame({"c": codes, "h": rows["_row"].to_numpy()}).duplicated().to_numpy()
    else:
        duplicate = np.zeros(len(rows), dtype=bool)
    keep = ~duplicate
    owner = codes[keep]
    amount = rows["_a"].to_numpy(dtype=np.float64, na_value=np.nan)[keep]
    times = rows["_t"].to_numpy(dtype="datetime64[us]")[keep]
    has_amount = ~np.isnan(amount)
    has_time = ~np.isnat(times)
    late = np.zeros(len(owner), dtype=bool)
    if reading.reference is not None:
        late = has_time & (times >= np.datetime64(reading.reference.to_datetime64(), "us"))
    valid = has_amount & has_time & ~late
    bought = valid & (amount > 0)
    net = np.where(valid, amount, 0.0)
    gross = np.where(bought, amount, 0.0)
    stamps = times.view(np.int64)

    def count(mask: np.ndarray, who: np.ndarray = owner) -> np.ndarray:
        return np.bincount(who[mask], minlength=n).astype(np.int64)

    def extreme(mask: np.ndarray, largest: bool, who: np.ndarray = owner, values: np.ndarray = stamps) -> np.ndarray:
        empty = np.iinfo(np.int64).min if largest else np.iinfo(np.int64).max
        out = np.full(n, empty, dtype=np.int64)
        (np.maximum if largest else np.minimum).at(out, who[mask], values[mask])
        out[out == empty] = np.iinfo(np.int64).min  # NaT
        return out.view("datetime64[us]")

    table = pd.DataFrame({
        "rows": np.bincount(codes, minlength=n).astype(np.int64),
        "duplicates": np.bincount(codes[duplicate], minlength=n).astype(np.int64),
        "missing_amount": count(~has_amount),
        "missing_time": count(has_amount & ~has_time),
        "late": count(has_amount & late),
        "valid_rows": count(valid),
        "refund_rows": count(valid & (amount < 0)),
        "net": np.bincount(owner, weights=net, minlength=n),
        "gross": np.bincount(owner, weights=gross, minlength=n),
        "first": extreme(valid, largest=False),
        "last_valid": extreme(valid, largest=True),
    }, index=pd.Index(ids, dtype="string"))
    if has_order:
        order_codes, _ = pd.factorize(rows["_o"].array[keep])
        key = owner.astype(np.int64) * (int(order_codes.max(initial=0)) + 1) + order_codes
        order, _ = pd.factorize(key)
        n_orders = int(order.max(initial=-1)) + 1
        customer_of = np.zeros(n_orders, dtype=np.int64)
        customer_of[order] = owner
        order_net = np.bincount(order, weights=net, minlength=n_orders)
        order_gross = np.bincount(order, weights=gross, minlength=n_orders)
        order_time = np.full(n_orders, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(order_time, order[bought], stamps[bought])  # an order's time: its purchases'
        counted = (order_gross > 0) & (order_net > NET_TOLERANCE * order_gross)
        table["frequency"] = count(counted, customer_of)
        table["last"] = extreme(counted, largest=True, who=customer_of, values=order_time)
    else:
        table["frequency"] = count(bought)
        table["last"] = extreme(bought, largest=True)
    return _typed(table)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    ints = {c: "int64" for c in ("rows", "duplicates", "missing_amount", "missing_time", "late", "valid_rows",
                                 "refund_rows", "frequency")}
    table = table.astype({**ints, "net": "float64", "gross": "float64", "first": "datetime64[us]",
                          "last_valid": "datetime64[us]", "last": "datetime64[us]"})
    table.index = table.index.astype("string")
    table.index.name = None
    return table[[*_PER_CUSTOMER, "first", "last_valid", "last"]]


def _meta_customers() -> pd.DataFrame:
    empty = pd.DataFrame({"_c": pd.Series([], dtype="string"), "_a": pd.Series([], dtype="float64"),
                          "_t": pd.Series([], dtype="datetime64[us]"), "_row": pd.Series([], dtype="uint64"),
                          "_o": pd.Series([], dtype="string")})
    return customers_of(empty, has_order=True, reading=Reading())


def row_counts(converted: Any, roles: Roles) -> dict[str, Any]:
    """Counts over the converted rows (lazy scalars on Dask): rows, ids missing, values that stop the job."""
    has_customer = converted["_c"].notnull()
    counts = {
        "rows": converted.index.size if is_dask(converted) else len(converted),
        "missing_customer": (~has_customer).sum(),
        "bad_amount": converted["_bad_a"].sum(),
        "bad_time": converted["_bad_t"].sum(),
        "day_first": converted["_d1"].sum(),
        "month_first": converted["_d2"].sum(),
        "numeric_dates": converted["_dn"].sum(),
        "zoned_times": converted["_tz"].sum(),
    }
    if roles.order is not None:
        counts["missing_order"] = (has_customer & converted["_o"].isnull()).sum()
    return counts


def customer_rows(converted: Any, roles: Roles, reading: Reading) -> Any:
    """Per-customer table (see :func:`customers_of`): in memory at once; on Dask after one shuffle by customer."""
    keep = converted["_c"].notnull()
    if roles.order is not None:
        keep = keep & converted["_o"].notnull()
    columns = ["_c", "_t", "_a", "_row"] + (["_o"] if roles.order is not None else [])
    rows = converted[keep][columns]
    has_order = roles.order is not None
    if not is_dask(rows):
        return customers_of(rows, has_order=has_order, reading=reading)
    rows = rows.shuffle(on="_c")  # every row of a customer in one partition
    return rows.map_partitions(customers_of, has_order=has_order, reading=reading, meta=_meta_customers())


def table_counts(table: Any) -> dict[str, Any]:
    """Sums and extremes over the per-customer table (lazy scalars on Dask)."""
    positive = (table["gross"] > 0) & (table["net"] > NET_TOLERANCE * table["gross"])
    no_valid = table["valid_rows"] == 0
    counts = {name: table[name].sum() for name in ("duplicates", "missing_amount", "missing_time", "late",
                                                  "valid_rows", "refund_rows")}
    counts["customer_rows"] = table["rows"].sum()
    counts.update(
        customers=table.index.size if is_dask(table) else len(table),
        no_valid_rows=no_valid.sum(),
        not_positive=(~no_valid & ~positive).sum(),
        first=table["first"].min(),
        last=table["last_valid"].max(),
    )
    return counts


def features_of(table: Any, reference: pd.Timestamp, name: str) -> Any:
    """recency, frequency, monetary of the customers kept (lazy on Dask), indexed by customer (``name``)."""
    positive = (table["valid_rows"] > 0) & (table["gross"] > 0) & (table["net"] > NET_TOLERANCE * table["gross"])
    kept = table[positive]
    if is_dask(kept):
        return kept.map_partitions(_rfm_part, reference, name, meta=_rfm_part(table._meta, reference, name))
    return _rfm_part(kept, reference, name)


def _rfm_part(part: pd.DataFrame, reference: pd.Timestamp, name: str) -> pd.DataFrame:
    recency = (reference - part["last"]) / pd.Timedelta(days=1)
    out = pd.DataFrame({"recency": recency.astype("float64"), "frequency": part["frequency"].astype("int64"),
                        "monetary": part["net"].astype("float64")}, index=part.index)
    out.index.name = name
    return out


def set_aside_of(table: Any, name: str) -> Any:
    """The customers set aside, with the reason (lazy on Dask)."""
    positive = (table["gross"] > 0) & (table["net"] > NET_TOLERANCE * table["gross"])
    aside = table[(table["valid_rows"] == 0) | ~positive]
    if is_dask(aside):
        return aside.map_partitions(_aside_part, name, meta=_aside_part(table._meta, name))
    return _aside_part(aside, name)


def _aside_part(part: pd.DataFrame, name: str) -> pd.DataFrame:
    reason = np.where(part["valid_rows"].to_numpy() == 0, CUSTOMER_REASONS["no_valid_rows"],
                      CUSTOMER_REASONS["not_positive"])
    out = pd.DataFrame({"reason": pd.array(reason, dtype="string"), "rows": part["rows"].astype("int64"),
                        "valid_rows": part["valid_rows"].astype("int64"), "net_spend": part["net"]},
                       index=part.index)
    out.index.name = name
    return out


def prefixed_ids(index: Any) -> Any:
    """How many ids are a letter prefix plus another id of the table (``C10859`` beside ``10859``)."""
    ids = pd.Series(index, dtype="string") if not is_dask(index) else index.to_series()
    digits = ids.str.extract(_PREFIXED_ID, expand=False)
    if is_dask(ids):
        found = digits.dropna().compute()
        if found.empty:
            return 0
        wanted = set(found.tolist())
        counts = ids.isin(wanted)
        return int(counts.sum().compute())
    found = set(digits.dropna().tolist())
    return int(ids.isin(found).sum()) if found else 0


# --------------------------------------------------------------------------- problems that stop the job


def stopping_problem(counts: dict[str, int], reading: Reading) -> str | None:
    """The kind of problem a count shows that stops the job ("amount", "time", "time-dayfirst",
    "time-monthfirst", "time-mixed"), or None; :func:`problem_message` says it, with the first such value."""
    if counts["bad_amount"]:
        return "amount"
    if reading.date_format is None and counts["day_first"] and counts["month_first"]:
        return "time-mixed"
    if reading.date_format is None and counts["day_first"] and not reading.dayfirst:
        return "time-dayfirst"
    if reading.date_format is None and counts["month_first"] and reading.dayfirst:
        return "time-monthfirst"
    if counts["bad_time"]:
        return "time"
    return None


def problem_message(kind: str, counts: dict[str, int], roles: Roles, example: str, where: str) -> str:
    """One line: the column, the count, the first value, the fix."""
    if kind == "amount":
        n = int(counts["bad_amount"])
        return (f"Column {roles.amount!r} (amount=) holds {example!r}{where}, which is not a number "
                f"({_count(n)}). Write plain numbers (no currency signs, no thousands separators, a point for "
                f"decimals), leave missing values empty, or name another column with amount=.")
    column = roles.timestamp
    if kind == "time-mixed":
        return (f"Column {column!r} (timestamp=) holds dates with a day above 12 in first place "
                f"({int(counts['day_first']):,} values, like {example!r}) and others with one in second place "
                f"({int(counts['month_first']):,} values): write every date the same way, or give the format "
                "with date_format= (like %d/%m/%Y).")
    if kind == "time-dayfirst":
        return (f"Column {column!r} (timestamp=) holds day-first dates: {int(counts['day_first']):,} values like "
                f"{example!r}{where} have a day above 12 in first place, so the month cannot come first. Pass "
                "dayfirst=True, or give the format with date_format= (like %d/%m/%Y %H:%M).")
    if kind == "time-monthfirst":
        return (f"Column {column!r} (timestamp=) holds month-first dates: {int(counts['month_first']):,} values "
                f"like {example!r}{where} have a day above 12 in second place, but dayfirst=True was given. Leave "
                "out dayfirst=True, or give the format with date_format= (like %m/%d/%Y).")
    n = int(counts["bad_time"])
    return (f"Column {column!r} (timestamp=) holds {example!r}{where}, which is not a date ({_count(n)}). Write "
            f"dates like 2024-05-31 or 2024-05-31 14:02:11, give their format with date_format= (like "
            f"%d.%m.%Y), or name another column with timestamp=.")


def _count(n: int) -> str:
    return "the only such value" if n == 1 else f"{n:,} such values"


def first_example(raw: Any, converted: Any, kind: str, roles: Roles, client: Any = None) -> tuple[str, str]:
    """The first offending value as written, and `` (line 4 of 'tx.csv')`` where the reader recorded lines."""
    flag = {"amount": "_bad_a", "time": "_bad_t", "time-dayfirst": "_d1", "time-mixed": "_d1",
            "time-monthfirst": "_d2"}[kind]
    column = roles.amount if kind == "amount" else roles.timestamp
    if is_dask(converted):
        picked = raw[column][converted[flag]].head(1, npartitions=-1, compute=False)
        values = client.compute(picked).result() if client is not None else picked.compute()
        return (str(values.iloc[0]) if len(values) else "?"), ""
    mask = converted[flag].to_numpy(dtype=bool)
    value = raw[column].to_numpy()[np.flatnonzero(mask)[0]]
    return str(value).strip(), _line(raw, mask)


def date_note(counts: dict[str, int], roles: Roles, reading: Reading) -> str | None:
    """How numeric dates were read, when that was a choice."""
    if reading.date_format is not None:
        return f"Times in {roles.timestamp!r} were read with the format {reading.date_format!r}."
    if not counts["numeric_dates"]:
        return None
    if counts["day_first"] or counts["month_first"]:
        order = "day first" if counts["day_first"] else "month first"
        return f"Dates in {roles.timestamp!r} were read {order} (some have a day above 12 there)."
    order = "day first (dayfirst=True)" if reading.dayfirst else "month first"
    other = "leave out dayfirst=True" if reading.dayfirst else "pass dayfirst=True"
    return (f"Every date in {roles.timestamp!r} could be day-first or month-first (day and month are 12 or less): "
            f"they were read {order}; {other} if that is wrong.")


def reading_note(roles: Roles) -> str:
    """How ids are treated, for the report."""
    return (f"Customer ids ({roles.customer!r}) are read as text, exactly as written apart from surrounding spaces: "
            "'C10859' and '10859' are two customers, '10859' and '10859.0' too (whole numbers in a column of "
            "numbers are written without '.0').")


# --------------------------------------------------------------------------- the reading stage


def read_customers(raw: Any, *, lazy: bool, client: Any, steps: Any, roles: Roles, reading: Reading,
                   what: str, stage: Any = None) -> CustomerTable:
    """Convert, count, aggregate per customer, check, and derive RFM: the job's first stage.

    ``raw`` is the input as read (every column, CSV as text; pandas, or Dask
    when ``lazy``); ``what`` names it in messages (``'tx.csv'``, ``a pandas DataFrame``).  One pass over the data (on Dask: persisted per-customer
    table, then small computes on it).

    Raises
    ------
    TypeError
        A column of a kind that cannot be converted.
    ValueError
        Values that are not numbers or dates, day-first dates read month-first
        (or the reverse), no valid row, no customer left to segment: one line
        each, with the column, the count and the fix.
    """
    check_kinds(raw, roles)
    hashed = None if reading.keep_duplicates else [str(c) for c in raw.columns]
    if lazy:
        meta = convert(raw._meta, roles, reading, hashed)
        converted = raw.map_partitions(convert, roles, reading, hashed, meta=meta)
    else:
        converted = convert(raw, roles, reading, hashed)
    counts = row_counts(converted, roles)
    table = customer_rows(converted, roles, reading)
    if lazy:
        (table,), values = steps.persist_and_compute(client, [table], list(counts.values()))
        counts = dict(zip(counts, values))
        summary = table_counts(table)
        summary = dict(zip(summary, steps.compute(client, *summary.values())))
    else:
        summary = table_counts(table)
    counts = {k: (int(v) if k not in ("first", "last") else v) for k, v in {**counts, **summary}.items()}

    kind = stopping_problem(counts, reading)
    if kind is not None:
        example, where = first_example(raw, converted, kind, roles, client)
        raise ValueError(problem_message(kind, counts, roles, example, where or f" in {what}"))
    if counts["valid_rows"] == 0:
        raise ValueError(_no_valid_rows(counts, roles, reading))
    reference = reading.reference
    rule = "given"
    if reference is None:
        reference = pd.Timestamp(counts["last"]) + pd.Timedelta(days=1)
        rule = "one day after the last transaction"
    name = roles.customer
    features = features_of(table, reference, name)
    aside = set_aside_of(table, name)
    counts["segmented"] = counts["customers"] - counts["no_valid_rows"] - counts["not_positive"]
    if lazy:
        if counts["no_valid_rows"] + counts["not_positive"]:
            (aside,) = steps.compute(client, aside)
        else:
            aside = aside._meta
        (features,) = steps.persist(client, features)
    counts["prefixed_ids"] = prefixed_ids(table.index) if counts["customers"] else 0
    if counts["segmented"] == 0:
        raise ValueError(_no_customers(counts, roles))
    notes = _notes(counts, roles, reading, reference)
    if stage is not None:
        stage.describe(f"{counts['rows']:,} rows -> {counts['segmented']:,} customers")
    return CustomerTable(features=features, set_aside=aside.sort_index(), quality=counts, notes=notes,
                         reference=reference, reference_rule=rule, first=counts["first"], last=counts["last"])


def _no_valid_rows(counts: dict[str, int], roles: Roles, reading: Reading) -> str:
    parts = [f"{counts[key]:,} {words}" for key, words in ROW_REASONS.items() if counts.get(key)]
    late = f" (reference date {reading.reference.date()})" if reading.reference is not None else ""
    return (f"No valid row among {counts['rows']:,}: " + ", ".join(parts) + f"{late}. Check the columns "
            f"{roles.amount!r} (amount=) and {roles.timestamp!r} (timestamp=), or the reference date "
            "(reference_date=).")


def _no_customers(counts: dict[str, int], roles: Roles) -> str:
    return (f"No customer can be segmented: of {counts['customers']:,} customers, {counts['no_valid_rows']:,} have "
            f"no valid row and {counts['not_positive']:,} a net spend of 0 or less in {roles.amount!r} (amount=). "
            "Check that the column holds the amounts paid (positive; refunds negative).")


def _notes(counts: dict[str, int], roles: Roles, reading: Reading, reference: pd.Timestamp) -> list[str]:
    notes = []
    dates = date_note(counts, roles, reading)
    if dates:
        notes.append(dates)
    if counts.get("zoned_times"):
        notes.append(f"{counts['zoned_times']:,} times in {roles.timestamp!r} have a time zone or UTC offset: all "
                     "times were converted to UTC (times without one are taken as they are).")
    if counts.get("duplicates"):
        one = counts["duplicates"] == 1
        notes.append(f"{counts['duplicates']:,} row{' was an exact copy' if one else 's were exact copies'} of an "
                     f"earlier row (every column equal) and {'was' if one else 'were'} left out; keep_duplicates=True "
                     "(--keep-duplicates) keeps them.")
    if counts.get("refund_rows"):
        notes.append(f"{counts['refund_rows']:,} valid row{' has' if counts['refund_rows'] == 1 else 's have'} a "
                     "negative amount (refunds): they lower the customer's net spend; an order counts only when its "
                     "net amount is positive.")
    aside = counts["no_valid_rows"] + counts["not_positive"]
    if aside:
        notes.append(f"{aside:,} customers were set aside, not segmented ({counts['not_positive']:,} with a net "
                     f"spend of 0 or less, {counts['no_valid_rows']:,} with no valid row): see set_aside.csv.")
    if counts.get("prefixed_ids"):
        notes.append(f"{counts['prefixed_ids']:,} customer ids are another id with a letter in front (like "
                     "'C10859' beside '10859'): they are counted as different customers. If they are the same "
                     "customers, remove the letters from the ids before running.")
    return notes
