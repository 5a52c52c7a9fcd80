"""Building clusters: SLURM, Kubernetes and CUDA configs build without a queue, a cluster or a GPU."""

from __future__ import annotations

import inspect
import sys

import pytest

from scalecluster.cluster_configs import (
    connect,
    kubernetes_cluster_spec,
    load_cluster_config,
    make_cluster,
)
from tests.conftest import GPU

from .conftest import SLURM_SCHEDULER


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
