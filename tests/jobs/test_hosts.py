"""Per-host scoring on the harder generator: scanners stand out per host (and per window); --top cuts the lists."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecluster.datasets import make_flows
from scalecluster.datasets._blocks import check_seed
from scalecluster.datasets._flows import HARD_SCANNERS, _pools
from scalecluster.jobs import apply_anomaly_model, detect_anomalies, load_model
from scalecluster.jobs._alerts import check_top
from scalecluster.jobs._hosts import HOST_FEATURES, HostSpec, host_table
from scalecluster.jobs._run import Steps

N_HARD = 30_000
ROLES = {r: r for r in ("bytes_out", "bytes_in", "packets_out", "packets_in", "duration")}


@pytest.fixture(scope="module")
def hard():
    return make_flows(N_HARD, hard=True, random_state=0).flows


@pytest.fixture(scope="module")
def scanners(hard):
    """The generator's scanning hosts: those whose flows are labelled scan."""
    found = set(hard.loc[hard["label"] == "scan", "src_ip"])
    assert len(found) == HARD_SCANNERS and found == set(_pools(check_seed(0))["hard_scanners"])
    return found


@pytest.fixture(scope="module")
def by_host(hard, tmp_path_factory):
    out = tmp_path_factory.mktemp("hosts") / "by-host"
    return detect_anomalies(hard, host="src_ip", out=out, plots=False, verbose=False)


def _top_share(table: pd.DataFrame, share: float = 0.01) -> pd.DataFrame:
    return table.head(math.ceil(share * len(table)))


def test_the_scanning_hosts_top_the_host_ranking(by_host, hard, scanners):
    hosts = pd.read_csv(by_host.paths["hosts"])
    assert list(hosts.columns) == ["src_ip", "score", "cluster", *HOST_FEATURES, "anomalous_flows"]
    assert len(hosts) == by_host.n_hosts == hard["src_ip"].nunique()
    assert hosts["score"].is_monotonic_decreasing
    assert hosts["flows"].sum() == N_HARD
    top = _top_share(hosts)
    assert scanners <= set(top["src_ip"]), (sorted(scanners - set(top["src_ip"])), top.head(10))
    assert (hosts.loc[hosts["src_ip"].isin(scanners), "score"] > 1).all()
    # The aggregates are right for a scanner: many ports, counted from the flows.
    one = min(scanners)
    flows = hard[hard["src_ip"] == one]
    row = hosts.set_index("src_ip").loc[one]
    assert row["flows"] == len(flows) and row["ports"] == flows["dst_port"].nunique()
    assert row["destinations"] == flows["dst_ip"].nunique()
    assert row["no_reply"] == pytest.approx((flows["bytes_in"] == 0).mean())
    assert row["anomalous_flows"] == (flows["label"] != "normal").sum()
    summary = json.loads(Path(by_host.paths["summary"]).read_text(encoding="utf-8"))
    assert summary["hosts"] == {"rows": by_host.n_hosts, "kept": by_host.n_hosts}


def test_windows_give_one_row_per_host_and_window_under_the_input_names(hard, scanners, tmp_path):
    renamed = hard.rename(columns={"src_ip": "client", "dst_ip": "server", "dst_port": "service"})
    result = detect_anomalies(renamed, host="client", window="1h", columns={"destination": "server", "port": "service"},
                              out=tmp_path / "windows", plots=False, verbose=False)
    hosts = pd.read_csv(tmp_path / "windows" / "hosts.csv", parse_dates=["window"])
    assert list(hosts.columns[:4]) == ["client", "window", "score", "cluster"]
    assert "host" not in hosts.columns and "src_ip" not in hosts.columns
    assert not hosts.duplicated(["client", "window"]).any()
    assert (hosts["window"] == hosts["window"].dt.floor("h")).all()
    assert hosts["window"].nunique() == 24 and hosts["flows"].sum() == N_HARD
    expected = renamed.groupby(["client", renamed["timestamp"].dt.floor("h")]).size()
    assert len(hosts) == len(expected) == result.n_hosts
    # Every window of a scanner ranks above every other host's window.
    is_scanner = hosts["client"].isin(scanners)
    assert hosts.loc[is_scanner, "score"].min() > hosts.loc[~is_scanner, "score"].max()
    assert _top_share(hosts)["client"].isin(scanners).all()
    document = json.loads((tmp_path / "windows" / "model" / "model.json").read_text(encoding="utf-8"))
    assert document["hosts"]["host"] == "client" and document["hosts"]["window_seconds"] == 3600
    assert document["hosts"]["destination"] == "server" and document["hosts"]["port"] == "service"


def _spec(window: int | None = None) -> HostSpec:
    return HostSpec(host="src_ip", destination="dst_ip", port="dst_port", roles=ROLES, time_column="timestamp",
                    window=window, label="label", normal="normal")


@pytest.mark.parametrize("window", [None, 3600])
def test_host_table_on_dask_equals_in_memory(hard, client, window):
    dd = pytest.importorskip("dask.dataframe")
    steps = Steps("test", verbose=False)
    flows = hard.copy()
    flows.loc[[5, 17], "src_ip"] = None  # flows without a host are left out and counted
    flows.loc[[40], "bytes_in"] = -1
    expected, left_out = host_table(flows, _spec(window), lazy=False, client=None, steps=steps)
    assert left_out == 3
    assert list(expected.columns) == [*HOST_FEATURES, "anomalous_flows"]
    assert expected.index.names == (["host", "window"] if window else ["host"])
    assert expected.index.is_monotonic_increasing and expected["flows"].sum() == N_HARD - 3
    on_dask, left_out = host_table(dd.from_pandas(flows, npartitions=6), _spec(window), lazy=True, client=client,
                                   steps=steps)
    assert left_out == 3
    pd.testing.assert_frame_equal(on_dask, expected, check_exact=False, rtol=1e-12)


def test_a_host_model_scores_the_training_hosts_exactly(by_host, hard, tmp_path):
    folder = Path(by_host.paths["out"], "model")
    assert sorted(os.listdir(folder)) == ["core.npz", "hosts_core.npz", "model.json"]
    model = load_model(folder)
    assert model.hosts is not None and model.hosts.host == "src_ip" and model.hosts.window is None
    applied = apply_anomaly_model(model, hard, out=tmp_path / "applied", plots=False, verbose=False)
    # The same hosts, scores, clusters and labelled-flow counts, to the last bit.
    pd.testing.assert_frame_equal(applied.hosts, by_host.hosts, check_exact=True)
    assert applied.n_hosts == by_host.n_hosts
    assert (tmp_path / "applied" / "hosts.csv").exists()
    # The host column renamed in the new data: columns= names it, and the hosts are scored the same.
    renamed = apply_anomaly_model(model, hard.rename(columns={"src_ip": "srcaddr"}), columns={"source": "srcaddr"},
                                  verbose=False)
    assert renamed.hosts is not None and renamed.hosts.columns[0] == "srcaddr"
    np.testing.assert_array_equal(renamed.hosts["score"], by_host.hosts["score"])
    # New flows without the host column: flows are scored, hosts are not (and the notes say why).
    without = apply_anomaly_model(model, hard.drop(columns="src_ip"), verbose=False)
    assert without.hosts is None and any("hosts not scored" in n for n in without.notes)


def test_top_cuts_alerts_and_hosts_and_says_how_many(by_host, hard, tmp_path):
    out = tmp_path / "top"
    result = detect_anomalies(hard, host="src_ip", top=25, out=out, plots=False, verbose=False)
    assert result.n_alerts == by_host.n_alerts > 25 and len(result.alerts) == 25
    assert list(result.alerts["row"]) == list(by_host.alerts["row"].head(25))
    assert list(result.alerts["rank"]) == list(range(1, 26))
    assert result.metrics == by_host.metrics  # of all alerts, not of those kept
    assert len(result.hosts) == 25 and result.n_hosts == by_host.n_hosts
    assert list(result.hosts["src_ip"]) == list(by_host.hosts["src_ip"].head(25))
    assert len(pd.read_csv(out / "alerts.csv")) == 25 and len(pd.read_csv(out / "hosts.csv")) == 25
    assert len(pd.read_parquet(out / "labels")) == N_HARD  # every flow keeps its score
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["alerts"] == by_host.n_alerts and summary["alerts_kept"] == 25 and summary["top"] == 25
    assert summary["hosts"] == {"rows": by_host.n_hosts, "kept": 25}
    assert sum(summary["severity"].values()) == 25
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"{by_host.n_alerts - 25:,} lower-scored alerts were cut" in report
    assert f"({by_host.n_hosts - 25:,} cut by the budget)" in report
    assert f"{by_host.n_alerts:,} alerts (the top 25 kept)" in result.summary()
    # top larger than the alerts: nothing cut, nothing said.
    everything = detect_anomalies(hard.head(5_000), top=10**6, plots=False, verbose=False)
    assert len(everything.alerts) == everything.n_alerts and "kept" not in everything.summary().splitlines()[0]


@pytest.mark.parametrize("top", [0, -3, True, 2.5, "10"])
def test_top_must_be_a_positive_integer(top):
    with pytest.raises(ValueError, match="top must be a positive integer"):
        check_top(top)
    with pytest.raises(ValueError, match="top must be a positive integer"):
        detect_anomalies(pd.DataFrame({"x": [1.0]}), top=top, verbose=False)


def test_host_options_that_cannot_work_are_refused(hard):
    small = hard.head(2_000)
    with pytest.raises(ValueError, match="window= needs host="):
        detect_anomalies(small, window="1h", verbose=False)
    with pytest.raises(ValueError, match="window must be a length of time"):
        detect_anomalies(small, host="src_ip", window="hourly", verbose=False)
    with pytest.raises(KeyError, match=r"Column 'src' \(host=\) not found.*Did you mean 'src_ip'"):
        detect_anomalies(small, host="src", verbose=False)
    with pytest.raises(ValueError, match="host= aggregates bytes, packets and durations per host"):
        detect_anomalies(small, host="src_ip", features=["bytes_out", "bytes_in"], eps=0.3, verbose=False)
    with pytest.raises(ValueError, match="window= needs the flows' times"):
        detect_anomalies(small.drop(columns="timestamp"), host="src_ip", window="1h", verbose=False)
    epoch = small.assign(timestamp=small["timestamp"].astype("int64") // 10**6)  # epoch seconds, as NetFlow has
    with pytest.raises(ValueError, match=r"window= needs dates, but the time column 'timestamp' \(timestamp=\) holds "
                                         r"numbers; if they are epoch times, give their unit with time_unit="):
        detect_anomalies(epoch, host="src_ip", window="1h", verbose=False)
    with pytest.raises(ValueError, match="time_unit must be one of s, ms, us, ns"):
        detect_anomalies(epoch, host="src_ip", window="1h", time_unit="seconds", verbose=False)


def test_epoch_times_are_read_with_their_unit(hard, tmp_path):
    """NetFlow and Zeek write times as numbers since 1970: time_unit= reads them (text of numbers too, as CSV)."""
    small = hard.head(5_000)
    dated = detect_anomalies(small, host="src_ip", window="1h", verbose=False, plots=False)
    for unit, scale in (("s", 10**6), ("ms", 10**3)):
        epoch = small.assign(timestamp=small["timestamp"].astype("int64") // scale)
        if unit == "ms":
            epoch = epoch.astype({"timestamp": str})
        read = detect_anomalies(epoch, host="src_ip", window="1h", time_unit=unit, out=tmp_path / unit,
                                verbose=False, plots=False)
        assert len(read.hosts) == len(dated.hosts)
        np.testing.assert_array_equal(read.hosts["score"], dated.hosts["score"])
        assert (read.info["first"], read.info["last"]) == (dated.info["first"] + " UTC", dated.info["last"] + " UTC")
    assert check_top(None) is None and check_top(np.int64(3)) == 3


def test_day_first_text_dates_stop_the_job_or_are_read_with_dayfirst(hard):
    """Guessed value by value, 03/04 and 13/04 would mean two orders in one column: the job asks instead."""
    import dask.dataframe as dd

    small = hard.head(3_000)
    later = small.assign(timestamp=small["timestamp"] + pd.Timedelta(days=20))  # 21/01/2025: a day above 12
    text = later.assign(timestamp=later["timestamp"].dt.strftime("%d/%m/%Y %H:%M:%S"))
    for data in (text, dd.from_pandas(text, npartitions=3)):
        with pytest.raises(ValueError, match=r"Column 'timestamp' \(timestamp=\) holds day-first dates: .* like "
                                             r"'21/01/2025 .*Pass dayfirst=True"):
            detect_anomalies(data, host="src_ip", window="1h", verbose=False, plots=False)
    read = detect_anomalies(text, host="src_ip", window="1h", dayfirst=True, verbose=False, plots=False)
    dated = detect_anomalies(later, host="src_ip", window="1h", verbose=False, plots=False)
    np.testing.assert_array_equal(read.hosts["score"], dated.hosts["score"])
    assert (read.hosts["window"].dt.tz_localize(None) == dated.hosts["window"]).all()
    with pytest.raises(ValueError, match="holds month-first dates"):
        month_first = later.assign(timestamp=later["timestamp"].dt.strftime("%m/%d/%Y %H:%M"))
        detect_anomalies(month_first, host="src_ip", window="1h", dayfirst=True, verbose=False, plots=False)
