"""The command line, as a user runs it (subprocesses) and through its entry point: speed, exit codes,
one-line errors that name the flag, progress lines, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from scalecluster import __version__
from scalecluster.__main__ import FLOW_ROLES, in_our_words, main
from scalecluster.datasets import make_flows, make_transactions

#: The issue's goal is 1 s; asserted generously, for a loaded 2-core machine.
FAST_S = 3.0
#: Modules that must not be imported before the arguments are parsed.
HEAVY = ("sklearn", "scipy", "dask", "distributed", "pandas", "numba", "matplotlib")
#: An in-process cluster (its workers are threads of the job's process), quick to start.
THREADS_CLUSTER = ("type: local\noptions: {n_workers: 2, threads_per_worker: 1, processes: false, "
                   "dashboard_address: '127.0.0.1:0'}\n")
#: One stage line: "[job] Stage  what it worked on  [bar] done/total  elapsed  result".
STAGE = re.compile(r"^\[(segment|anomalies|demo|apply|drift)\] (\S.{15}) (.*?)\s+\d+\.\d s(  .*)?$")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    transactions, _ = make_transactions(2_000, path=root / "transactions", n_partitions=2)
    (flows,) = make_flows(10_000, path=root / "flows", n_partitions=2)
    return transactions, flows


def cli(*args: str, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``scalecluster ARGS`` in a new process, as a user runs it."""
    env = {**os.environ, "PYTHONWARNINGS": "default"}  # libraries' warnings would show, if they leaked
    return subprocess.run([sys.executable, "-m", "scalecluster", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env, check=False)


def timed(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = cli(*args)
    return time.perf_counter() - start, done


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _one_line_error(capsys) -> str:
    line = one_line(capsys.readouterr().err)
    assert line.startswith("scalecluster: error: ")
    return line


# --------------------------------------------------------------------------- fast answers


def test_help_answers_at_once_without_importing_the_scientific_stack():
    seconds, done = min((timed("--help") for _ in range(3)), key=lambda t: t[0])
    assert done.returncode == 0 and "segment" in done.stdout and "anomalies" in done.stdout
    print(f"scalecluster --help: {seconds:.2f} s (best of 3)")
    assert seconds < FAST_S
    imported = subprocess.run([sys.executable, "-X", "importtime", "-m", "scalecluster", "segment", "--help"],
                              capture_output=True, text=True, check=True).stderr
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in imported.splitlines() if "|" in line}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_version():
    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"scalecluster {__version__}"


def test_argument_errors_answer_at_once_in_one_line_naming_the_flag(data, tmp_path):
    transactions, flows = data
    seconds, done = timed("segment", transactions, "--k", "many")
    assert done.returncode == 2 and seconds < FAST_S
    assert one_line(done.stderr) == (
        "scalecluster: error: argument --k: must be 'auto', an integer or a comma-separated list of integers "
        "(4,5,6); got 'many' (see scalecluster segment --help)")
    done = cli("anomalies", flows, "--columns", "bytes=sbytes")
    assert "argument --columns: unknown role 'bytes'" in one_line(done.stderr)
    seconds, done = timed("segment", str(tmp_path / "missing.csv"))
    assert done.returncode == 2 and seconds < FAST_S
    assert one_line(done.stderr) == f"scalecluster: error: No such file or folder: {str(tmp_path / 'missing.csv')!r}."
    done = cli("segment", str(tmp_path / "*.csv"))
    assert "No files match" in one_line(done.stderr)
    # A misspelt column: read from the input's header or schema, before any scientific library is imported.
    seconds, done = timed("anomalies", flows, "--features", "bytes_out,bytez")
    assert done.returncode == 2 and seconds < FAST_S
    line = one_line(done.stderr)
    assert line.startswith("scalecluster: error: Column 'bytez' (--features) not found in '") and \
        "Did you mean 'bytes_in'? Name the column with --features." in line
    imported = subprocess.run([sys.executable, "-X", "importtime", "-m", "scalecluster", "segment", transactions,
                               "--customer", "client"], capture_output=True, text=True, check=False).stderr
    assert "scalecluster: error: Column 'client' (--customer) not found" in imported
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in imported.splitlines() if "|" in line}
    assert not loaded & set(HEAVY) - {"numpy"}, sorted(loaded & set(HEAVY))


def test_an_existing_output_folder_names_overwrite(data, tmp_path):
    transactions, _ = data
    (tmp_path / "segments").mkdir()
    seconds, done = timed("segment", transactions, "--out", str(tmp_path / "segments"))
    assert done.returncode == 2 and seconds < FAST_S
    assert one_line(done.stderr) == (
        f"scalecluster: error: The output folder {str(tmp_path / 'segments')!r} exists; add --overwrite to "
        "replace it, or choose another folder with --out.")


# --------------------------------------------------------------------------- jobs


def test_segment_prints_one_line_per_stage_and_takes_comma_lists(data, tmp_path):
    transactions, _ = data
    out = tmp_path / "segments"
    done = cli("segment", transactions, "--order", "order_id", "--k", "4,5", "--currency", "EUR", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warnings, no library chatter
    assert "\r" not in done.stdout  # not a terminal: no bars redrawn in place
    stages = [STAGE.match(line) for line in done.stdout.splitlines() if line.startswith("[segment] ")]
    stages = [m.group(2).strip() for m in stages if m]
    assert stages == ["Reading, RFM", "Outliers", "Scaling", "Choosing k", "KMeans", "Profiling", "Writing outputs"]
    assert "[##########] 2/2 k" in done.stdout and "€" in done.stdout
    assert list(pd.read_csv(out / "sweep.csv")["k"]) == [4, 5]  # --k 4,5: the candidates of the sweep
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["version"] == __version__ and summary["run"]["rows"] > 0
    assert "Choosing k" in (out / "run.log").read_text(encoding="utf-8")
    # Twice: refused at once, naming the flag; then replaced with it.
    again = cli("segment", transactions, "--out", str(out))
    assert again.returncode == 2 and "add --overwrite to replace it" in one_line(again.stderr)
    assert cli("segment", transactions, "--k", "3", "--out", str(out), "--overwrite", "--quiet",
               "--no-plots").returncode == 0
    assert len(pd.read_csv(out / "profile.csv")) == 3


def test_anomalies_on_a_cluster_keeps_dask_quiet(data, tmp_path):
    _, flows = data
    config = tmp_path / "threads.yaml"
    config.write_text(THREADS_CLUSTER)
    out = tmp_path / "alerts"
    done = cli("anomalies", flows, "--features", "bytes_out,bytes_in,packets_out", "--min-samples", "10",
               "--cluster", str(config), "--out", str(out), "--no-plots")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # distributed's and Dask's chatter went to run.log
    stages = [STAGE.match(line) for line in done.stdout.splitlines() if line.startswith("[anomalies] ")]
    assert [m.group(2).strip() for m in stages if m] == [
        "Dask cluster", "Reading flows", "Features", "Fit sample", "Choosing eps", "DBSCAN", "Scoring flows",
        "Ranking alerts", "Against labels", "Writing outputs"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["features"] == ["bytes_out", "bytes_in", "packets_out"]
    assert summary["run"]["run_on"] == "Dask cluster, 2 workers"
    assert "distributed.scheduler" in (out / "run.log").read_text(encoding="utf-8")


def test_ctrl_c_says_in_one_line_that_nothing_was_written(tmp_path):
    transactions, _ = make_transactions(6_000, path=tmp_path / "shop", n_partitions=2)
    out = tmp_path / "segments"
    job = subprocess.Popen([sys.executable, "-m", "scalecluster", "segment", transactions, "--out", str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = job.stdout.readline()  # the first stage is done: the sweep over k is running
        assert first.startswith("[segment] Reading, RFM"), first + job.stderr.read()
        job.send_signal(signal.SIGINT)
        _, err = job.communicate(timeout=120)
    finally:
        job.kill()
    assert job.returncode == 130
    assert err == f"scalecluster: interrupted; nothing was written to {str(out)!r}.\n"
    assert os.listdir(tmp_path) == ["shop"]  # neither the output folder nor its temporary


@pytest.fixture(scope="module")
def segments(data, tmp_path_factory):
    """A segmentation of the generated transactions, with its model (written in process: quicker)."""
    from scalecluster.jobs import segment

    transactions, _ = data
    out = tmp_path_factory.mktemp("cli-model") / "segments"
    segment(transactions, order="order_id", k=4, out=out, plots=False, verbose=False)
    return out


def test_apply_and_drift_run_as_commands(data, segments, tmp_path):
    transactions, _ = data
    applied = tmp_path / "applied"
    done = cli("apply", str(segments), transactions, "--out", str(applied), "--no-plots")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    stages = [STAGE.match(line) for line in done.stdout.splitlines() if line.startswith("[apply] ")]
    assert [m.group(2).strip() for m in stages if m] == ["Reading, RFM", "Assigning", "Profiling", "Writing outputs"]
    labels = pd.read_parquet(applied / "labels").set_index("customer_id").sort_index()
    trained = pd.read_parquet(segments / "labels").set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(labels, trained)  # the same numbers and names on the training data
    out = tmp_path / "drift"
    done = cli("drift", str(segments / "model"), transactions, "--out", str(out), "--share-threshold", "0.02",
               "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("No drift: no segment moved beyond the thresholds")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["drifted"] is False and summary["thresholds"]["share"] == 0.02
    assert (out / "drift.png").exists() and "## Population stability" in (out / "report.md").read_text("utf-8")


def test_a_folder_without_a_usable_model_is_answered_at_once(data, segments, tmp_path):
    transactions, _ = data
    seconds, done = timed("apply", str(tmp_path), transactions)
    assert done.returncode == 2 and seconds < FAST_S
    assert one_line(done.stderr) == (
        f"scalecluster: error: {str(tmp_path)!r} holds no model (no model.json in it or in its model/ "
        "folder): give the --out folder of a 'scalecluster segment' or 'scalecluster anomalies' run, or its model/ "
        "folder.")
    future = tmp_path / "future"
    future.mkdir()
    document = json.loads((segments / "model" / "model.json").read_text(encoding="utf-8"))
    (future / "model.json").write_text(json.dumps({**document, "format_version": 99}), encoding="utf-8")
    imported = subprocess.run([sys.executable, "-X", "importtime", "-m", "scalecluster", "drift", str(future),
                               transactions], capture_output=True, text=True, check=False).stderr
    assert "scalecluster: error: The model in" in imported and "has format version 99, newer than" in imported
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in imported.splitlines() if "|" in line}
    assert not loaded & set(HEAVY) - {"numpy"}, sorted(loaded & set(HEAVY))
    done = cli("apply", str(segments), transactions, "--customer", "client", "--out", str(tmp_path / "o"))
    assert "Column 'client' (--customer) not found" in one_line(done.stderr)


# --------------------------------------------------------------------------- in-process: messages


def test_errors_name_the_flag_that_fixes_them():
    assert in_our_words("Column 'client' (customer=) not found. Name the column with customer=.") == (
        "Column 'client' (--customer) not found. Name the column with --customer.")
    assert in_our_words("too few for min_samples=20; lower it") == "too few for --min-samples 20; lower it"
    assert in_our_words("or pass overwrite=True to replace it.") == "or pass --overwrite to replace it."
    assert in_our_words("Column 'x' (bytes_out=) not found") == "Column 'x' (--columns bytes_out=COLUMN) not found"
    assert in_our_words("dtype={'customer_id': 'str'}, KMeans(n_clusters=5)") == (
        "dtype={'customer_id': 'str'}, KMeans(--n-clusters 5)")  # only whole names of parameters


def test_the_flow_roles_are_the_features_roles():
    from scalecluster.features import FLOW_COLUMNS

    assert FLOW_ROLES == tuple(FLOW_COLUMNS)


def test_messy_exports_name_the_flag_that_reads_them(tmp_path, capsys):
    shop = make_transactions(400, path=tmp_path / "shop", duplicates=0.05, dayfirst=True, file_format="tsv",
                             random_state=1)
    out = tmp_path / "o"
    assert main(["segment", shop.transactions, "--order", "order_id", "--k", "3", "--out", str(out)]) == 2
    line = _one_line_error(capsys)
    assert "holds day-first dates" in line and "Pass --dayfirst, or give the format with --date-format (like" in line
    assert main(["segment", shop.transactions, "--order", "order_id", "--k", "3", "--dayfirst", "--out", str(out),
                 "--quiet", "--no-plots"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["quality"]["duplicates"] > 0 and summary["run"]["settings"]["dayfirst"] is True
    assert main(["segment", shop.transactions, "--order", "order_id", "--k", "3", "--date-format", "%d/%m/%Y %H:%M",
                 "--keep-duplicates", "--out", str(out), "--overwrite", "--quiet", "--no-plots"]) == 0
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["quality"]["duplicates"] == 0
    capsys.readouterr()


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
    assert os.path.exists(out / "model" / "model.json")


def test_anomalies_writes_its_outputs(data, tmp_path, capsys):
    _, flows = data
    out = tmp_path / "anom"
    assert main(["anomalies", flows, "--min-samples", "10", "--out", str(out), "--quiet", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "F1" in printed
    assert len(pd.read_parquet(out / "labels")) == 10_000
    assert os.path.exists(out / "alerts.csv") and os.path.exists(out / "report.html")


def test_missing_column_names_the_flag_and_the_closest_columns(data, tmp_path, capsys):
    transactions, flows = data
    assert main(["segment", transactions, "--customer", "Customer_ID", "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys)
    assert "Column 'Customer_ID' (--customer) not found" in line
    assert "available columns: ['customer_id', 'order_id', 'timestamp', 'quantity', 'revenue']" in line
    assert "Did you mean 'customer_id'? Name the column with --customer." in line
    assert main(["anomalies", flows, "--features", "bytes,packets_in", "--out", str(tmp_path / "o")]) == 2
    assert "'bytes' (--features) not found" in _one_line_error(capsys)
    assert main(["anomalies", flows, "--label", "attack", "--out", str(tmp_path / "o")]) == 2
    assert "'attack' (--label) not found" in _one_line_error(capsys)
    assert not os.path.exists(tmp_path / "o")


def test_columns_of_the_wrong_kind(data, tmp_path, capsys):
    transactions, flows = data
    assert main(["segment", transactions, "--amount", "timestamp", "--out", str(tmp_path / "o")]) == 2
    assert "Column 'timestamp' (--amount) must be numeric" in _one_line_error(capsys)
    assert main(["segment", transactions, "--timestamp", "revenue", "--out", str(tmp_path / "o")]) == 2
    assert "Column 'revenue' (--timestamp) must hold dates" in _one_line_error(capsys)
    assert main(["anomalies", flows, "--features", "src_ip", "--out", str(tmp_path / "o")]) == 2
    assert "Column 'src_ip' (--features) holds '" in _one_line_error(capsys)  # text, not numbers


def test_bad_option_values(data, tmp_path, capsys):
    transactions, _ = data
    with pytest.raises(SystemExit) as exit_info:
        main(["segment", transactions, "--k", "many"])
    assert exit_info.value.code == 2  # argparse's own error, on one line
    assert "must be 'auto', an integer" in capsys.readouterr().err
    assert main(["segment", transactions, "--k", "0", "--out", str(tmp_path / "o")]) == 2
    assert "k must be 'auto' or a positive integer" in _one_line_error(capsys)
    with pytest.raises(SystemExit):
        main(["segment", transactions, "--reference-date", "someday"])
    assert "argument --reference-date: must be a date like 2024-06-30" in capsys.readouterr().err


def test_the_installed_entry_point(tmp_path):
    missing = str(tmp_path / "missing")
    done = cli("anomalies", missing)
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
    # Trusted: the cluster starts with the preload (the job then stops at a column of the wrong kind).
    assert main(["segment", transactions, "--timestamp", "revenue", "--cluster", config, "--allow-code",
                 "--out", str(tmp_path / "o")]) == 2
    assert "Column 'revenue' (--timestamp) must hold dates" in _one_line_error(capsys)
    assert marker.read_text() == "ran"
