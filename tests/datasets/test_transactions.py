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
