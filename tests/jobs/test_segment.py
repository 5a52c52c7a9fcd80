"""The segmentation job end to end on generated transactions."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from scalecluster.jobs import action_of, choose_k, report, segment

from .conftest import N_CUSTOMERS

#: Generated behaviour -> the name its segment should get.
EXPECTED_NAMES = {"champions": "Champions", "loyal": "Loyal", "new": "New", "at_risk": "At Risk", "lost": "Lost"}


@pytest.fixture(scope="module")
def in_memory(transactions, tmp_path_factory):
    path, _ = transactions
    out = tmp_path_factory.mktemp("segment") / "out"
    return segment(path, order="order_id", out=out, sample_size=2_000, verbose=False)


def test_recovers_and_names_the_generated_behaviours(in_memory, transactions):
    _, truth = transactions
    result = in_memory
    assert result.k == 5
    labels = result.labels
    ari = adjusted_rand_score(truth.loc[labels.index], labels)
    assert ari >= 0.8, ari
    table = pd.crosstab(truth.loc[labels.index].to_numpy(), labels.map(result.names).to_numpy())
    for behaviour, name in EXPECTED_NAMES.items():
        assert table.loc[behaviour].idxmax() == name  # most of these customers are in the segment so named
    assert sorted(result.names.values()) == sorted(EXPECTED_NAMES.values())
    assert list(result.sweep["k"]) == list(range(3, 9))  # the default search: a range a business can use
    assert "stab" in result.k_reason and "silhouette" in result.k_reason
    assert result.sweep.set_index("k").loc[5, "stability"] >= 0.99
    assert set(result.profile["action"]) == {action_of(name) for name in EXPECTED_NAMES.values()}


def test_outputs_are_complete(in_memory):
    result = in_memory
    out = result.paths["out"]
    expected = {"labels", "profile.csv", "sweep.csv", "summary.json", "report.md", "report.html",
                "k_sweep.png", "pca.png", "profile_heatmap.png", "quality.csv", "model", "run.log"}
    assert expected <= set(os.listdir(out))
    assert not [f for f in os.listdir(os.path.dirname(out)) if f.endswith(".tmp")]
    labels = pd.read_parquet(result.paths["labels"])
    assert len(labels) == N_CUSTOMERS == result.n_customers
    assert labels["customer_id"].is_unique
    assert list(labels.columns) == ["customer_id", "segment", "segment_name", "recency", "frequency", "monetary",
                                    "outlier"]
    profile = pd.read_csv(result.paths["profile"], index_col="segment")
    assert len(profile) == result.k
    assert profile["customers"].sum() == N_CUSTOMERS
    assert profile["share"].sum() == pytest.approx(1.0)
    assert profile["revenue_share"].sum() == pytest.approx(1.0)
    markdown = Path(result.paths["report_md"]).read_text(encoding="utf-8")
    page = Path(result.paths["report_html"]).read_text(encoding="utf-8")
    for name in result.names.values():
        assert name in markdown and name in page
    assert "k_sweep.png" in markdown


def test_dask_on_a_local_cluster_gives_the_same_segments(in_memory, transactions, client):
    path, _ = transactions
    result = segment(path, order="order_id", k="auto", sample_size=2_000, client=client, verbose=False)
    assert result.k == in_memory.k
    labels = result.labels.compute()
    expected = in_memory.labels
    assert adjusted_rand_score(expected.loc[labels.index], labels) == pytest.approx(1.0)
    assert (expected.loc[labels.index] == labels).all()  # segments are numbered the same way
    assert result.names == in_memory.names
    pd.testing.assert_series_equal(result.profile["customers"], in_memory.profile["customers"])


def test_csv_input_with_date_strings(transactions, tmp_path):
    path, _ = transactions
    frame = pd.read_parquet(path)
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    frame.to_csv(tmp_path / "tx.csv", index=False)
    result = segment(str(tmp_path / "tx.csv"), order="order_id", k=5, verbose=False)
    assert result.n_customers == N_CUSTOMERS
    assert "Champions" in result.names.values()


def test_a_failure_midway_leaves_no_output(transactions, tmp_path, monkeypatch):
    path, _ = transactions

    def broken(result, folder, **kwargs):
        Path(folder, "report.md").write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "segment_report", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="disk full"):
        segment(path, order="order_id", k=5, out=out, verbose=False)
    assert os.listdir(tmp_path) == []  # neither the output nor its temporary folder


def test_existing_output_is_refused_unless_overwritten(transactions, tmp_path):
    path, _ = transactions
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FileExistsError, match="exists"):
        segment(path, k=5, out=out, verbose=False)
    result = segment(path, k=5, out=out, overwrite=True, plots=False, verbose=False)
    assert os.path.exists(result.paths["profile"])


def test_without_matplotlib_plots_are_skipped(transactions, tmp_path, monkeypatch):
    path, _ = transactions
    monkeypatch.setattr(report, "_pyplot", lambda: None)
    result = segment(path, k=4, out=tmp_path / "out", verbose=False)
    assert not [f for f in os.listdir(result.paths["out"]) if f.endswith(".png")]
    assert "Plots skipped" in Path(result.paths["report_md"]).read_text(encoding="utf-8")
    assert result.k_reason == "given" and len(result.profile) == 4


def test_user_errors(transactions):
    path, _ = transactions
    with pytest.raises(KeyError, match=r"'spend' \(amount=\) not found in '.*'; available columns: \['customer_id'"):
        segment(path, amount="spend", verbose=False)
    with pytest.raises(TypeError, match=r"'timestamp' \(amount=\) must be numeric"):
        segment(path, amount="timestamp", verbose=False)
    with pytest.raises(TypeError, match=r"'quantity' \(timestamp=\) must hold dates"):
        segment(path, timestamp="quantity", verbose=False)
    with pytest.raises(ValueError, match="reference_date must be a date"):
        segment(path, reference_date="someday", verbose=False)
    with pytest.raises(ValueError, match="k must be 'auto' or a positive integer"):
        segment(path, k=0, verbose=False)


def test_choose_k_takes_the_best_separated_stable_k():
    table = pd.DataFrame({"k": [3, 4, 5, 6], "stability": [0.99, 0.95, 0.80, 0.97],
                          "silhouette": [0.40, 0.45, 0.50, 0.42]})
    k, reason = choose_k(table)
    assert k == 4  # 5 separates best but is not stable
    assert "stab" in reason and "0.450" in reason
    table["stability"] = [0.5, 0.6, 0.7, 0.65]  # none stable: the most stable, said so
    k, reason = choose_k(table)
    assert k == 5 and reason.startswith("no k was stable")
    with pytest.raises(ValueError, match="stability"):
        choose_k(table.drop(columns="stability"))
