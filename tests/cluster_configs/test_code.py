"""A config is data: options that import or run code are refused unless the caller allows code."""

from __future__ import annotations

import pytest

from scalecluster.cluster_configs import (
    client_from_config,
    connect,
    kubernetes_cluster_spec,
    load_cluster_config,
    make_cluster,
)
from scalecluster.cluster_configs._code import code_options

from .conftest import QUICK, write


@pytest.fixture
def preload(tmp_path):
    """(a Python file that writes a marker file when it runs, the marker's path)."""
    marker = tmp_path / "marker.txt"
    script = tmp_path / "scalecluster_test_preload.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    return script, marker


@pytest.mark.parametrize(
    "kind, options, named",
    [
        ("local", {"preload": ["{script}"]}, "'preload' imports a module or runs a Python file"),
        ("local", {"preload_nanny": ["{script}"]}, "'preload_nanny' imports a module or runs a Python file"),
        ("local", {"preload": ["{script}"], "preload_argv": ["--x"]}, "'preload_argv' passes arguments"),
        ("local", {"worker_class": "scalecluster_test_preload.Worker"}, "'worker_class' imports a class by name"),
        ("local", {"plugins": ["scalecluster_test_preload.Plugin"]}, "'plugins' installs plugin objects"),
        ("local", {"scheduler_kwargs": {"preload": ["{script}"]}}, "'scheduler_kwargs.preload' imports"),
        ("local", {"config": {"distributed.worker.preload": ["{script}"]}},
         "'config.distributed.worker.preload' imports"),
        ("local", {"env": {"PYTHONPATH": "{folder}"}}, "'env.PYTHONPATH' makes the process load code"),
        ("local", {"env": {"DASK_DISTRIBUTED__WORKER__PRELOAD": "{script}"}},
         "'env.DASK_DISTRIBUTED__WORKER__PRELOAD' makes the process load code"),
        ("local", {"security": "scalecluster_test_preload.loader"}, "'security' is given as a name"),
        ("local", {"pre_import": ["scalecluster_test_preload"]}, "'pre_import' imports modules in every worker"),
        ("slurm", {"job_script_prologue": ["python {script}"]}, "'job_script_prologue' adds shell lines"),
        ("slurm", {"python": "{script}"}, "'python' is the program each SLURM job runs"),
        ("slurm", {"worker_extra_args": ["--preload", "{script}"]}, "'worker_extra_args' adds arguments"),
        ("slurm", {"scheduler_options": {"preload": ["{script}"]}}, "'scheduler_options.preload' imports"),
        ("slurm", {"job_cls": "scalecluster_test_preload.Job"}, "'job_cls' names a class"),
        ("scheduler", {"extensions": ["scalecluster_test_preload.Extension"]}, "'extensions' instantiates"),
    ],
)
def test_code_options_are_refused_and_nothing_runs(tmp_path, preload, kind, options, named):
    script, marker = preload

    def fill(value):
        if isinstance(value, str):
            return value.format(script=script, folder=tmp_path)
        if isinstance(value, list):
            return [fill(v) for v in value]
        return {k: fill(v) for k, v in value.items()}

    config = {"type": kind, "options": {**fill(options), **(QUICK if kind == "local" else {})}}
    if kind == "scheduler":
        config["address"] = "tcp://127.0.0.1:1"
    path = write(tmp_path / "shared.yaml", config)
    for call in (load_cluster_config, connect, make_cluster, client_from_config):
        with pytest.raises(ValueError) as raised:
            call(path)
        message = str(raised.value)
        assert message.startswith(f"Cluster config {str(path)!r} has options that import or run code: ")
        assert named in message
        assert "A cluster config is data" in message
        assert "pass allow_code=True (on the command line: --allow-code)" in message
    assert not marker.exists()


def test_overrides_and_mappings_are_checked_too(preload):
    script, marker = preload
    message = r"Cluster config 'local' \(bundled\), with the keyword arguments given, has options that import"
    with pytest.raises(ValueError, match=message + " or run code: 'preload'"):
        connect("local", preload=[str(script)], **QUICK)
    with pytest.raises(ValueError, match="'adapt.Adaptive' names the class that scales the cluster"):
        load_cluster_config({"type": "local", "adapt": {"Adaptive": "x.Adaptive"}})
    with pytest.raises(ValueError, match="'worker_command' is the module or program"):
        kubernetes_cluster_spec({"type": "kubernetes", "options": {"worker_command": "python -m evil"}})
    assert not marker.exists()


def test_allow_code_runs_the_preload_and_the_loaded_config_keeps_it(tmp_path, preload):
    script, marker = preload
    path = write(tmp_path / "trusted.yaml", {"type": "local", "options": {**QUICK, "preload": [str(script)]}})
    config = load_cluster_config(path, allow_code=True)
    with connect(config) as client:  # the config read with allow_code=True needs no second opt-in
        assert client.submit(sum, [1, 2]).result() == 3
    assert marker.read_text() == "ran"  # the worker runs in this process (processes: false)
    with pytest.raises(ValueError, match="import or run code"):
        connect(dict(config))  # a plain copy is plain data again


def test_empty_or_harmless_values_pass():
    config = load_cluster_config(
        "slurm", job_script_prologue=[], worker_extra_args=[], python=None,
        scheduler_options={"host": "login.example.org", "dashboard_address": ":0"}, interface="ib0",
    )
    assert config["options"]["job_script_prologue"] == []
    assert load_cluster_config("local", security=False, env={"OMP_NUM_THREADS": "1"})["options"]["security"] is False
    for name in ("local", "local-cuda", "slurm", "kubernetes", "scheduler"):  # the bundled configs are data
        load_cluster_config(name)


def test_code_options_are_found_wherever_they_sit():
    options = {
        "n_workers": 2,
        "host": "node.example.org",
        "Preload-Nanny": ["x"],
        "worker_kwargs": {"WorkerStateClass": "x.State", "memory_limit": "2GB"},
        "config": {"distributed": {"scheduler": {"active-memory-manager": {
            "policies": [{"class": "x.Policy"}]}}}},
        "scheduler_plugins": ["x.Plugin"],
        "env": {"LD_PRELOAD": "/x.so", "OMP_NUM_THREADS": "1"},
    }
    assert [name for name, _ in code_options(options)] == [
        "Preload-Nanny",
        "worker_kwargs.WorkerStateClass",
        "config.distributed.scheduler.active-memory-manager.policies.0.class",
        "scheduler_plugins",
        "env.LD_PRELOAD",
    ]
