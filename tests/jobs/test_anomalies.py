"""The anomaly job end to end on generated flows."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecluster.datasets import make_flows
from scalecluster.jobs import detect_anomalies, report, severity_of

from .conftest import N_FLOWS


@pytest.fixture(scope="module")
def in_memory(flows, tmp_path_factory):
    out = tmp_path_factory.mktemp("anomalies") / "out"
    return detect_anomalies(flows, out=out, verbose=False)


def test_finds_the_injected_anomalies(in_memory):
    result = in_memory
    assert result.metrics["f1"] >= 0.8, result.metrics
    assert result.metrics["true_anomalies"] == N_FLOWS // 100
    alerts = result.alerts
    assert list(alerts["rank"]) == list(range(1, len(alerts) + 1))
    assert alerts["distance"].is_monotonic_decreasing
    assert (alerts["score"] > 1).all()  # an alert is farther than eps from every core point of normal traffic
    np.testing.assert_allclose(alerts["distance"], alerts["score"] * result.eps)
    assert set(alerts["severity"]) <= {"critical", "high", "medium", "low"}
    assert (alerts["severity"].to_numpy() == severity_of(alerts["score"])).all()
    top = alerts.head(len(alerts) // 2)
    assert (top["label"] != "normal").mean() > 0.95  # the most severe alerts are real anomalies
    assert result.eps_reason.startswith("knee")


def test_outputs_are_complete(in_memory, flows):
    result = in_memory
    out = result.paths["out"]
    assert {"labels", "alerts.csv", "groups.csv", "model", "summary.json", "report.md", "report.html",
            "k_distance.png", "alerts.png"} <= set(os.listdir(out))
    labels = pd.read_parquet(result.paths["labels"])
    assert len(labels) == N_FLOWS and list(labels.columns) == ["row", "cluster", "score"]
    assert (labels["row"].to_numpy() == np.arange(N_FLOWS)).all()
    assert set(labels.loc[labels["score"] > 1, "row"]) == set(result.alerts["row"])
    assert (labels["score"] >= 0).all() and (labels.loc[labels["cluster"] >= 0, "score"] <= 1).all()
    alerts = pd.read_csv(result.paths["alerts"])
    assert len(alerts) == len(result.alerts)
    flows_frame = pd.read_parquet(flows)
    first = alerts.iloc[0]
    assert flows_frame.loc[first["row"], "src_ip"] == first["src_ip"]  # rows point back into the input
    markdown = Path(result.paths["report_md"]).read_text(encoding="utf-8")
    assert "F1" in markdown and "critical" in markdown


def test_dask_on_a_local_cluster_gives_the_same_alerts(in_memory, flows, client):
    result = detect_anomalies(flows, client=client, verbose=False)
    # The same fit sample and model; Dask's means differ from pandas' in the last bits only.
    assert result.eps == pytest.approx(in_memory.eps, rel=1e-12)
    assert set(result.alerts["row"]) == set(in_memory.alerts["row"])
    assert result.metrics == in_memory.metrics
    pd.testing.assert_series_equal(result.alerts["distance"], in_memory.alerts["distance"], rtol=1e-9)
    labels = result.labels.compute().sort_index()
    assert (labels["cluster"].to_numpy() == in_memory.labels["cluster"].to_numpy()).all()
    np.testing.assert_allclose(labels["score"], in_memory.labels["score"], rtol=1e-9)


def test_given_eps_and_own_feature_columns(flows):
    frame = pd.read_parquet(flows)
    result = detect_anomalies(frame, features=["bytes_out", "bytes_in", "packets_out", "packets_in"], eps=0.3,
                              min_samples=10, verbose=False)
    assert result.eps == 0.3 and result.eps_reason == "given"
    assert result.features == ["bytes_out", "bytes_in", "packets_out", "packets_in"]
    assert result.n_flows == N_FLOWS
    assert result.metrics is not None


def test_a_failure_midway_leaves_no_output(flows, tmp_path, monkeypatch):
    def broken(result, folder, **kwargs):
        raise RuntimeError("plotting crashed")

    monkeypatch.setattr(report, "anomaly_report", broken)
    with pytest.raises(RuntimeError, match="plotting crashed"):
        detect_anomalies(flows, eps=0.2, out=tmp_path / "out", verbose=False)
    assert os.listdir(tmp_path) == []


def test_user_errors(flows):
    with pytest.raises(KeyError, match=r"'bytes' \(bytes_out=\) not found in '.*data'; available columns: \["):
        detect_anomalies(flows, columns={"bytes_out": "bytes"}, verbose=False)
    with pytest.raises(ValueError, match=r"Column 'protocol' \(features=\) holds 'tcp' in '.*', which is not a number"):
        detect_anomalies(flows, features=["protocol"], verbose=False)
    with pytest.raises(ValueError, match="eps must be 'auto' or a positive number"):
        detect_anomalies(flows, eps=-1.0, verbose=False)
    with pytest.raises(KeyError, match=r"'attack' \(label=\) not found"):  # a label column named is required
        detect_anomalies(flows, label="attack", verbose=False)
    with pytest.raises(ValueError, match=r"No row of the label column 'label' \(label=\) has the value 'benign' "
                                         r"\(normal=\).*its values include 'normal', "):
        detect_anomalies(flows, normal="benign", eps=0.3, verbose=False)


def test_severity_levels():
    assert list(severity_of([1.1, 2.0, 4.9, 5.0, 19.9, 20.0, np.inf])) == [
        "low", "medium", "medium", "high", "high", "critical", "critical"]


def test_the_default_generator_is_found_with_f1_above_0_9(in_memory):
    assert in_memory.metrics["f1"] >= 0.9, in_memory.metrics
    assert in_memory.n_alerts == in_memory.metrics["alerts"]


def test_the_hard_generator_is_found_and_its_scans_are_suspicious_groups():
    # Real captures: 40 % of the flows are scans from six hosts that fan out, and long interactive sessions.
    flows = make_flows(20_000, hard=True, random_state=0).flows
    result = detect_anomalies(flows, plots=False, verbose=False)
    assert result.metrics["true_anomalies"] == 8_000
    assert result.metrics["f1"] >= 0.9, result.metrics
    groups = result.suspicious_groups
    assert len(groups) >= 1 and not groups["normal"].any()
    assert groups["why"].str.contains("fan-out|no replies").any(), groups[["flows", "why"]]
    # The groups are scans: their flows are mostly labelled scan, and every one of them is an alert.
    scored = result.labels.join(flows["label"])
    in_groups = scored[scored["cluster"].isin(groups.index)]
    assert (in_groups["label"] == "scan").mean() > 0.95
    assert (in_groups["score"] > 1).all()
    assert f"{len(groups)} suspicious groups" in result.summary()
    assert any(f"group {number}:" in result.summary() for number in groups.index)


def test_rows_without_a_label_count_neither_way(flows):
    frame = pd.read_parquet(flows)
    blanked = frame.copy()
    normal_rows = np.flatnonzero(frame["label"].to_numpy() == "normal")[:3_000]
    blanked.loc[normal_rows, "label"] = None
    full = detect_anomalies(frame, eps=0.3, verbose=False, plots=False).metrics
    partial = detect_anomalies(blanked, eps=0.3, verbose=False, plots=False)
    m = partial.metrics
    assert m["unlabelled"] == 3_000 and m["true_anomalies"] == full["true_anomalies"]
    assert m["recall"] == full["recall"] and m["true_positives"] == full["true_positives"]
    assert any("3,000 rows have no value in the label column 'label'" in note for note in partial.notes)


def test_one_feature_and_one_flow_still_plot(flows, tmp_path):
    frame = pd.read_parquet(flows)
    one = detect_anomalies(frame, features=["bytes_out"], out=tmp_path / "one", verbose=False)
    assert (tmp_path / "one" / "alerts.png").exists() and one.n_flows == N_FLOWS
    from scalecluster.jobs import apply_anomaly_model

    single = apply_anomaly_model(tmp_path / "one", frame.head(1), out=tmp_path / "single", verbose=False)
    assert single.n_flows == 1 and (tmp_path / "single" / "alerts.png").exists()


def test_a_small_campaign_of_identical_scans_is_a_suspicious_group(flows):
    """The issue's alert flood: 100 identical port scans formed their own "normal" cluster, unmentioned."""
    frame = pd.read_parquet(flows)
    scan = pd.DataFrame({
        "timestamp": frame["timestamp"].iloc[500] + pd.to_timedelta(np.arange(100), "ms"), "src_ip": "203.0.113.7",
        "dst_ip": "10.0.0.5", "src_port": 40_000, "dst_port": np.arange(1, 101), "protocol": "tcp", "bytes_out": 60,
        "bytes_in": 0, "packets_out": 1, "packets_in": 0, "duration": 0.0, "label": "campaign"})
    mixed = pd.concat([frame, scan], ignore_index=True)
    result = detect_anomalies(mixed, verbose=False, plots=False)
    groups = result.suspicious_groups
    campaign = groups[groups["hosts"].str.contains("203.0.113.7 (100)", regex=False)]  # (a generated scan may join)
    assert len(campaign) == 1 and {"small", "no replies"} <= set(campaign["why"].iloc[0].split(", "))
    assert 100 <= campaign["flows"].iloc[0] <= 110
    assert (result.alerts["label"] == "campaign").sum() == 100  # every flow of it is an alert
    assert f"group {campaign.index[0]}: {campaign['flows'].iloc[0]:,} flows (small, no replies" in result.summary()
    assert result.metrics["precision"] > 0.8
