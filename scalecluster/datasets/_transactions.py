"""Synthetic customer transactions with a known behaviour per customer.

Each customer follows one behaviour, which fixes how long ago they last
bought (recency), how many orders they placed (frequency), over how long a
span, and their typical order value (monetary, lognormal: heavy-tailed).  An
order has one or more lines (same order id and timestamp), each with a
quantity and a revenue.

Options make the log harder: ``blur`` mixes each customer's behaviour with
another's (0: five separated behaviours; 1: a continuum, as real RFM data
is), and ``refunds``, ``duplicates``, ``missing``, ``mixed_ids``,
``dayfirst`` and ``file_format`` make it look like a real export (refund
rows, repeated rows, empty cells, ids of two kinds, day-first date text,
CSV or TSV files).  With every option at its default the rows are exactly
those of earlier versions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._blocks import (
    TRANSACTIONS_EXTRA_STREAM,
    TRANSACTIONS_STREAM,
    block_rng,
    check_count,
    check_seed,
    partition_bounds,
    rows_between,
)
from ._write import atomic_directory, write_params, write_part

CUSTOMERS_PER_BLOCK = 4096
_ORDER_ID_STRIDE = (
    1000  # order_id = customer_id * stride + order number (< stride orders a customer)
)


@dataclass(frozen=True)
class Behaviour:
    """How customers of one behaviour buy (days before the reference date)."""

    share: float  #: expected fraction of customers
    recency: tuple[float, float]  #: days since the last order, uniform in this range
    orders: tuple[int, float]  #: minimum orders + Poisson(mean) more
    span: tuple[float, float]  #: days between first and last order, uniform
    order_value: (
        float  #: median order value (the customer's level is lognormal around it)
    )


#: The behaviours, in label order.  Their shares sum to one.
BEHAVIOURS: dict[str, Behaviour] = {
    "champions": Behaviour(0.10, (0.0, 14.0), (18, 12.0), (300.0, 650.0), 140.0),
    "loyal": Behaviour(0.20, (5.0, 45.0), (7, 3.0), (200.0, 600.0), 45.0),
    "new": Behaviour(0.15, (0.0, 30.0), (1, 0.3), (0.0, 20.0), 40.0),
    "at_risk": Behaviour(0.20, (120.0, 300.0), (6, 3.0), (150.0, 400.0), 70.0),
    "lost": Behaviour(0.35, (330.0, 680.0), (1, 0.3), (0.0, 40.0), 30.0),
}

#: Refunds that return twice the line's amount (the rest return it exactly): purchases made before the log.
REFUND_BEYOND_SHARE = 0.2
#: Day-first text dates, as European exports write them.
DAYFIRST_FORMAT = "%d/%m/%Y %H:%M"
FILE_FORMATS = ("parquet", "csv", "tsv")

_SPEND_SIGMA = 0.35  # spread of customers' order-value level (log scale)
_LINE_SIGMA = 0.45  # spread of line prices around the level (log scale)


@dataclass(frozen=True)
class _Mess:
    """The messy-export options of :func:`make_transactions` (all off by default)."""

    refunds: float = 0.0
    duplicates: float = 0.0
    missing: float = 0.0
    mixed_ids: float = 0.0
    dayfirst: bool = False

    @property
    def rows(self) -> bool:
        """Whether rows are added or blanked (refunds, duplicates, missing values)."""
        return bool(self.refunds or self.duplicates or self.missing)


class TransactionsData(NamedTuple):
    """What :func:`make_transactions` returns: frames in memory, or folders on disk."""

    transactions: Any  #: pandas.DataFrame, or the path of the transactions folder
    customers: Any  #: pandas.DataFrame (``customer_id, behaviour``), or its folder


def make_transactions(
    n_customers: int,
    *,
    path: str | os.PathLike | None = None,
    n_partitions: int | None = None,
    reference_date: str | pd.Timestamp = "2025-01-01",
    random_state: int | None = 0,
    overwrite: bool = False,
    blur: float = 0.0,
    refunds: float = 0.0,
    duplicates: float = 0.0,
    missing: float = 0.0,
    mixed_ids: float = 0.0,
    dayfirst: bool = False,
    file_format: str = "parquet",
) -> TransactionsData:
    """Generate order lines for customers of known behaviours.

    Behaviours (see ``BEHAVIOURS``): *champions* (bought in the last two
    weeks, 18+ orders, high order value), *loyal* (recent, 7+ orders, moderate
    value), *new* (recent, one or two orders), *at_risk* (6+ orders, but none
    in the last four months) and *lost* (one or two orders, about a year or
    more ago).  Order values are lognormal: heavy-tailed spend.

    Parameters
    ----------
    n_customers : int
        Number of customers (about 12 order lines each on average: 11.8 measured).
    path : str or path-like, default=None
        A folder to write to; it will hold ``transactions/`` and
        ``customers/``, each a folder of Parquet part files, and
        ``_generator.json`` (the arguments).  ``None`` returns pandas
        DataFrames instead (for small ``n_customers``).
    n_partitions : int, default=None
        Number of part files (contiguous ranges of customers); by default one
        per 100,000 customers.  Only one partition is in memory at a time.
    reference_date : str or Timestamp, default="2025-01-01"
        "Today": every order is before it.
    random_state : int or None, default=0
        Seed.  The rows depend on the seed and the customer's position only:
        the same for any ``n_partitions`` and in memory, and the first
        customers of a larger dataset are those of a smaller one.
    overwrite : bool, default=False
        Replace an existing ``path``.
    blur : float in [0, 1], default=0
        How much the behaviours blend: each customer's recency range, order
        count, span and order value move towards those of a second behaviour
        (drawn with the same shares) by a weight uniform in ``[0, blur]``
        (order value on the log scale).  0: five separated behaviours; 1: a
        continuum between them, with no gaps, as real RFM data is.  The true
        ``behaviour`` stays the customer's first one.
    refunds : float in [0, 1], default=0
        Share of order lines refunded: a row with the line's order id and time,
        negative quantity and negative revenue (the line's amount, or twice it
        for a fifth of refunds: purchases made before the log).  Customers
        whose orders are all refunded spend 0 or less.
    duplicates : float in [0, 1], default=0
        Share of rows repeated exactly (the copy at the end of its block of
        4096 customers, as an export appended twice would be).
    missing : float in [0, 1], default=0
        Share of rows whose revenue is empty; a quarter as many rows lose
        their time, and a quarter as many their customer id (then an Int64
        column, or text with ``mixed_ids``).
    mixed_ids : float in [0, 1], default=0
        Share of customers whose id is written with a letter: customer 10860
        becomes ``"C10859"``, a different customer from ``10859`` (a fixed
        hash of the id picks them).  Ids are then text (on disk) or a mix of
        ints and strings (in memory, as pandas reads such a column), in both
        ``transactions`` and ``customers``.
    dayfirst : bool, default=False
        Times as text, day first (``31/12/2024 23:59``, minutes only).
    file_format : {"parquet", "csv", "tsv"}, default="parquet"
        Format of the ``transactions/`` part files (``customers/`` stays
        Parquet).  CSV and TSV write empty cells for missing values.

    Returns
    -------
    TransactionsData
        ``(transactions, customers)``.  ``transactions`` has columns
        ``customer_id`` (int64), ``order_id`` (int64), ``timestamp``
        (datetime64[us]), ``quantity`` (int64) and ``revenue`` (float64), one
        row per order line, grouped by customer in time order; ``customers``
        has ``customer_id`` and ``behaviour`` (str), the true labels.  With
        ``path``, the two folders' paths.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        A count that is not a positive int, a bad date, a share outside
        [0, 1], or an unknown ``file_format``.

    Notes
    -----
    Files are written into a temporary folder beside ``path`` and renamed
    into place once complete.  Memory is that of one partition.
    """
    n_customers = check_count("n_customers", n_customers)
    seed = check_seed(random_state)
    reference = pd.Timestamp(reference_date)
    if n_partitions is None:
        n_partitions = -(-n_customers // 100_000)
    n_partitions = check_count("n_partitions", n_partitions)
    n_partitions = min(n_partitions, n_customers)
    blur = _share("blur", blur)
    mess = _Mess(_share("refunds", refunds), _share("duplicates", duplicates), _share("missing", missing),
                 _share("mixed_ids", mixed_ids), bool(dayfirst))
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {list(FILE_FORMATS)}; got {file_format!r}.")

    def part(start: int, stop: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        lines, customers = _customer_range(seed, reference, start, stop, n_customers, blur, mess)
        return _as_written(lines, customers, mess, on_disk=path is not None)

    if path is None:
        return TransactionsData(*part(0, n_customers))
    params = {
        "generator": "make_transactions",
        "n_customers": n_customers,
        "n_partitions": n_partitions,
        "reference_date": reference.isoformat(),
        "random_state": seed,
        "behaviours": list(BEHAVIOURS),
        "blur": blur,
        "refunds": mess.refunds,
        "duplicates": mess.duplicates,
        "missing": mess.missing,
        "mixed_ids": mess.mixed_ids,
        "dayfirst": mess.dayfirst,
        "file_format": file_format,
    }
    with atomic_directory(path, overwrite=overwrite) as folder:
        for i, (start, stop) in enumerate(partition_bounds(n_customers, n_partitions)):
            lines, customers = part(start, stop)
            if file_format == "parquet":
                write_part(lines, os.path.join(folder, "transactions"), i)
            else:
                _write_text(lines, os.path.join(folder, "transactions"), i, file_format)
            write_part(customers, os.path.join(folder, "customers"), i)
        write_params(folder, params)
    root = os.fspath(path)
    return TransactionsData(
        os.path.join(root, "transactions"), os.path.join(root, "customers")
    )


def _share(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
        0.0 <= float(value) <= 1.0
    ):
        raise ValueError(f"{name} must be a number in [0, 1]; got {value!r}.")
    return float(value)


def _write_text(frame: pd.DataFrame, folder: str, index: int, file_format: str) -> str:
    """One part file as CSV or TSV (empty cells for missing values)."""
    os.makedirs(folder, exist_ok=True)
    file = os.path.join(folder, f"part-{index:05d}.{file_format}")
    frame.to_csv(file, sep="," if file_format == "csv" else "\t", index=False)
    return file


def _prefixed(ids: np.ndarray, share: float) -> np.ndarray:
    """Which customer ids are written with a letter (a fixed hash of the id, so every part agrees)."""
    if share <= 0:
        return np.zeros(len(ids), dtype=bool)
    mixed = (np.asarray(ids, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    return mixed < np.uint64(int(share * 2**32))


def _id_text(ids: Any, share: float, on_disk: bool) -> Any:
    """Customer ids as written with ``mixed_ids``: customer n becomes "C{n-1}" when picked, else n."""
    values = pd.array(ids, dtype="Int64")
    known = ~pd.isna(values)
    numbers = np.asarray(values.to_numpy(dtype="float64", na_value=0.0), dtype=np.int64)
    picked = _prefixed(numbers, share) & np.asarray(known)
    out = np.empty(len(numbers), dtype=object)
    out[:] = [f"C{n - 1}" if p else (str(n) if on_disk else int(n)) for n, p in zip(numbers, picked)]
    out[~np.asarray(known)] = None
    return out if not on_disk else pd.array(out, dtype="str")


def _as_written(lines: pd.DataFrame, customers: pd.DataFrame, mess: _Mess, *, on_disk: bool
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ids and times as the messy-export options write them."""
    if mess.mixed_ids > 0:
        lines = lines.assign(customer_id=_id_text(lines["customer_id"], mess.mixed_ids, on_disk))
        customers = customers.assign(customer_id=_id_text(customers["customer_id"], mess.mixed_ids, on_disk))
    if mess.dayfirst:
        text = lines["timestamp"].dt.strftime(DAYFIRST_FORMAT)
        lines = lines.assign(timestamp=text.astype("str") if on_disk else text)
    return lines, customers


def _customer_range(
    seed: int, reference: pd.Timestamp, start: int, stop: int, n_customers: int, blur: float = 0.0,
    mess: _Mess = _Mess(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order lines and labels of customers ``start`` to ``stop`` (0-based positions).

    Blocks are always drawn whole (the last one too, and cut), so a customer's
    data does not depend on ``n_customers``.
    """
    size = CUSTOMERS_PER_BLOCK
    lines = rows_between(
        start,
        stop,
        n_customers,
        size,
        lambda b, f, c: _block(seed, reference, b, f, size, blur, mess),
    )
    first_block = start // size
    codes = np.concatenate(
        [_labels(seed, b) for b in range(first_block, -(-stop // size))]
    )
    codes = codes[start - first_block * size : stop - first_block * size]
    names = np.array(list(BEHAVIOURS), dtype=object)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(start, stop, dtype=np.int64) + 1,
            "behaviour": pd.array(names[codes], dtype="str"),
        }
    )
    return lines, customers


def _labels(seed: int, block: int) -> np.ndarray:
    """Behaviour codes of one block's customers (the first draws of its stream)."""
    shares = np.array([b.share for b in BEHAVIOURS.values()])
    rng = block_rng(seed, TRANSACTIONS_STREAM, block)
    return rng.choice(len(shares), size=CUSTOMERS_PER_BLOCK, p=shares / shares.sum())


def _block(
    seed: int, reference: pd.Timestamp, block: int, first: int, count: int, blur: float = 0.0,
    mess: _Mess = _Mess(),
) -> tuple[pd.DataFrame, np.ndarray]:
    """One block's order lines and each line's customer position."""
    rng = block_rng(seed, TRANSACTIONS_STREAM, block)
    shares = np.array([b.share for b in BEHAVIOURS.values()])
    code = rng.choice(
        len(shares), size=count, p=shares / shares.sum()
    )  # same draws as _labels
    table = list(BEHAVIOURS.values())
    extra = block_rng(seed, TRANSACTIONS_EXTRA_STREAM, block)  # blur and mess: never the plain rows' draws
    if blur > 0:
        other = extra.choice(len(shares), size=count, p=shares / shares.sum())
        weight = extra.uniform(0.0, blur, count)
    else:
        other, weight = code, np.zeros(count)

    def per(field: str, index: int) -> np.ndarray:
        values = np.array([getattr(b, field)[index] for b in table])
        if blur <= 0:
            return values[code]
        return (1.0 - weight) * values[code] + weight * values[other]

    recency = (
        rng.uniform(per("recency", 0), per("recency", 1)) + 1 / 24
    )  # at least an hour ago
    n_orders = np.rint(per("orders", 0)).astype(np.int64) + rng.poisson(per("orders", 1))
    n_orders = np.minimum(n_orders, _ORDER_ID_STRIDE - 1)
    span = np.where(n_orders > 1, rng.uniform(per("span", 0), per("span", 1)), 0.0)
    values = np.log(np.array([b.order_value for b in table]))
    level = np.exp((1.0 - weight) * values[code] + weight * values[other]) * rng.lognormal(
        0.0, _SPEND_SIGMA, count
    )

    # Orders: the last one at `recency` days ago, the others spread over the span before it.
    owner = np.repeat(np.arange(count), n_orders)
    is_last = np.zeros(owner.size, dtype=bool)
    ends = np.cumsum(n_orders)
    is_last[ends - 1] = True
    age = recency[owner] + np.where(
        is_last, 0.0, span[owner] * rng.uniform(size=owner.size)
    )
    # Order numbers in time order within each customer.
    order = np.lexsort((-age, owner))
    age = age[order]
    number = np.arange(owner.size) - np.repeat(ends - n_orders, n_orders)

    # Lines: 1 + Poisson(0.6) per order; quantity 1 + Poisson(0.5); price lognormal around the level.
    n_lines = 1 + rng.poisson(0.6, owner.size)
    line_order = np.repeat(np.arange(owner.size), n_lines)
    quantity = 1 + rng.poisson(0.5, line_order.size)
    unit_price = (
        level[owner[line_order]]
        / 2.4
        * rng.lognormal(0.0, _LINE_SIGMA, line_order.size)
    )
    revenue = np.round(quantity * unit_price, 2)

    customer = owner[line_order] + first
    customer_id = customer.astype(np.int64) + 1
    seconds = np.round(age[line_order] * 86_400).astype(np.int64)  # whole seconds
    when = np.datetime64(reference.to_datetime64(), "s") - seconds.astype(
        "timedelta64[s]"
    )
    frame = pd.DataFrame(
        {
            "customer_id": customer_id,
            "order_id": customer_id * _ORDER_ID_STRIDE + number[line_order],
            "timestamp": when.astype("datetime64[us]"),
            "quantity": quantity.astype(np.int64),
            "revenue": revenue,
        }
    )
    if mess.rows:
        frame, customer = _messy_rows(frame, customer, mess, extra)
    return frame, customer


def _messy_rows(frame: pd.DataFrame, customer: np.ndarray, mess: _Mess, rng: np.random.Generator
                ) -> tuple[pd.DataFrame, np.ndarray]:
    """Refund rows after their lines, blanked cells, and exact copies of rows at the end of the block."""
    if mess.refunds > 0:
        refunded = rng.uniform(size=len(frame)) < mess.refunds
        factor = np.where(rng.uniform(size=len(frame)) < REFUND_BEYOND_SHARE, 2.0, 1.0)
        refunds = frame[refunded].assign(quantity=-frame["quantity"][refunded],
                                         revenue=-(frame["revenue"][refunded] * factor[refunded]).round(2))
        position = np.concatenate([np.arange(len(frame)), np.flatnonzero(refunded) + 0.5])
        order = np.argsort(position, kind="stable")  # each refund right after its line
        frame = pd.concat([frame, refunds], ignore_index=True).iloc[order].reset_index(drop=True)
        customer = np.concatenate([customer, customer[refunded]])[order]
    if mess.missing > 0:
        n = len(frame)
        no_amount = rng.uniform(size=n) < mess.missing
        no_time = rng.uniform(size=n) < mess.missing / 4
        no_customer = rng.uniform(size=n) < mess.missing / 4
        frame["revenue"] = frame["revenue"].mask(no_amount)
        frame["timestamp"] = frame["timestamp"].mask(no_time)
        frame["customer_id"] = frame["customer_id"].astype("Int64").mask(no_customer)
    if mess.duplicates > 0:
        copied = rng.uniform(size=len(frame)) < mess.duplicates
        frame = pd.concat([frame, frame[copied]], ignore_index=True)
        customer = np.concatenate([customer, customer[copied]])
    return frame, customer
