"""The demo (its cluster configs are tested in tests/cluster_configs/)."""

from __future__ import annotations

import io
import os

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


def test_demo_runs_both_jobs_on_a_local_cluster(threads_config, tmp_path):
    out = io.StringIO()
    summary = run_demo(3_000, 20_000, cluster_config=threads_config, out=tmp_path / "out", stream=out,
                       verbose=False)
    printed = out.getvalue()
    assert summary["segment"]["ari"] >= 0.8
    assert {"Champions", "Lost"} <= set(summary["segment"]["names"].values())
    assert summary["anomalies"]["f1"] >= 0.8
    assert "dashboard at" in printed and "Adjusted Rand index" in printed and "F1" in printed
    for job in ("segments", "anomalies"):
        assert os.path.exists(tmp_path / "out" / job / "report.html")
        assert str(tmp_path / "out" / job) in printed


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
    assert capsys.readouterr().err.strip() == "scalecluster: error: n_samples=3 should be >= n_clusters=8."
    (tmp_path / "taken").mkdir()
    assert main(["demo", "--out", str(tmp_path / "taken")]) == 2
    assert "exists" in capsys.readouterr().err
