"""Reading and checking configs: bundled ones, files, mappings, overrides, and what is wrong with bad ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import scalecluster
from scalecluster.cluster_configs import (
    BUNDLED_CONFIGS,
    CLUSTER_TYPES,
    bundled_config_text,
    connect,
    load_cluster_config,
    make_cluster,
)
from scalecluster.cluster_configs.__main__ import main as configs_main

from .conftest import write

# --------------------------------------------------------------------------- bundled configs


def test_bundled_configs_ship_in_the_package_and_are_valid():
    for name in BUNDLED_CONFIGS:
        config = load_cluster_config(name)
        assert config["type"] == name
        assert isinstance(config["options"], dict)
        assert yaml.safe_load(bundled_config_text(name))["type"] == name
    assert set(BUNDLED_CONFIGS) == set(CLUSTER_TYPES)
    # The files live inside the package (importlib.resources), not only in a source checkout.
    folder = Path(scalecluster.__file__).parent / "cluster_configs"
    assert sorted(p.stem for p in folder.glob("*.yaml")) == sorted(BUNDLED_CONFIGS)


def test_default_is_the_bundled_local_config():
    assert load_cluster_config(None) == load_cluster_config("local")
    assert load_cluster_config()["type"] == "local"


def test_configs_main_lists_and_prints(capsys):
    assert configs_main([]) == 0
    assert "slurm" in capsys.readouterr().out
    assert configs_main(["scheduler"]) == 0
    assert capsys.readouterr().out == bundled_config_text("scheduler")
    assert configs_main(["moon"]) == 2
    assert "bundled ones are local, local-cuda" in capsys.readouterr().err


def test_import_scalecluster_imports_no_distributed():
    code = (
        "import sys, scalecluster\n"
        "connect = scalecluster.connect\n"
        "from scalecluster.cluster_configs import bundled_config_text\n"
        "bundled_config_text('slurm')\n"
        "assert 'distributed' not in sys.modules, 'distributed was imported'\n"
        "assert connect.__module__ == 'scalecluster.cluster_configs'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_are_those_of_the_package():
    import scalecluster.cluster_configs as package

    assert package.__all__ == [
        "BUNDLED_CONFIGS", "CLUSTER_TYPES", "bundled_config_text", "client_from_config", "connect",
        "kubernetes_cluster_spec", "load_cluster_config", "make_cluster",
    ]
    for name in package.__all__:
        value = getattr(package, name)
        if callable(value):
            assert value.__module__ == "scalecluster.cluster_configs", name


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "config, error, message",
    [
        (
            {"type": "moon"},
            ValueError,
            "unknown type 'moon'; the known types are local, local-cuda, slurm, kubernetes, scheduler",
        ),
        (
            {"options": {}},
            ValueError,
            "has no type; it should be one of local, local-cuda",
        ),
        ([1, 2], ValueError, "must be a mapping"),
        ({"type": "scheduler"}, ValueError, "type: scheduler but no address"),
        (
            {"type": "local", "address": "tcp://127.0.0.1:1"},
            ValueError,
            r"unknown fields \['address'\]",
        ),
        (
            {"type": "local", "options": [1]},
            ValueError,
            "options of cluster config given as a mapping must be a mapping",
        ),
        (
            {"type": "local", "options": {"n_worker": 2}},
            ValueError,
            r"distributed.LocalCluster does not take: 'n_worker' \(did you mean 'n_workers'\?\)",
        ),
        (
            {"type": "local", "scale": {"n": 1}, "adapt": {}},
            ValueError,
            "both scale and adapt",
        ),
        (
            {
                "type": "scheduler",
                "address": "tcp://127.0.0.1:1",
                "options": {"timout": 1},
            },
            ValueError,
            "distributed.Client does not take: 'timout'",
        ),
        (
            {
                "type": "scheduler",
                "address": "tcp://127.0.0.1:1",
                "tls": {"ca_file": "x"},
            },
            ValueError,
            "is not a tls:// address; use tls://127.0.0.1:1",
        ),
        (
            {"type": "scheduler", "address": "tls://127.0.0.1:1", "tls": {"ca": "x"}},
            ValueError,
            r"unknown tls fields \['ca'\]",
        ),
        (
            {
                "type": "scheduler",
                "address": "tls://127.0.0.1:1",
                "tls": {"ca_file": "x.pem"},
            },
            FileNotFoundError,
            "the tls.ca_file file .*x.pem' does not exist",
        ),
    ],
)
def test_bad_configs_say_what_is_wrong(tmp_path, monkeypatch, config, error, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        load_cluster_config(
            config if isinstance(config, dict) else write(tmp_path / "c.yaml", config)
        )
    if isinstance(config, dict):
        with pytest.raises(error, match=message):
            connect(config)


def test_bad_options_of_optional_cluster_types_are_named():
    pytest.importorskip("dask_jobqueue")
    with pytest.raises(
        ValueError,
        match=r"dask_jobqueue.SLURMCluster does not take: 'memroy' \(did you mean 'memory'\?\)",
    ):
        load_cluster_config("slurm", memroy="4GB")


def test_missing_file_and_bad_overrides(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match="neither a file nor one of the bundled configs \\(local, local-cuda",
    ):
        connect(tmp_path / "missing.yaml")
    with pytest.raises(FileNotFoundError, match="'slurm.yaml' does not exist"):
        load_cluster_config("slurm.yaml")  # a name is given without the suffix
    with pytest.raises(
        ValueError, match="type of a cluster config cannot be overridden"
    ):
        load_cluster_config("local", type="slurm")
    with pytest.raises(ValueError, match="there is no cluster to make. Use connect"):
        make_cluster("scheduler")


@pytest.mark.parametrize(
    "text, message",
    [
        ("type: local\noptions:\n  n_workers: 1\n   threads: 2\n", r"is not valid YAML: .* at line 4, column"),
        ("type: local\noptions: {n_workers: 1\n", r"is not valid YAML: .* at line 3, column 1\.$"),
        ("type: [local\n", "is not valid YAML"),
    ],
)
def test_yaml_errors_name_the_file_and_the_line(tmp_path, text, message):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as raised:
        load_cluster_config(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_files_that_are_not_yaml_text(tmp_path):
    (tmp_path / "binary.yaml").write_bytes(b"type: local\n\xff\xfe")
    with pytest.raises(ValueError, match="binary.yaml' is not UTF-8 text"):
        load_cluster_config(tmp_path / "binary.yaml")
    with pytest.raises(ValueError, match="is a folder; give the path of a YAML file"):
        load_cluster_config(tmp_path)
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ValueError, match="empty.yaml' must be a mapping with a type .*; got NoneType"):
        load_cluster_config(tmp_path / "empty.yaml")


def test_overrides_update_options_and_replace_fields():
    config = load_cluster_config("local", n_workers=7, adapt={"minimum": 1})
    assert (
        config["options"]["n_workers"] == 7
        and config["options"]["threads_per_worker"] == 1
    )
    assert config["adapt"] == {"minimum": 1}
    assert (
        load_cluster_config("scheduler", address="tcp://127.0.0.1:9")["address"]
        == "tcp://127.0.0.1:9"
    )
    assert load_cluster_config("local") == load_cluster_config(
        "local"
    )  # no shared state between loads
