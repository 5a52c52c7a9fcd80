"""Messy transaction logs, as real exports are: refunds, exact duplicates (some in another file), ids of two
kinds, empty cells, day-first dates, TSV.  The job completes; every count of the data-quality table equals
what plain pandas finds row by row, in memory and on Dask; problems that stop the job are one line with the
column, the count and the fix, before any modelling."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecluster.datasets import make_transactions
from scalecluster.jobs import segment
from scalecluster.jobs._transactions import NET_TOLERANCE

SEGMENT_MODULE = __import__("scalecluster.jobs.segment", fromlist=["segment"])  # the module, not the function
N = 1_500
DAYFIRST = "%d/%m/%Y %H:%M"


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """A TSV export of N customers with every kind of mess, and a third file repeating rows of the first."""
    root = tmp_path_factory.mktemp("messy") / "shop"
    data = make_transactions(N, path=root, n_partitions=2, refunds=0.05, duplicates=0.03, missing=0.03,
                             mixed_ids=0.1, dayfirst=True, file_format="tsv", random_state=3)
    first = os.path.join(data.transactions, "part-00000.tsv")
    again = pd.read_csv(first, sep="\t", dtype=str, keep_default_na=False).iloc[100:160]
    again.to_csv(os.path.join(data.transactions, "part-00002.tsv"), sep="\t", index=False)  # appended twice
    return data.transactions


def oracle(folder: str, reference: pd.Timestamp | None = None) -> tuple[dict[str, int], pd.DataFrame]:
    """The counts and the customers' RFM by plain pandas, following the documented rules one by one."""
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    frame = pd.concat([pd.read_csv(f, sep="\t", dtype=str) for f in files], ignore_index=True)
    counts = {"rows": len(frame)}
    has_id = frame["customer_id"].notna()
    counts["missing_customer"] = int((~has_id).sum())
    frame = frame[has_id]
    duplicate = frame.duplicated()  # every column equal to an earlier row
    counts["duplicates"] = int(duplicate.sum())
    frame = frame[~duplicate]
    amount = pd.to_numeric(frame["revenue"])
    times = pd.to_datetime(frame["timestamp"], format=DAYFIRST)
    counts["missing_amount"] = int(amount.isna().sum())
    counts["missing_time"] = int((amount.notna() & times.isna()).sum())
    late = amount.notna() & times.notna() & (times >= reference) if reference is not None else amount.isna() & False
    counts["late"] = int(late.sum())
    valid = amount.notna() & times.notna() & ~late
    counts["valid_rows"] = int(valid.sum())
    counts["refund_rows"] = int((valid & (amount < 0)).sum())
    counts["customers"] = frame["customer_id"].nunique()
    rows = pd.DataFrame({"customer": frame["customer_id"], "order": frame["order_id"], "amount": amount,
                         "time": times})[valid]
    rows["gross"] = rows["amount"].clip(lower=0)
    rows["bought"] = rows["time"].where(rows["amount"] > 0)  # an order's time: its purchases'
    orders = rows.groupby(["customer", "order"]).agg(net=("amount", "sum"), gross=("gross", "sum"),
                                                     time=("bought", "max"))
    orders["counted"] = (orders["gross"] > 0) & (orders["net"] > NET_TOLERANCE * orders["gross"])
    per = orders.groupby(level=0).agg(net=("net", "sum"), gross=("gross", "sum"), frequency=("counted", "sum"))
    per["last"] = orders[orders["counted"]]["time"].groupby(level=0).max()
    positive = (per["gross"] > 0) & (per["net"] > NET_TOLERANCE * per["gross"])
    counts["no_valid_rows"] = counts["customers"] - len(per)
    counts["not_positive"] = int((~positive).sum())
    counts["segmented"] = int(positive.sum())
    reference = reference if reference is not None else rows["time"].max() + pd.Timedelta(days=1)
    kept = per[positive]
    features = pd.DataFrame({"recency": (reference - kept["last"]) / pd.Timedelta(days=1),
                             "frequency": kept["frequency"].astype("int64"), "monetary": kept["net"]})
    return counts, features.sort_index()


def _check(result, expected: dict[str, int], features: pd.DataFrame) -> None:
    for key, value in expected.items():
        assert result.quality[key] == value, (key, result.quality[key], value)
    got = result.customers
    got = (got.compute() if hasattr(got, "compute") else got)[["recency", "frequency", "monetary"]].sort_index()
    assert list(got.index) == list(features.index)
    np.testing.assert_allclose(got["recency"], features["recency"], rtol=0, atol=1e-6)
    assert (got["frequency"].to_numpy() == features["frequency"].to_numpy()).all()
    np.testing.assert_allclose(got["monetary"], features["monetary"], rtol=1e-12, atol=1e-9)


@pytest.fixture(scope="module")
def in_memory(messy, tmp_path_factory):
    out = tmp_path_factory.mktemp("quality") / "out"
    return segment(messy, order="order_id", dayfirst=True, k=4, out=out, plots=False, verbose=False)


def test_the_counts_are_exact_in_memory(messy, in_memory):
    expected, features = oracle(messy)
    assert expected["duplicates"] > 60 and expected["refund_rows"] > 0 and expected["not_positive"] > 0
    assert expected["missing_customer"] and expected["missing_amount"] and expected["missing_time"]
    assert expected["no_valid_rows"] > 0
    _check(in_memory, expected, features)
    quality = in_memory.quality
    assert quality["rows"] == (quality["missing_customer"] + quality["duplicates"] + quality["missing_amount"]
                               + quality["missing_time"] + quality["valid_rows"])  # every row once
    assert in_memory.n_customers == expected["segmented"]
    assert len(in_memory.set_aside) == expected["no_valid_rows"] + expected["not_positive"]
    assert quality["prefixed_ids"] > 0  # "C4" beside "4": two customers, and a note says so
    assert any("letter in front" in note for note in in_memory.notes)
    assert in_memory.labels.index.str.startswith("C").any() and not in_memory.labels.index.str.contains(r"\.").any()


def test_the_same_counts_on_dask(messy, in_memory, client):
    on_dask = segment(messy, order="order_id", dayfirst=True, k=4, client=client, plots=False, verbose=False)
    expected, features = oracle(messy)
    _check(on_dask, expected, features)
    assert on_dask.quality == in_memory.quality
    assert on_dask.notes == in_memory.notes
    pd.testing.assert_frame_equal(on_dask.set_aside.sort_index(), in_memory.set_aside.sort_index())
    labels = on_dask.labels.compute()
    assert (labels == in_memory.labels.loc[labels.index]).all()


def test_the_report_opens_with_the_data_quality_table(in_memory):
    out = Path(in_memory.paths["out"])
    markdown = (out / "report.md").read_text(encoding="utf-8")
    quality = in_memory.quality
    assert markdown.index("## Data quality") < markdown.index("## Segments")
    for line in (f"| Rows read | {quality['rows']:,} |  |",
                 f"| Set aside: exact duplicate of an earlier row | {quality['duplicates']:,} |  |",
                 f"| Set aside: no amount | {quality['missing_amount']:,} |  |",
                 f"| Set aside: net spend 0 or less |  | {quality['not_positive']:,} |",
                 f"| Customers segmented |  | {quality['segmented']:,} |"):
        assert line in markdown, line
    assert "| Reference date |" in markdown and "'C10859' and '10859' are two customers" in markdown
    table = pd.read_csv(out / "quality.csv")
    assert table.set_index("what").loc["rows read", "rows"] == quality["rows"]
    aside = pd.read_csv(out / "set_aside.csv", dtype={"customer_id": str})
    assert len(aside) == quality["no_valid_rows"] + quality["not_positive"]


def test_keep_duplicates_and_an_explicit_date_format(messy):
    kept = segment(messy, order="order_id", date_format=DAYFIRST, keep_duplicates=True, k=4, plots=False,
                   verbose=False)
    expected, _ = oracle(messy)
    assert kept.quality["duplicates"] == 0
    assert kept.quality["valid_rows"] > expected["valid_rows"]
    assert any("read with the format" in note for note in kept.notes)


def test_a_reference_date_sets_later_rows_aside(messy):
    reference = pd.Timestamp("2024-10-01")
    result = segment(messy, order="order_id", dayfirst=True, k=4, reference_date=reference, plots=False,
                     verbose=False)
    expected, features = oracle(messy, reference)
    assert expected["late"] > 0
    _check(result, expected, features)


# --------------------------------------------------------------------------- problems that stop the job


def _write(tmp_path, name: str, rows: list[tuple], sep: str = ",") -> str:
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "revenue"])
    path = tmp_path / name
    frame.to_csv(path, sep=sep, index=False)
    return str(path)


def _no_modelling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("modelling started before the data was checked")

    monkeypatch.setattr(SEGMENT_MODULE, "pool", refuse)
    monkeypatch.setattr(SEGMENT_MODULE, "stability_sweep", refuse)


@pytest.mark.parametrize("lazy", [False, True])
def test_day_first_dates_without_dayfirst_stop_in_one_line(messy, lazy, client, monkeypatch):
    _no_modelling(monkeypatch)
    files = sorted(os.path.join(messy, f) for f in os.listdir(messy))
    text = pd.concat([pd.read_csv(f, sep="\t", dtype=str) for f in files])["timestamp"].dropna()
    day = int((text.str.slice(0, 2).astype(int) > 12).sum())
    with pytest.raises(ValueError) as info:
        segment(messy, order="order_id", client=client if lazy else None, verbose=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"Column 'timestamp' (timestamp=) holds day-first dates: {day:,} values like '")
    assert "Pass dayfirst=True" in message


@pytest.mark.parametrize("lazy", [False, True])
def test_values_that_are_not_numbers_or_dates_are_counted_over_all_files(tmp_path, lazy, client, monkeypatch):
    _no_modelling(monkeypatch)
    folder = tmp_path / "tx"
    folder.mkdir()
    _write(folder, "a.csv", [("a", "2024-01-01", "10.5"), ("b", "2024-01-02", "$3"), ("c", "2024-01-03", "7")])
    _write(folder, "b.csv", [("d", "2024-01-01", "1,234"), ("e", "2024-01-02", "12 EUR"), ("f", "2024-01-03", "7")])
    with pytest.raises(ValueError) as info:
        segment(str(folder), k=2, client=client if lazy else None, verbose=False)
    message = str(info.value)
    assert message.startswith("Column 'revenue' (amount=) holds '$3'")
    assert "which is not a number (3 such values). Write plain numbers" in message and "\n" not in message
    if not lazy:
        assert "(line 3 of '" in message
    _write(folder, "a.csv", [("a", "2024-01-01", "1"), ("b", "yesterday", "3"), ("c", "2024-01-03", "7")])
    _write(folder, "b.csv", [("d", "tomorrow", "1"), ("e", "2024-01-02", "2"), ("f", "2024-01-03", "7")])
    with pytest.raises(ValueError, match=r"^Column 'timestamp' \(timestamp=\) holds 'yesterday'.*which is not a "
                                         r"date \(2 such values\)\. .*date_format="):
        segment(str(folder), k=2, client=client if lazy else None, verbose=False)


def test_month_first_dates_with_dayfirst_and_no_customer_left(tmp_path, monkeypatch):
    _no_modelling(monkeypatch)
    path = _write(tmp_path, "tx.csv", [("a", "01/13/2024", "1"), ("b", "01/02/2024", "2"), ("c", "01/20/2024", "3")])
    with pytest.raises(ValueError, match=r"holds month-first dates: 2 values like '01/13/2024' .* Leave out "
                                         "dayfirst=True"):
        segment(path, k=2, dayfirst=True, verbose=False)
    path = _write(tmp_path, "refunds.csv", [("a", "2024-01-01", "-5"), ("b", "2024-01-02", ""),
                                            ("b", "2024-01-03", "-1"), ("c", "", "3")])
    with pytest.raises(ValueError, match=r"^No customer can be segmented: of 3 customers, 1 have no valid row and "
                                         r"2 a net spend of 0 or less in 'revenue' \(amount=\)"):
        segment(path, k=2, verbose=False)


def test_ids_are_text_and_the_separator_is_found(tmp_path):
    rows = [("C4", "2024-01-01", "10"), ("4", "2024-01-02", "20"), (" 4 ", "2024-01-05", "5"),
            ("004", "2024-01-03", "30"), ("5", "2024-01-04", "40"), ("6", "2024-01-06", "50")]
    path = _write(tmp_path, "semicolons.csv", rows, sep=";")  # a European export
    result = segment(path, k=2, verbose=False, plots=False)
    assert sorted(result.labels.index) == ["004", "4", "5", "6", "C4"]  # " 4 " is "4"; "004" and "C4" are not
    assert result.customers.loc["4", "frequency"] == 2 and result.quality["prefixed_ids"] == 1
    mixed = pd.DataFrame({"customer_id": [4, "C4", 4.0, None, "5", 6], "timestamp": pd.to_datetime(
        ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"]),
        "revenue": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    result = segment(mixed, k=2, verbose=False, plots=False)  # ints and text in one column: no crash
    assert sorted(result.labels.index) == ["4", "5", "6", "C4"] and result.quality["missing_customer"] == 1
