"""rfm: hand-computed values, pandas and Dask agree, errors name the column."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd
import pytest

from scalecluster.datasets import make_transactions
from scalecluster.features import MissingColumnError, rfm


@pytest.fixture
def log():
    return pd.DataFrame(
        {
            "cust": ["a", "a", "a", "b", "c", "c"],
            "order": [1, 1, 2, 3, 4, 5],
            "when": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-11",
                    "2024-01-06",
                    "2024-01-02",
                    "2024-01-15",
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 7.5, 1.0, 2.0],
        }
    )


def test_hand_computed_example(log):
    out = rfm(log, customer="cust", timestamp="when", amount="amount")
    # Default reference: the latest timestamp (2024-01-15) plus one day.
    expected = pd.DataFrame(
        {
            "recency": [5.0, 10.0, 1.0],
            "frequency": [3, 1, 2],
            "monetary": [35.0, 7.5, 3.0],
        },
        index=pd.Index(["a", "b", "c"], name="cust"),
    )
    pd.testing.assert_frame_equal(out.sort_index(), expected, check_index_type=False)


def test_orders_counted_once_and_reference_date_filters(log):
    out = rfm(
        log,
        customer="cust",
        timestamp="when",
        amount="amount",
        order="order",
        reference_date="2024-01-12",
    )
    # Transactions on or after the reference date do not count (c's second order).
    expected = pd.DataFrame(
        {
            "recency": [1.0, 6.0, 10.0],
            "frequency": [2, 1, 1],
            "monetary": [35.0, 7.5, 1.0],
        },
        index=pd.Index(["a", "b", "c"], name="cust"),
    )
    pd.testing.assert_frame_equal(out.sort_index(), expected, check_index_type=False)


def test_string_timestamps_are_parsed(log):
    as_text = log.assign(when=log["when"].dt.strftime("%Y-%m-%d"))
    pd.testing.assert_frame_equal(
        rfm(as_text, customer="cust", timestamp="when", amount="amount"),
        rfm(log, customer="cust", timestamp="when", amount="amount"),
    )


@pytest.mark.parametrize("order", [None, "order_id"])
def test_pandas_and_dask_agree(order):
    lines, _ = make_transactions(600, random_state=2)
    expected = rfm(lines, order=order).sort_index()
    lazy = rfm(dd.from_pandas(lines, npartitions=4), order=order)
    assert isinstance(lazy, dd.DataFrame)
    pd.testing.assert_frame_equal(lazy.compute().sort_index(), expected)
    assert len(expected) == 600
    assert (expected["recency"] > 0).all() and (expected["frequency"] >= 1).all()


def test_dask_string_timestamps(log):
    as_text = log.assign(when=log["when"].dt.strftime("%Y-%m-%d"))
    lazy = rfm(
        dd.from_pandas(as_text, npartitions=2),
        customer="cust",
        timestamp="when",
        amount="amount",
    )
    pd.testing.assert_frame_equal(
        lazy.compute().sort_index(),
        rfm(log, customer="cust", timestamp="when", amount="amount").sort_index(),
        check_index_type=False,  # Dask stores the strings as pyarrow strings
    )


def test_missing_column_is_named_with_the_available_ones(log):
    with pytest.raises(
        KeyError, match=r"'revenue' \(amount=\) not found; available columns: \['cust'"
    ):
        rfm(log, customer="cust", timestamp="when")
    with pytest.raises(ValueError, match="'nope'"):  # also a ValueError
        rfm(
            dd.from_pandas(log, npartitions=1),
            customer="nope",
            timestamp="when",
            amount="amount",
        )
    assert issubclass(MissingColumnError, KeyError)


def test_bad_kinds_are_named(log):
    with pytest.raises(TypeError, match="'amount' must be numeric"):
        rfm(
            log.assign(amount=log["amount"].astype(str)),
            customer="cust",
            timestamp="when",
            amount="amount",
        )
    with pytest.raises(TypeError, match="'when' must hold dates"):
        rfm(log.assign(when=1.5), customer="cust", timestamp="when", amount="amount")
    with pytest.raises(ValueError, match="'when' holds values that do not parse"):
        rfm(
            log.assign(when="yesterday-ish"),
            customer="cust",
            timestamp="when",
            amount="amount",
        )
    with pytest.raises(TypeError, match="DataFrame"):
        rfm([1, 2, 3])
