"""Inputs made the way real exports are: CSV with ids that are numbers in some rows and text in others,
refunds, values that are not numbers or dates; errors that say what to change, whatever library meets them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalecluster.jobs import detect_anomalies, segment
from scalecluster.jobs._columns import library_errors


@pytest.fixture(scope="module")
def export(transactions, tmp_path_factory):
    """The generated transactions as an export: a CSV sorted by time whose last customers have ids like
    'C-123' (the first rows all have numeric ids), dates as text, and refunds bigger than some totals."""
    path, _ = transactions
    frame = pd.read_parquet(path).sort_values("timestamp", kind="stable").reset_index(drop=True)
    frame["customer_id"] = frame["customer_id"].astype(str)
    late = frame["customer_id"].isin(frame["customer_id"].iloc[-200:].unique())
    frame.loc[late, "customer_id"] = "C-" + frame.loc[late, "customer_id"]
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    refunded = frame["customer_id"].iloc[:3].unique().tolist()
    frame.loc[frame.index[:3], "revenue"] = -1e6  # these customers refunded more than they paid
    csv = tmp_path_factory.mktemp("export") / "export.csv"
    frame.to_csv(csv, index=False)
    return str(csv), frame, refunded


def test_an_export_with_mixed_ids_and_refunds_runs_in_memory(export):
    csv, frame, refunded = export
    result = segment(csv, order="order_id", k=5, verbose=False)
    assert result.quality["customers"] == frame["customer_id"].nunique()
    assert result.labels.index.str.startswith("C-").sum() > 0  # ids read as text, all of them
    # Refunds beyond purchases: a net spend below 0, set aside (counted and listed), not segmented.
    assert result.quality["not_positive"] == len(refunded) and sorted(result.set_aside.index) == sorted(refunded)
    assert result.n_customers == frame["customer_id"].nunique() - len(refunded)
    assert (result.set_aside["net_spend"] < 0).all()
    assert any(f"{len(refunded)} customers were set aside" in note for note in result.notes)
    assert result.info["rows"] == len(frame)
    assert result.info["first"] == frame["timestamp"].min()[:16]


def test_the_same_export_on_a_cluster_gives_the_same_segments(export, client):
    # Dask guesses a column's type from the file's first block: there, every id is a number.
    csv, _, _ = export
    in_memory = segment(csv, order="order_id", k=5, verbose=False)
    on_dask = segment(csv, order="order_id", k=5, client=client, verbose=False)
    assert on_dask.names == in_memory.names
    pd.testing.assert_series_equal(on_dask.profile["customers"], in_memory.profile["customers"])
    assert on_dask.notes == in_memory.notes


@pytest.mark.parametrize("lazy", [False, True])
def test_a_value_that_is_not_a_number_is_named_with_its_line(tmp_path, lazy, client):
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "timestamp": ["2024-01-01"] * 4,
                          "revenue": ["10.5", "3", "$12.50", "7"]})
    frame.to_csv(tmp_path / "tx.csv", index=False)
    where = r"in '.*tx.csv'" if lazy else r"\(line 4 of '.*tx.csv'\)"
    with pytest.raises(ValueError, match=rf"Column 'revenue' \(amount=\) holds '\$12.50' {where}, which is not a "
                                         r"number \(the only such value\)\. Write plain numbers"):
        segment(str(tmp_path / "tx.csv"), k=2, client=client if lazy else None, verbose=False)


def test_a_value_that_is_not_a_date_is_named_with_its_line(tmp_path):
    frame = pd.DataFrame({"customer_id": [1, 2, 3], "timestamp": ["2024-01-01", "yesterday", "2024-01-03"],
                          "revenue": [1.0, 2.0, 3.0]})
    frame.to_csv(tmp_path / "tx.csv", index=False)
    with pytest.raises(ValueError, match=r"Column 'timestamp' \(timestamp=\) holds 'yesterday' \(line 3 of "
                                         r"'.*tx.csv'\), which is not a date"):
        segment(str(tmp_path / "tx.csv"), k=2, verbose=False)


def test_times_with_different_offsets_are_read_in_utc(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "customer_id": rng.integers(0, 60, n),
        "timestamp": [f"2024-0{1 + i % 6}-1{i % 10}T10:00:00{'+01:00' if i % 2 else '-05:00'}" for i in range(n)],
        "revenue": rng.gamma(2.0, 20.0, n),
    })
    frame.to_csv(tmp_path / "tx.csv", index=False)
    result = segment(str(tmp_path / "tx.csv"), k=3, verbose=False)
    assert result.info["first"].endswith("UTC") and result.n_customers == 60


def test_numeric_labels_match_a_normal_value_given_as_text(flows, tmp_path):
    frame = pd.read_parquet(flows)
    frame["label"] = (frame["label"] != "normal").astype(int)
    result = detect_anomalies(frame, normal="0", eps=0.3, verbose=False)  # as the command line passes it
    assert result.metrics["true_anomalies"] == int(frame["label"].sum())


def test_library_errors_are_said_in_our_words():
    dask_message = (
        "Mismatched dtypes found in `pd.read_csv`/`pd.read_table`.\n\n+-------------+--------+----------+\n"
        "| Column      | Found  | Expected |\n+-------------+--------+----------+\n"
        "| customer_id | object | int64    |\n+-------------+--------+----------+\n\nUsually this is due to dask's "
        "dtype inference failing, and\n*may* be fixed by specifying dtypes manually by adding:\n\n"
        "dtype={'customer_id': 'object'}\n\nto the call to `read_csv`/`read_table`."
    )
    with pytest.raises(ValueError, match=r"^Column\(s\) 'customer_id' \(object in some rows, int64 in others\) hold "
                                         r"both numbers and text in the input\. Make each column one kind") as info, \
            library_errors("customers"):
        raise ValueError(dask_message)
    assert "dtype=" not in str(info.value)
    with pytest.raises(ValueError, match="^Some flows have a missing or infinite feature value after scaling"), \
            library_errors("flows"):
        raise ValueError("Input X contains NaN. KMeans does not accept missing values encoded as NaN natively. "
                         "For supervised learning, you might want to consider ...")
    with pytest.raises(ValueError, match="^something else$"), library_errors("flows"):  # unknown: passes through
        raise ValueError("something else")
