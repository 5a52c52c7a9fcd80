"""The command line, through its entry point: exit codes, outputs, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from scalecluster.__main__ import main
from scalecluster.datasets import make_flows, make_transactions


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    transactions, _ = make_transactions(2_000, path=root / "transactions", n_partitions=2)
    (flows,) = make_flows(10_000, path=root / "flows", n_partitions=2)
    return transactions, flows


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("scalecluster: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_segment_writes_its_outputs(data, tmp_path, capsys):
    transactions, _ = data
    out = tmp_path / "seg"
    code = main(["segment", transactions, "--order", "order_id", "--k", "5", "--out", str(out), "--quiet",
                 "--no-plots"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Champions" in printed and str(out) in printed
    assert len(pd.read_parquet(out / "labels")) == 2_000
    assert len(pd.read_csv(out / "profile.csv")) == 5
    assert main(["segment", transactions, "--k", "5", "--out", str(out), "--quiet"]) == 2
    assert "exists" in _one_line_error(capsys)


def test_anomalies_writes_its_outputs(data, tmp_path, capsys):
    _, flows = data
    out = tmp_path / "anom"
    assert main(["anomalies", flows, "--min-samples", "10", "--out", str(out), "--quiet", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "F1" in printed
    assert len(pd.read_parquet(out / "labels")) == 10_000
    assert os.path.exists(out / "alerts.csv") and os.path.exists(out / "report.html")


def test_missing_path(tmp_path, capsys):
    assert main(["segment", str(tmp_path / "nothing.parquet"), "--out", str(tmp_path / "o")]) == 2
    assert "No such file or folder" in _one_line_error(capsys)
    assert not os.path.exists(tmp_path / "o")


def test_missing_column_lists_the_available_ones(data, tmp_path, capsys):
    transactions, flows = data
    assert main(["segment", transactions, "--customer", "client", "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys)
    assert "'client' (customer=) not found" in line
    assert "available columns: ['customer_id', 'order_id', 'timestamp', 'quantity', 'revenue']" in line
    assert main(["anomalies", flows, "--features", "bytes", "--out", str(tmp_path / "o")]) == 2
    assert "'bytes' (features=) not found; available columns: ['timestamp'" in _one_line_error(capsys)


def test_columns_of_the_wrong_kind(data, tmp_path, capsys):
    transactions, flows = data
    assert main(["segment", transactions, "--amount", "timestamp", "--out", str(tmp_path / "o")]) == 2
    assert "Column 'timestamp' must be numeric" in _one_line_error(capsys)
    assert main(["segment", transactions, "--timestamp", "revenue", "--out", str(tmp_path / "o")]) == 2
    assert "Column 'revenue' must hold dates" in _one_line_error(capsys)
    assert main(["anomalies", flows, "--features", "src_ip", "--out", str(tmp_path / "o")]) == 2
    assert "Column 'src_ip' must be numeric" in _one_line_error(capsys)


def test_bad_option_values(data, tmp_path, capsys):
    transactions, _ = data
    with pytest.raises(SystemExit) as exit_info:
        main(["segment", transactions, "--k", "many"])
    assert exit_info.value.code == 2  # argparse's own one-line usage error
    assert "must be 'auto' or an integer" in capsys.readouterr().err
    assert main(["segment", transactions, "--k", "0", "--out", str(tmp_path / "o")]) == 2
    assert "k must be 'auto' or a positive integer" in _one_line_error(capsys)


def test_the_installed_entry_point(tmp_path):
    missing = str(tmp_path / "missing")
    done = subprocess.run([sys.executable, "-m", "scalecluster", "anomalies", missing], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == f"scalecluster: error: No such file or folder: {missing!r}."


# --------------------------------------------------------------------------- --cluster


def _config(path, config: dict) -> str:
    import yaml

    path.write_text(yaml.safe_dump(config))
    return str(path)


#: An in-process cluster on loopback (its worker runs in this process).
QUICK = {"n_workers": 1, "threads_per_worker": 1, "processes": False, "dashboard_address": "127.0.0.1:0"}


def test_cluster_configs_that_cannot_be_used_are_one_line_errors(data, tmp_path, capsys):
    transactions, _ = data
    broken = tmp_path / "broken.yaml"
    broken.write_text("type: local\noptions: {n_workers: 1\n")
    assert main(["segment", transactions, "--cluster", str(broken), "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys)
    assert f"Cluster config {str(broken)!r} is not valid YAML" in line and "line 3" in line
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    bad_tls = _config(tmp_path / "tls.yaml", {"type": "scheduler", "address": "tls://127.0.0.1:1",
                                              "tls": {"ca_file": "ca.pem", "cert": "ca.pem"}})
    assert main(["anomalies", str(tmp_path), "--cluster", bad_tls, "--out", str(tmp_path / "o")]) == 2
    assert "the tls.ca_file file" in _one_line_error(capsys)
    assert main(["demo", "--cluster", str(tmp_path / "nowhere.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert "neither a file nor one of the bundled configs" in _one_line_error(capsys)
    assert not os.path.exists(tmp_path / "o")


def test_an_unreachable_scheduler_is_a_one_line_error(data, tmp_path, capsys, monkeypatch):
    import inspect

    import distributed

    class Refused:
        def __init__(self, *args, **kwargs):
            raise AssertionError  # what distributed says when a tcp:// client meets a TLS scheduler

    monkeypatch.setattr(Refused.__init__, "__signature__", inspect.signature(distributed.Client.__init__),
                        raising=False)
    monkeypatch.setattr(distributed, "Client", Refused)
    transactions, _ = data
    assert main(["segment", transactions, "--cluster", "scheduler", "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys)
    assert "Could not connect to the Dask scheduler at 'tcp://127.0.0.1:8786' (AssertionError, with no message)" in line
    assert "tls://127.0.0.1:8786" in line


def test_a_config_that_runs_code_needs_allow_code(data, tmp_path, capsys):
    transactions, _ = data
    marker = tmp_path / "marker.txt"
    script = tmp_path / "scalecluster_cli_preload.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = _config(tmp_path / "shared.yaml", {"type": "local", "options": {**QUICK, "preload": [str(script)]}})
    assert main(["segment", transactions, "--cluster", config, "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys)
    assert f"Cluster config {config!r} has options that import or run code: 'preload'" in line
    assert "--allow-code" in line
    assert not marker.exists()
    # Trusted: the cluster starts with the preload (the job then stops at its missing input).
    missing = str(tmp_path / "missing.parquet")
    assert main(["segment", missing, "--cluster", config, "--allow-code", "--out", str(tmp_path / "o")]) == 2
    assert "No such file or folder" in _one_line_error(capsys)
    assert marker.read_text() == "ran"
