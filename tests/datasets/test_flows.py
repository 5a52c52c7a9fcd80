"""make_flows: schema, exact anomaly counts, determinism, separable anomalies."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import DBSCAN
from sklearn.metrics import f1_score

from scalecluster.datasets import ANOMALIES, make_flows
from scalecluster.features import log1p, scale, traffic_features
from scalecluster.metrics import suggest_eps


@pytest.fixture(scope="module")
def flows():
    return make_flows(20_000, random_state=3).flows


def test_schema(flows):
    expected = {
        "timestamp": "datetime64[us]",
        "src_ip": "str",
        "dst_ip": "str",
        "src_port": "int64",
        "dst_port": "int64",
        "protocol": "str",
        "bytes_out": "int64",
        "bytes_in": "int64",
        "packets_out": "int64",
        "packets_in": "int64",
        "duration": "float64",
        "label": "str",
    }
    assert flows.dtypes.astype(str).to_dict() == expected
    assert flows["timestamp"].is_monotonic_increasing
    assert flows["timestamp"].iloc[0] >= pd.Timestamp("2025-01-01")
    assert flows["timestamp"].iloc[-1] < pd.Timestamp("2025-01-02")
    assert flows["src_ip"].str.fullmatch(r"\d+\.\d+\.\d+\.\d+").all()
    assert set(flows["protocol"]) <= {"tcp", "udp"}
    assert flows["dst_port"].between(1, 65535).all()
    numbers = flows[["bytes_out", "bytes_in", "packets_out", "packets_in", "duration"]]
    assert (numbers >= 0).all().all()


@pytest.mark.parametrize(
    ("n", "fraction"), [(20_000, 0.01), (12_345, 0.03), (5000, 0.0)]
)
def test_anomaly_fraction_is_exact(n, fraction):
    labels = make_flows(n, anomaly_fraction=fraction).flows["label"]
    assert (labels != "normal").sum() == int(np.floor(n * fraction + 1e-9))


def test_anomaly_types_look_like_their_names(flows):
    by = flows.groupby("label")
    assert set(by.groups) == {"normal", *ANOMALIES}
    exfil = flows[flows["label"] == "exfiltration"]
    assert (exfil["bytes_out"] > 1e8).all() and (exfil["duration"] > 1000).all()
    assert (exfil["bytes_out"] > 10 * exfil["bytes_in"]).all()
    scan = flows[flows["label"] == "scan"]
    assert (scan["packets_out"] + scan["packets_in"] <= 4).all()
    assert scan["dst_port"].nunique() > 0.9 * len(scan)  # many ports
    burst = flows[flows["label"] == "burst"]
    rate = (burst["packets_out"] + burst["packets_in"]) / burst["duration"]
    normal = flows[flows["label"] == "normal"]
    normal_rate = (normal["packets_out"] + normal["packets_in"]) / normal[
        "duration"
    ].clip(lower=1e-3)
    assert rate.min() > normal_rate.quantile(0.99)


def test_anomaly_mix():
    labels = make_flows(10_000, anomaly_fraction=0.02, anomaly_mix={"scan": 1.0}).flows[
        "label"
    ]
    assert labels.value_counts().to_dict() == {"normal": 9800, "scan": 200}
    with pytest.raises(ValueError, match="anomaly_mix"):
        make_flows(100, anomaly_mix={"ddos": 1.0})
    with pytest.raises(ValueError, match="anomaly_fraction"):
        make_flows(100, anomaly_fraction=0.9)


def test_deterministic_and_partitioned_output_equals_in_memory(tmp_path, flows):
    pd.testing.assert_frame_equal(make_flows(20_000, random_state=3).flows, flows)
    assert (
        not make_flows(20_000, random_state=4)
        .flows["bytes_in"]
        .equals(flows["bytes_in"])
    )
    out = make_flows(
        20_000, random_state=3, path=tmp_path / "flows", n_partitions=3
    ).flows
    assert sorted(os.listdir(out)) == ["_generator.json"] + [
        f"part-{i:05d}.parquet" for i in range(3)
    ]
    pd.testing.assert_frame_equal(pd.read_parquet(out), flows)
    with pytest.raises(FileExistsError):
        make_flows(10, path=out)


def test_dbscan_on_traffic_features_flags_the_anomalies():
    # The anomaly job's recipe, with scikit-learn's DBSCAN standing in for ours.
    min_samples = 10
    for seed in (0, 1):
        flows = make_flows(8000, random_state=seed).flows
        features, _ = traffic_features(flows)
        X, _ = scale(log1p(features))
        eps = suggest_eps(X.to_numpy(), min_samples, random_state=seed).eps
        noise = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(X.to_numpy()) == -1
        assert f1_score(flows["label"] != "normal", noise) >= 0.8
