"""The demo (its cluster configs are tested in tests/cluster_configs/)."""

from __future__ import annotations

import io
import os
import tempfile

import pytest

from scalecluster.__main__ import main
from scalecluster.demo import run_blobs_demo, run_demo


@pytest.fixture
def threads_config(tmp_path):
    config = tmp_path / "threads.yaml"
    config.write_text(
        "type: local\noptions: {n_workers: 2, threads_per_worker: 1, processes: false, dashboard_address: ':0'}\n"
    )
    return str(config)


def test_demo_runs_both_jobs_on_a_local_cluster(threads_config, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the demo generates its data
    out = io.StringIO()
    summary = run_demo(3_000, 20_000, cluster_config=threads_config, out=tmp_path / "out", stream=out,
                       verbose=False)
    printed = out.getvalue()
    assert summary["segment"]["ari"] >= 0.8
    assert {"Champions", "Lost"} <= set(summary["segment"]["names"].values())
    assert summary["anomalies"]["f1"] >= 0.8
    assert "Adjusted Rand index" in printed and "F1" in printed
    for job in ("segments", "anomalies"):
        assert os.path.exists(tmp_path / "out" / job / "report.html")
        assert str(tmp_path / "out" / job / "report.html") in printed
    # The generated data is gone, and the demo says so (and how to keep it).
    assert summary["data"] is None
    assert not [name for name in os.listdir(tmp_path) if name.startswith("scalecluster-demo")]
    assert "Generated data removed (scalecluster demo --keep-data keeps it)." in printed
    assert sorted(os.listdir(tmp_path / "out")) == ["anomalies", "demo.log", "segments"]


def _fake_jobs(monkeypatch, fail: bool = False):
    """The demo without its jobs: generated data is a file, the outputs a folder."""
    from scalecluster import demo

    def jobs(n_customers, n_flows, cluster_config, target, work, *args):
        os.makedirs(os.path.join(work, "transactions"))
        os.makedirs(os.path.join(target, "segments"))
        if fail:
            raise KeyboardInterrupt
        return {"segment": {}, "anomalies": {}, "out": target}

    monkeypatch.setattr(demo, "_demo", jobs)


def test_the_demo_can_keep_its_data_and_says_where(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _fake_jobs(monkeypatch)
    out = io.StringIO()
    summary = run_demo(10, 10, keep_data=True, stream=out)
    printed = out.getvalue()
    data = summary["data"]
    assert os.path.dirname(data) == str(tmp_path) and os.listdir(data) == ["transactions"]
    assert f"Generated data kept in {data} (transactions/, customers/, flows/): delete that folder when done." \
        in printed
    assert f"The outputs stay in {summary['out']}: delete that folder when done." in printed


def test_an_interrupted_demo_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _fake_jobs(monkeypatch, fail=True)
    with pytest.raises(KeyboardInterrupt):
        run_demo(10, 10, keep_data=True, stream=io.StringIO())
    assert os.listdir(tmp_path) == []  # neither the data nor the (temporary) output folder


def test_blobs_demo_on_a_local_cluster(tmp_path):
    config = tmp_path / "threads.yaml"
    config.write_text(
        "type: local\noptions: {n_workers: 1, threads_per_worker: 2, processes: false, dashboard_address: ':0'}\n"
    )
    out = io.StringIO()
    summary = run_blobs_demo(20_000, 4, 5, cluster_config=str(config), out=out)
    for backend in ("dask", "numpy"):
        assert summary[backend]["ari"] > 0.95
    assert summary["dask"]["inertia"] == pytest.approx(summary["numpy"]["inertia"], rel=1e-6)
    assert "dashboard at" in out.getvalue()


def test_cli_reports_user_errors_in_one_line(capsys, tmp_path):
    assert main(["demo", "--n-samples", "3"]) == 2
    assert capsys.readouterr().err.strip() == "scalecluster: error: --n-samples 3 should be >= --n-clusters 8."
    (tmp_path / "taken").mkdir()
    assert main(["demo", "--out", str(tmp_path / "taken")]) == 2
    assert "exists; remove it, or choose another folder with --out" in capsys.readouterr().err
