"""The demo (its cluster configs are tested in test_cluster_configs.py)."""

from __future__ import annotations

import io

import pytest

from scalecluster.__main__ import main
from scalecluster.demo import run_demo


def test_demo_on_a_local_cluster(tmp_path):
    config = tmp_path / "threads.yaml"
    config.write_text(
        "type: local\noptions: {n_workers: 1, threads_per_worker: 2, processes: false, dashboard_address: ':0'}\n"
    )
    out = io.StringIO()
    summary = run_demo(20_000, 4, 5, cluster_config=str(config), out=out)
    for backend in ("dask", "numpy"):
        assert summary[backend]["ari"] > 0.95
    assert summary["dask"]["inertia"] == pytest.approx(
        summary["numpy"]["inertia"], rel=1e-6
    )
    assert "dashboard at" in out.getvalue()


def test_cli_reports_user_errors_in_one_line(capsys):
    assert main(["demo", "--n-samples", "3"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "scalecluster: error: n_samples=3 should be >= n_clusters=8."
    )
