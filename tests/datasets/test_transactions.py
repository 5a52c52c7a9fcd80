"""make_transactions: schema, determinism, partitioned output, separable behaviours."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from scalecluster.datasets import BEHAVIOURS, make_transactions
from scalecluster.features import rfm, scale


@pytest.fixture(scope="module")
def small():
    return make_transactions(3000, random_state=7)


def test_schema_and_labels(small):
    lines, customers = small
    assert list(lines.columns) == [
        "customer_id",
        "order_id",
        "timestamp",
        "quantity",
        "revenue",
    ]
    assert lines.dtypes.astype(str).tolist() == [
        "int64",
        "int64",
        "datetime64[us]",
        "int64",
        "float64",
    ]
    assert list(customers.columns) == ["customer_id", "behaviour"]
    assert customers["customer_id"].tolist() == list(range(1, 3001))
    assert set(customers["behaviour"]) == set(BEHAVIOURS)
    assert set(lines["customer_id"]) == set(
        customers["customer_id"]
    )  # every customer bought
    assert (lines["timestamp"] < pd.Timestamp("2025-01-01")).all()
    assert (lines["quantity"] >= 1).all() and (lines["revenue"] > 0).all()
    # Lines of one order share a customer and a timestamp.
    per_order = lines.groupby("order_id").agg(
        c=("customer_id", "nunique"), t=("timestamp", "nunique")
    )
    assert (per_order == 1).all().all()


def test_shares_and_heavy_tailed_spend(small):
    lines, customers = small
    shares = customers["behaviour"].value_counts(normalize=True)
    for name, behaviour in BEHAVIOURS.items():
        assert abs(shares[name] - behaviour.share) < 0.03
    spend = lines.groupby("customer_id")["revenue"].sum()
    assert spend.mean() > spend.median() * 1.3  # right-skewed
    assert spend.max() > 20 * spend.median()


def test_same_seed_same_data_other_seed_other_data(small):
    again = make_transactions(3000, random_state=7)
    pd.testing.assert_frame_equal(again.transactions, small.transactions)
    pd.testing.assert_frame_equal(again.customers, small.customers)
    other = make_transactions(3000, random_state=8)
    assert (
        not other.transactions["revenue"]
        .head(50)
        .equals(small.transactions["revenue"].head(50))
    )


def test_smaller_dataset_is_a_prefix(small):
    lines, customers = make_transactions(1000, random_state=7)
    pd.testing.assert_frame_equal(customers, small.customers.iloc[:1000])
    pd.testing.assert_frame_equal(
        lines, small.transactions[small.transactions["customer_id"] <= 1000]
    )


@pytest.mark.parametrize("n_partitions", [1, 4])
def test_partitioned_parquet_equals_in_memory(tmp_path, small, n_partitions):
    out = make_transactions(
        3000, path=tmp_path / "shop", n_partitions=n_partitions, random_state=7
    )
    assert sorted(os.listdir(tmp_path / "shop")) == [
        "_generator.json",
        "customers",
        "transactions",
    ]
    parts = sorted(os.listdir(out.transactions))
    assert parts == [f"part-{i:05d}.parquet" for i in range(n_partitions)]
    pd.testing.assert_frame_equal(pd.read_parquet(out.transactions), small.transactions)
    pd.testing.assert_frame_equal(pd.read_parquet(out.customers), small.customers)
    params = json.loads((tmp_path / "shop" / "_generator.json").read_text())
    assert params["n_customers"] == 3000 and params["random_state"] == 7
    # No temporary folder is left beside the output.
    assert os.listdir(tmp_path) == ["shop"]


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / "shop"
    make_transactions(50, path=target)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        make_transactions(60, path=target)
    assert len(pd.read_parquet(target / "customers")) == 50
    make_transactions(60, path=target, overwrite=True)
    assert len(pd.read_parquet(target / "customers")) == 60


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    from scalecluster.datasets import _transactions

    calls = []

    def failing(frame, folder, index):
        calls.append(index)
        if index == 1:
            raise OSError("disk full")
        return real(frame, folder, index)

    real = _transactions.write_part
    monkeypatch.setattr(_transactions, "write_part", failing)
    with pytest.raises(OSError, match="disk full"):
        make_transactions(100, path=tmp_path / "shop", n_partitions=3)
    assert calls and os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_counts_are_named(bad):
    with pytest.raises(ValueError, match="n_customers"):
        make_transactions(bad)
    with pytest.raises(ValueError, match="n_partitions"):
        make_transactions(10, n_partitions=bad, path="unused")


def test_rfm_kmeans_recovers_the_behaviours():
    # The segmentation job's recipe, with scikit-learn's KMeans standing in for ours.
    for seed in (0, 1):
        lines, customers = make_transactions(4000, random_state=seed)
        features = rfm(lines, order="order_id")
        X, _ = scale(features, log=True)
        labels = KMeans(len(BEHAVIOURS), n_init=4, random_state=seed).fit_predict(
            X.to_numpy()
        )
        truth = customers.set_index("customer_id").loc[features.index, "behaviour"]
        assert adjusted_rand_score(truth, labels) >= 0.8


# --------------------------------------------------------------------------- blurred and messy logs


def test_the_options_off_leave_the_rows_as_they_were(small):
    same = make_transactions(3000, random_state=7, blur=0.0, refunds=0.0, duplicates=0.0, missing=0.0,
                             mixed_ids=0.0, dayfirst=False)
    pd.testing.assert_frame_equal(same.transactions, small.transactions)
    # Refund rows are added after their lines: the other rows are the plain ones, in order.
    refunded = make_transactions(3000, random_state=7, refunds=0.05).transactions
    purchases = refunded[refunded["revenue"] > 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(purchases, small.transactions)


def test_blur_turns_the_behaviours_into_a_continuum():
    scores = {}
    for blur in (0.0, 1.0):
        lines, customers = make_transactions(3000, random_state=0, blur=blur)
        features = rfm(lines, order="order_id")
        X, _ = scale(features, log=True)
        labels = KMeans(len(BEHAVIOURS), n_init=4, random_state=0).fit_predict(X.to_numpy())
        truth = customers.set_index("customer_id").loc[features.index, "behaviour"]
        scores[blur] = adjusted_rand_score(truth, labels)
    assert scores[0.0] >= 0.8 and scores[1.0] < 0.6, scores  # the behaviours no longer stand apart


def test_messy_rows_as_a_real_export_has_them():
    lines, customers = make_transactions(2000, random_state=2, refunds=0.1, duplicates=0.05, missing=0.04,
                                         mixed_ids=0.2, dayfirst=True)
    refunds = lines[lines["revenue"] < 0]
    assert len(refunds) > 0 and (refunds["quantity"] < 0).all()
    assert set(refunds["order_id"]) <= set(lines.loc[~(lines["revenue"] < 0), "order_id"])  # against their orders
    assert lines.duplicated().sum() >= 0.04 * len(lines)
    assert 0.02 < lines["revenue"].isna().mean() < 0.06 and lines["timestamp"].isna().sum() > 0
    ids = lines["customer_id"].dropna()
    assert {type(v) for v in ids} == {int, str}  # as pandas reads a column of numbers and text
    lettered = ids[ids.map(lambda v: isinstance(v, str))]
    assert lettered.str.fullmatch(r"C\d+").all()
    assert set(lettered.str.slice(1)) & {str(v) for v in ids if isinstance(v, int)}  # "C10859" beside "10859"
    assert set(customers["customer_id"].map(type)) == {int, str}
    parsed = pd.to_datetime(lines["timestamp"], format="%d/%m/%Y %H:%M")
    assert parsed.notna().sum() == lines["timestamp"].notna().sum()


@pytest.mark.parametrize("file_format, sep", [("csv", ","), ("tsv", "\t")])
def test_text_files(tmp_path, file_format, sep):
    out = make_transactions(500, path=tmp_path / "shop", n_partitions=2, missing=0.05, mixed_ids=0.1,
                            file_format=file_format)
    assert sorted(os.listdir(out.transactions)) == [f"part-0000{i}.{file_format}" for i in range(2)]
    frame = pd.concat([pd.read_csv(os.path.join(out.transactions, f), sep=sep, dtype=str)
                       for f in sorted(os.listdir(out.transactions))])
    assert list(frame.columns) == ["customer_id", "order_id", "timestamp", "quantity", "revenue"]
    assert frame["revenue"].isna().any() and frame["customer_id"].str.startswith("C").any()
    assert pd.read_parquet(out.customers)["customer_id"].dtype == "str"


@pytest.mark.parametrize("option", ["blur", "refunds", "duplicates", "missing", "mixed_ids"])
def test_shares_outside_zero_to_one_are_named(option):
    with pytest.raises(ValueError, match=f"{option} must be a number in \\[0, 1\\]; got 1.5"):
        make_transactions(10, **{option: 1.5})
    with pytest.raises(ValueError, match="file_format must be one of"):
        make_transactions(10, file_format="xlsx")
