"""Cluster configs: the local one starts for real, the others build without a queue."""

from __future__ import annotations

import inspect
import logging
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
    client_from_config,
    connect,
    kubernetes_cluster_spec,
    load_cluster_config,
    make_cluster,
)
from scalecluster.cluster_configs.__main__ import main as configs_main
from tests.conftest import GPU

#: A quick in-process cluster on loopback.
QUICK = {
    "n_workers": 1,
    "threads_per_worker": 1,
    "processes": False,
    "dashboard_address": "127.0.0.1:0",
}
#: The scheduler a SLURM cluster starts here listens on loopback only.
SLURM_SCHEDULER = {
    "scheduler_options": {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}
}


def write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


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


# --------------------------------------------------------------------------- local: for real


def test_connect_local_runs_a_computation_and_closes_its_cluster(caplog):
    with (
        caplog.at_level(logging.INFO, logger="scalecluster.cluster_configs"),
        scalecluster.connect("local", **QUICK) as client,
    ):
        assert client.submit(sum, [1, 2, 3]).result() == 6
        assert len(client.scheduler_info()["workers"]) == 1
        cluster = client.cluster
        assert client.dashboard_link in caplog.text
    assert cluster.status.name == "closed"


def test_connect_from_a_file_and_a_mapping(tmp_path):
    path = write(tmp_path / "mine.yaml", {"type": "local", "options": QUICK})
    for config in (str(path), path, {"type": "local", "options": QUICK}):
        client = connect(config)
        try:
            assert client.submit(lambda x: x * 2, 21).result() == 42
        finally:
            client.close()
        assert client.cluster.status.name == "closed"


# --------------------------------------------------------------------------- scheduler: loopback


@pytest.fixture
def running_scheduler():
    """A scheduler (and one worker) on 127.0.0.1 that the test did not get from connect()."""
    from distributed import LocalCluster

    cluster = LocalCluster(protocol="tcp://", host="127.0.0.1", **QUICK)
    yield cluster
    cluster.close()


def test_scheduler_config_connects_to_a_running_scheduler(tmp_path, running_scheduler):
    path = write(
        tmp_path / "s.yaml",
        {"type": "scheduler", "address": running_scheduler.scheduler_address},
    )
    client = connect(path, timeout="10s")
    try:
        assert client.submit(sum, [4, 5]).result() == 9
    finally:
        client.close()
    assert (
        running_scheduler.status.name == "running"
    )  # connecting does not own the scheduler


def test_scheduler_address_can_be_overridden(running_scheduler):
    client = connect("scheduler", address=running_scheduler.scheduler_address)
    try:
        assert client.scheduler.address == running_scheduler.scheduler_address
    finally:
        client.close()


def test_scheduler_config_with_tls(tmp_path):
    pytest.importorskip("cryptography")  # only to make the test's certificates
    from distributed import LocalCluster
    from distributed.security import Security

    security = (
        Security.temporary()
    )  # PEM texts, one self-signed certificate for every role
    (tmp_path / "ca.pem").write_text(security.tls_ca_file)
    (tmp_path / "client.pem").write_text(security.tls_client_cert)
    (tmp_path / "client.key").write_text(security.tls_client_key)
    tls = {
        "ca_file": "ca.pem",
        "cert": "client.pem",
        "key": "client.key",
    }  # relative to the config's folder

    with LocalCluster(
        protocol="tls://", host="127.0.0.1", security=security, **QUICK
    ) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        path = write(
            tmp_path / "tls.yaml",
            {"type": "scheduler", "address": cluster.scheduler_address, "tls": tls},
        )
        config = load_cluster_config(path)
        assert config["tls"]["ca_file"] == str(tmp_path / "ca.pem")
        client = connect(path)
        try:
            assert client.security.require_encryption
            assert client.submit(sum, [1, 1]).result() == 2
        finally:
            client.close()


# --------------------------------------------------------------------------- slurm, kubernetes, cuda: built offline


def test_slurm_config_renders_its_job_script_without_a_queue():
    pytest.importorskip("dask_jobqueue")
    cluster = make_cluster(
        "slurm",
        account="myproject",
        queue="short",
        job_extra_directives=["--gres=gpu:1"],
        **SLURM_SCHEDULER,
    )
    try:
        script = cluster.job_script()
        assert not cluster.workers and not cluster.worker_spec  # no job was submitted
    finally:
        cluster.close()
    for line in (
        "#SBATCH -A myproject",
        "#SBATCH -p short",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=32G",
        "#SBATCH -t 01:00:00",
        "#SBATCH --gres=gpu:1",
    ):
        assert line in script
    assert "tcp://127.0.0.1:" in script
    assert load_cluster_config("slurm")["scale"] == {
        "jobs": 2
    }  # connect() submits these, make_cluster() does not


def test_kubernetes_spec_builds_offline(monkeypatch):
    operator = pytest.importorskip("dask_kubernetes.operator")
    spec = kubernetes_cluster_spec(
        "kubernetes", n_workers=3, image="example/scalecluster:1", namespace="dask"
    )
    assert spec["kind"] == "DaskCluster" and spec["metadata"]["name"] == "scalecluster"
    worker = spec["spec"]["worker"]
    assert worker["replicas"] == 3
    container = worker["spec"]["containers"][0]
    assert container["image"] == "example/scalecluster:1"
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "4Gi"}
    assert "namespace" not in str(
        spec["metadata"]
    )  # a KubeCluster argument, not part of the spec

    # make_cluster gives KubeCluster exactly that spec (KubeCluster itself needs a live cluster).
    calls = []

    class FakeKubeCluster:
        dashboard_link = "http://127.0.0.1:0/status"

        def __init__(self, **kwargs):
            calls.append(kwargs)

    FakeKubeCluster.__init__.__signature__ = inspect.signature(
        operator.KubeCluster.__init__
    )  # the options check
    monkeypatch.setattr(operator, "KubeCluster", FakeKubeCluster)
    make_cluster(
        "kubernetes", n_workers=3, image="example/scalecluster:1", namespace="dask"
    )
    assert calls == [
        {"custom_cluster_spec": spec, "namespace": "dask", "shutdown_on_close": True}
    ]


def test_local_cuda_options_are_those_of_local_cuda_cluster():
    pytest.importorskip("dask_cuda")
    assert load_cluster_config("local-cuda")["options"]["threads_per_worker"] == 1
    with pytest.raises(
        ValueError, match="'rmm_pool' \\(did you mean 'rmm_pool_size'\\?\\)"
    ):
        load_cluster_config("local-cuda", rmm_pool="1GB")


@pytest.mark.gpu
@pytest.mark.skipif(not GPU, reason="needs CuPy and a CUDA GPU")
def test_local_cuda_starts_on_a_gpu():
    pytest.importorskip("dask_cuda")
    with connect("local-cuda", n_workers=1, dashboard_address="127.0.0.1:0") as client:
        assert client.submit(sum, [1, 2]).result() == 3


@pytest.mark.parametrize(
    "kind, modules, extra",
    [
        ("local-cuda", ["dask_cuda"], "cuda"),
        ("slurm", ["dask_jobqueue"], "slurm"),
        ("kubernetes", ["dask_kubernetes", "dask_kubernetes.operator"], "kubernetes"),
    ],
)
def test_missing_package_names_the_extra(monkeypatch, kind, modules, extra):
    for module in modules:
        monkeypatch.setitem(
            sys.modules, module, None
        )  # what an environment without the extra sees
    assert load_cluster_config(kind)["type"] == kind  # reading needs no package
    message = f'pip install "scalecluster\\[{extra}\\]"'
    with pytest.raises(ModuleNotFoundError, match=message) as raised:
        make_cluster(kind)
    assert raised.value.name == modules[-1]
    with pytest.raises(ModuleNotFoundError, match=message):
        connect(kind)
    if kind == "kubernetes":
        with pytest.raises(ModuleNotFoundError, match=message):
            kubernetes_cluster_spec(kind)


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
            "is not a tls:// address",
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


def test_client_from_config_is_connect(tmp_path):
    client = client_from_config(
        write(tmp_path / "mine.yaml", {"type": "local", "options": QUICK})
    )
    try:
        assert client.submit(sum, [2, 3]).result() == 5
    finally:
        client.close()
    with pytest.raises(ValueError, match="no address"):
        client_from_config({"type": "scheduler"})
