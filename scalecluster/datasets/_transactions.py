"""Synthetic customer transactions with a known behaviour per customer.

Each customer follows one behaviour, which fixes how long ago they last
bought (recency), how many orders they placed (frequency), over how long a
span, and their typical order value (monetary, lognormal: heavy-tailed).  An
order has one or more lines (same order id and timestamp), each with a
quantity and a revenue.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._blocks import (
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

_SPEND_SIGMA = 0.35  # spread of customers' order-value level (log scale)
_LINE_SIGMA = 0.45  # spread of line prices around the level (log scale)


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
        A count that is not a positive int, or a bad date.

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

    def part(start: int, stop: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        return _customer_range(seed, reference, start, stop, n_customers)

    if path is None:
        return TransactionsData(*part(0, n_customers))
    params = {
        "generator": "make_transactions",
        "n_customers": n_customers,
        "n_partitions": n_partitions,
        "reference_date": reference.isoformat(),
        "random_state": seed,
        "behaviours": list(BEHAVIOURS),
    }
    with atomic_directory(path, overwrite=overwrite) as folder:
        for i, (start, stop) in enumerate(partition_bounds(n_customers, n_partitions)):
            lines, customers = part(start, stop)
            write_part(lines, os.path.join(folder, "transactions"), i)
            write_part(customers, os.path.join(folder, "customers"), i)
        write_params(folder, params)
    root = os.fspath(path)
    return TransactionsData(
        os.path.join(root, "transactions"), os.path.join(root, "customers")
    )


def _customer_range(
    seed: int, reference: pd.Timestamp, start: int, stop: int, n_customers: int
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
        lambda b, f, c: _block(seed, reference, b, f, size),
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
    seed: int, reference: pd.Timestamp, block: int, first: int, count: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """One block's order lines and each line's customer position."""
    rng = block_rng(seed, TRANSACTIONS_STREAM, block)
    shares = np.array([b.share for b in BEHAVIOURS.values()])
    code = rng.choice(
        len(shares), size=count, p=shares / shares.sum()
    )  # same draws as _labels
    table = list(BEHAVIOURS.values())

    def per(field: str, index: int) -> np.ndarray:
        return np.array([getattr(b, field)[index] for b in table])[code]

    recency = (
        rng.uniform(per("recency", 0), per("recency", 1)) + 1 / 24
    )  # at least an hour ago
    n_orders = per("orders", 0).astype(np.int64) + rng.poisson(per("orders", 1))
    n_orders = np.minimum(n_orders, _ORDER_ID_STRIDE - 1)
    span = np.where(n_orders > 1, rng.uniform(per("span", 0), per("span", 1)), 0.0)
    level = np.array([b.order_value for b in table])[code] * rng.lognormal(
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
    return frame, customer
