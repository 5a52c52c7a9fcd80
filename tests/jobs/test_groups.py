"""Suspicious groups: clusters that are not normal traffic because they are small, get no replies or fan out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalecluster.jobs._groups import (
    FAN_OUT_PORTS,
    GROUP_RULE,
    NO_REPLY_SHARE,
    SMALL_GROUP_SHARE,
    flow_groups,
    host_groups,
    top_hosts,
)


def _cluster(n: int, *, packets: float = 20.0, no_reply: float = 0.0, sources: int = 10, ports: int = 2,
             start: int = 0) -> pd.DataFrame:
    """``n`` flows of one cluster: ``sources`` hosts, each using ``ports`` destination ports."""
    i = np.arange(n)
    return pd.DataFrame({
        "total_bytes": np.full(n, packets * 100.0), "total_packets": np.full(n, packets),
        "duration": np.full(n, 0.5), "no_reply": i < round(n * no_reply),
        "source": [f"10.0.0.{start + s}" for s in i % sources],
        "port": (1000 + (i // sources) % ports).astype(str),
    })


def _groups(*clusters: pd.DataFrame, noise: int = 0) -> pd.DataFrame:
    parts = list(clusters)
    labels = [np.full(len(c), k) for k, c in enumerate(clusters)]
    if noise:
        parts.append(_cluster(noise, sources=noise, start=200))
        labels.append(np.full(noise, -1))
    sample = pd.concat(parts, ignore_index=True)
    return flow_groups(sample, np.concatenate(labels), source="source", port="port")


def test_normal_traffic_is_not_a_group():
    groups = _groups(_cluster(600), _cluster(400, packets=5, sources=20, start=50))
    assert list(groups.index) == [0, 1] and groups.index.name == "cluster"
    assert groups["normal"].all() and (groups["why"] == "").all()
    assert list(groups["sample_flows"]) == [600, 400]
    assert groups.loc[0, "sample_share"] == pytest.approx(0.6)
    assert groups.loc[0, "median_packets"] == 20 and groups.loc[0, "ports_per_source"] == 2
    assert "median 20 packets" in groups.loc[0, "profile"] and "tiny flows" not in groups.loc[0, "profile"]


def test_a_small_cluster_is_a_group():
    groups = _groups(_cluster(995), _cluster(5, start=100))
    assert groups.loc[1, "why"] == "small" and not groups.loc[1, "normal"]
    assert groups.loc[0, "normal"]
    # Exactly the share is not small; noise rows count in the sample's size.
    at_limit = _groups(_cluster(990), _cluster(10, start=100))
    assert SMALL_GROUP_SHARE == 0.01 and at_limit["normal"].all()
    with_noise = _groups(_cluster(980), _cluster(10, start=100), noise=20)
    assert with_noise.loc[1, "why"] == "small" and len(with_noise) == 2  # 10 of 1010 rows


def test_a_cluster_without_replies_is_a_group():
    groups = _groups(_cluster(700), _cluster(300, packets=2, no_reply=0.9, start=100))
    assert groups.loc[1, "why"] == "no replies" and not groups.loc[1, "normal"]
    assert groups.loc[1, "no_reply_share"] == pytest.approx(0.9)
    assert "tiny flows" in groups.loc[1, "profile"] and "90% without a reply" in groups.loc[1, "profile"]
    at_limit = _groups(_cluster(700), _cluster(300, no_reply=NO_REPLY_SHARE, start=100))
    assert at_limit.loc[1, "why"] == "no replies"  # half is enough
    below = _groups(_cluster(700), _cluster(300, no_reply=0.49, start=100))
    assert below["normal"].all()


def test_a_fan_out_cluster_is_a_group():
    groups = _groups(_cluster(700), _cluster(300, sources=2, ports=100, start=100))
    assert groups.loc[1, "why"] == "fan-out" and not groups.loc[1, "normal"]
    assert groups.loc[1, "sources"] == 2 and groups.loc[1, "ports_per_source"] == 100
    assert "2 sources, 100 ports each" in groups.loc[1, "profile"]
    at_limit = _groups(_cluster(700), _cluster(300, sources=3, ports=FAN_OUT_PORTS, start=100))
    assert at_limit.loc[1, "why"] == "fan-out"
    below = _groups(_cluster(700), _cluster(300, sources=3, ports=FAN_OUT_PORTS - 1, start=100))
    assert below["normal"].all()
    # Without the port column (or the source), fan-out cannot be judged.
    sample = pd.concat([_cluster(700), _cluster(300, sources=2, ports=100, start=100)], ignore_index=True)
    labels = np.r_[np.zeros(700), np.ones(300)].astype(int)
    assert flow_groups(sample, labels, source="source")["normal"].all()
    assert flow_groups(sample.drop(columns=["source", "port"]), labels)["normal"].all()


def test_a_scan_is_every_reason_at_once():
    groups = _groups(_cluster(995), _cluster(5, packets=1, no_reply=1.0, sources=1, ports=50, start=100))
    assert groups.loc[1, "why"] == "small, no replies"  # 5 flows reach 5 ports only
    scan = _groups(_cluster(700), _cluster(300, packets=1, no_reply=1.0, sources=1, ports=300, start=100))
    assert scan.loc[1, "why"] == "no replies, fan-out"


def test_no_clusters_and_features_of_ones_own():
    empty = flow_groups(_cluster(10), np.full(10, -1))
    assert len(empty) == 0
    own = pd.DataFrame({"x": np.arange(100.0), "y": np.ones(100)})
    groups = flow_groups(own, np.zeros(100, dtype=int))
    assert groups["normal"].all() and groups.loc[0, "profile"] == ""
    assert "median_bytes" not in groups.columns


def _hosts(n: int, *, flows: float = 10, destinations: float = 3, ports: float = 2,
           no_reply: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"flows": np.full(n, flows), "destinations": np.full(n, destinations),
                         "ports": np.full(n, ports), "no_reply": np.full(n, no_reply)})


def test_host_groups_read_the_hosts_aggregates():
    sample = pd.concat([_hosts(600), _hosts(300, ports=25), _hosts(95, no_reply=0.8), _hosts(5, flows=500)],
                       ignore_index=True)
    labels = np.repeat([0, 1, 2, 3], [600, 300, 95, 5])
    groups = host_groups(sample, labels)
    assert list(groups["why"]) == ["", "fan-out", "no replies", "small"]
    assert list(groups["normal"]) == [True, False, False, False]
    assert groups.loc[1, "median_ports"] == 25
    assert groups.loc[0, "profile"] == "median 10 flows to 3 destinations on 2 ports, 0% without a reply"
    assert len(host_groups(sample, np.full(len(sample), -1))) == 0


def test_top_hosts_names_the_busiest_first():
    counts = pd.Series({"b": 5, "a": 5, "c": 9, "d": 1, "e": 1, "f": 1, "g": 1})
    assert top_hosts(counts, limit=3) == "c (9), a (5), b (5) and 4 more"
    assert top_hosts(pd.Series({"x": 1234})) == "x (1,234)"


def test_the_rule_in_words_matches_the_thresholds():
    assert "1%" in GROUP_RULE and "50%" in GROUP_RULE and "20 or more" in GROUP_RULE
