"""The command line of the anomaly job and of scoring with its model: --by-host, --window, --top, --features,
--columns roles, ``apply MODEL DATA`` with an anomaly model; bad input answered in one line, exit code 2, with
nothing written."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from scalecluster.__main__ import _parser, main
from scalecluster.datasets import make_flows, make_transactions

from .test_cli import _one_line_error, cli, one_line


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(flows folder, anomaly run's --out folder with a host model, segmentation's --out folder, transactions)."""
    from scalecluster.jobs import detect_anomalies, segment

    root = tmp_path_factory.mktemp("cli-anomalies")
    (flows,) = make_flows(4_000, hard=True, path=root / "flows", n_partitions=2)
    detect_anomalies(flows, host="src_ip", out=root / "anomalies", plots=False, verbose=False)
    transactions, _ = make_transactions(300, path=root / "transactions")
    segment(transactions, k=3, out=root / "segments", plots=False, verbose=False)
    return flows, root / "anomalies", root / "segments", transactions


def _refused(*args: str, out) -> str:
    """Run as a user would; exit code 2, one line on stderr, and the --out folder not created."""
    done = cli(*args, "--out", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    assert not out.exists()
    line = one_line(done.stderr)
    assert line.startswith("scalecluster: error: ")
    return line


# --------------------------------------------------------------------------- parsing


def test_features_space_or_comma_separated_are_the_same_list():
    parse = _parser().parse_args
    spaced = parse(["anomalies", "flows/", "--features", "bytes_out", "bytes_in", "duration"]).features
    commas = parse(["anomalies", "flows/", "--features", "bytes_out,bytes_in,duration"]).features
    mixed = parse(["anomalies", "flows/", "--features", "bytes_out,bytes_in", "--features", "duration"]).features
    assert spaced == commas == mixed == ["bytes_out", "bytes_in", "duration"]
    assert parse(["anomalies", "flows/"]).features is None


def test_column_roles_window_and_top_are_parsed():
    args = _parser().parse_args(["anomalies", "flows/", "--columns", "source=client, destination=server,port=svc",
                                 "--by-host", "client", "--window", "15min", "--top", "50"])
    assert args.columns == {"source": "client", "destination": "server", "port": "svc"}
    assert args.by_host == "client" and args.window == 900 and args.top == 50
    applied = _parser().parse_args(["apply", "model/", "new/", "--columns", "bytes_in=bin", "--top", "3",
                                    "--label", "truth", "--normal", "benign"])
    assert applied.columns == {"bytes_in": "bin"} and applied.top == 3
    assert applied.label == "truth" and applied.normal == "benign"


# --------------------------------------------------------------------------- bad input


def test_a_host_column_that_does_not_exist(data, tmp_path):
    flows, *_ = data
    line = _refused("anomalies", flows, "--by-host", "src", out=tmp_path / "o")
    assert "Column 'src' (--by-host) not found in '" in line
    assert "Did you mean 'src_ip'? Name the column with --by-host." in line
    line = _refused("anomalies", flows, "--by-host", "src_ip", "--columns", "port=service",
                            out=tmp_path / "o")
    assert "Column 'service' (--columns port=COLUMN) not found" in line


def test_window_and_top_values_that_cannot_be_used(data, tmp_path):
    flows, *_ = data
    line = _refused("anomalies", flows, "--by-host", "src_ip", "--window", "soon", out=tmp_path / "o")
    assert "argument --window: must be a length of time like 1h, 15min, 30s or 1d" in line and "'soon'" in line
    line = _refused("anomalies", flows, "--by-host", "src_ip", "--window", "0.5s", out=tmp_path / "o")
    assert "argument --window: must be a whole number of seconds, at least 1 s" in line
    for value in ("0", "-5", "many"):
        line = _refused("anomalies", flows, "--top", value, out=tmp_path / "o")
        assert f"argument --top: must be a positive integer; got '{value}'" in line
    line = _refused("apply", str(data[1]), flows, "--top", "0", out=tmp_path / "o")
    assert "argument --top: must be a positive integer" in line


def test_a_window_without_hosts_names_the_flag(data, tmp_path, capsys):
    flows, *_ = data
    out = tmp_path / "o"
    assert main(["anomalies", flows, "--window", "1h", "--out", str(out)]) == 2
    assert "--window needs --by-host" in _one_line_error(capsys)
    assert not out.exists()


def test_apply_with_a_model_it_cannot_use(data, tmp_path):
    flows, anomalies, segments, transactions = data
    out = tmp_path / "o"
    # drift needs a segmentation: an anomaly model is refused at once, naming what to use instead.
    line = _refused("drift", str(anomalies), transactions, out=out)
    assert "is a traffic-anomaly model (from 'scalecluster anomalies'), not a customer segmentation" in line
    assert "use 'scalecluster apply'" in line
    # Segmentation flags with an anomaly model.
    line = _refused("apply", str(anomalies), flows, "--customer", "client", out=out)
    assert "--customer read transactions for a segmentation" in line and "holds an anomaly model" in line
    # Flow flags with a segmentation.
    line = _refused("apply", str(segments), transactions, "--top", "5", "--time-unit", "s", out=out)
    assert "--top, --time-unit read flows for an anomaly model" in line and "holds a customer segmentation" in line
    # A segmentation applied to flows: its columns are not there.
    line = _refused("apply", str(segments), flows, out=out)
    assert "Column 'customer_id' (--customer) not found" in line
    # An anomaly model applied to flows whose columns were renamed: named, with the flag that fixes it.
    line = _refused("apply", str(anomalies), flows, "--columns", "bytes_in=bin", out=out)
    assert "Column 'bin' (--columns bytes_in=COLUMN) not found" in line


def _damaged(data, tmp_path, name: str) -> str:
    target = tmp_path / name
    shutil.copytree(os.path.join(data[1], "model"), target)
    return str(target)


def test_a_truncated_or_foreign_model_file(data, tmp_path):
    flows, *_ = data
    out = tmp_path / "o"
    cut = _damaged(data, tmp_path, "cut")
    with open(os.path.join(cut, "model.json"), "r+b") as handle:
        handle.truncate(200)
    line = _refused("apply", cut, flows, out=out)
    assert "model.json' is not a readable model file (" in line and "cut short" in line
    future = _damaged(data, tmp_path, "future")
    with open(os.path.join(future, "model.json"), encoding="utf-8") as handle:
        document = json.load(handle)
    with open(os.path.join(future, "model.json"), "w", encoding="utf-8") as handle:
        json.dump({**document, "format_version": 7}, handle)
    line = _refused("apply", future, flows, out=out)
    assert "has format version 7, newer than this scalecluster reads (1)" in line
    core = _damaged(data, tmp_path, "core")
    with open(os.path.join(core, "core.npz"), "r+b") as handle:
        handle.truncate(100)
    line = _refused("apply", core, flows, out=out)  # one line: no warning of a file left open either
    assert "core.npz cannot be read (" in line and "damaged or cut short" in line


def test_a_truncated_segmentation_model_is_one_line_too(data, tmp_path):
    _, _, segments, transactions = data
    cut = tmp_path / "cut"
    shutil.copytree(segments / "model", cut)
    with open(cut / "centres.npz", "r+b") as handle:
        handle.truncate(100)
    line = _refused("apply", str(cut), transactions, out=tmp_path / "o")
    assert "centres.npz cannot be read (" in line


# --------------------------------------------------------------------------- runs


def test_anomalies_by_host_with_a_window_and_top(data, tmp_path, capsys):
    flows, *_ = data
    out = tmp_path / "alerts"
    assert main(["anomalies", flows, "--by-host", "src_ip", "--window", "6h", "--top", "7", "--min-samples", "10",
                 "--out", str(out), "--quiet", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "(the top 7 kept)" in printed and "host rows" in printed
    hosts = pd.read_csv(out / "hosts.csv")
    assert len(hosts) == 7 and list(hosts.columns[:3]) == ["src_ip", "window", "score"]
    assert len(pd.read_csv(out / "alerts.csv")) == 7
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["top"] == 7 and summary["alerts"] > 7 and summary["hosts"]["kept"] == 7
    assert summary["run"]["settings"]["window_seconds"] == 21_600 and summary["run"]["settings"]["host"] == "src_ip"


def test_apply_scores_flows_with_an_anomaly_model(data, tmp_path, capsys):
    flows, anomalies, *_ = data
    out = tmp_path / "applied"
    assert main(["apply", str(anomalies), flows, "--top", "3", "--out", str(out), "--quiet", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "scored with model" in printed and "(the top 3 kept)" in printed
    labels = pd.read_parquet(out / "labels")
    pd.testing.assert_frame_equal(labels, pd.read_parquet(anomalies / "labels"))
    assert len(pd.read_csv(out / "alerts.csv")) == 3 and len(pd.read_csv(out / "hosts.csv")) == 3
    renamed = tmp_path / "renamed.parquet"
    pd.read_parquet(flows).rename(columns={"bytes_in": "bin"}).to_parquet(renamed)
    assert main(["apply", str(anomalies), str(renamed), "--columns", "bytes_in=bin", "--out",
                 str(tmp_path / "again"), "--quiet", "--no-plots"]) == 0
    capsys.readouterr()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again" / "labels"), labels)
