"""The demo and the cluster configs it can use."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scalecluster.__main__ import main
from scalecluster.cluster_configs import client_from_config, load_cluster_config
from scalecluster.demo import run_demo

CONFIGS = Path(__file__).resolve().parents[1] / "cluster_configs"


def test_demo_on_a_local_cluster(tmp_path):
    config = tmp_path / "threads.yaml"
    config.write_text("type: local\noptions: {n_workers: 1, threads_per_worker: 2, processes: false, dashboard_address: ':0'}\n")
    out = io.StringIO()
    summary = run_demo(20_000, 4, 5, cluster_config=str(config), out=out)
    for backend in ("dask", "numpy"):
        assert summary[backend]["ari"] > 0.95
    assert summary["dask"]["inertia"] == pytest.approx(summary["numpy"]["inertia"], rel=1e-6)
    assert "dashboard at" in out.getvalue()


def test_shipped_configs_are_valid():
    for path in CONFIGS.glob("*.yaml"):
        assert load_cluster_config(path)["type"] in ("local", "scheduler")


@pytest.mark.parametrize(
    "text, message",
    [("type: moon\n", "type: local or type: scheduler"), ("type: scheduler\n", "no address"), ("- 1\n", "mapping")],
)
def test_bad_configs(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        client_from_config(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cluster_config(tmp_path / "missing.yaml")


def test_cli_reports_user_errors_in_one_line(capsys):
    assert main(["demo", "--n-samples", "3"]) == 2
    assert capsys.readouterr().err.strip() == "scalecluster: error: n_samples=3 should be >= n_clusters=8."
