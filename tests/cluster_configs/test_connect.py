"""connect(): the local cluster starts for real, schedulers on loopback, and failures name the address."""

from __future__ import annotations

import inspect
import logging
import socket

import pytest

import scalecluster
from scalecluster.cluster_configs import (
    client_from_config,
    connect,
    load_cluster_config,
)

from .conftest import QUICK, write

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


def test_scheduler_config_with_tls(tmp_path, tls_files, tls_scheduler):
    tls = {key: path.name for key, path in tls_files.items()}  # relative to the config's folder
    path = write(
        tmp_path / "tls.yaml",
        {"type": "scheduler", "address": tls_scheduler.scheduler_address, "tls": tls},
    )
    config = load_cluster_config(path)
    assert config["tls"]["ca_file"] == str(tls_files["ca_file"])
    client = connect(path)
    try:
        assert client.security.require_encryption
        assert client.submit(sum, [1, 1]).result() == 2
    finally:
        client.close()


# --------------------------------------------------------------------------- failures name the address


def test_a_tcp_address_of_a_tls_scheduler_says_use_tls(tls_scheduler):
    address = tls_scheduler.scheduler_address.replace("tls://", "tcp://")
    with pytest.raises(ConnectionError) as raised:
        connect({"type": "scheduler", "address": address, "options": {"timeout": "5s"}})
    message = str(raised.value)
    assert f"Could not connect to the Dask scheduler at {address!r}" in message
    assert f"connect with {tls_scheduler.scheduler_address} and a tls: section (ca_file, cert, key)" in message
    assert raised.value.__cause__ is not None  # distributed's own error, for whoever digs


def test_an_unreachable_scheduler_is_named():
    with socket.socket() as sock:  # a loopback port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ConnectionError, match=f"at '{address}' .*Check that the scheduler is running") as raised:
        connect("scheduler", address=address, timeout="1s")
    assert raised.value.__cause__ is not None


class _Refused:
    """Stands in for distributed.Client: fails as a TLS mismatch can, with an empty AssertionError."""

    def __init__(self, *args, **kwargs):
        raise AssertionError


@pytest.mark.parametrize(
    "config, hint",
    [
        ({"address": "tcp://10.0.0.1:8786"}, "connect with tls://10.0.0.1:8786 and a tls: section"),
        ({"address": "tls://10.0.0.1:8786"}, "A tls:// address needs the client's certificates: add a tls: section"),
        ({"address": "tls://10.0.0.1:8786", "options": {"security": {"tls_ca_file": "ca.pem"}}},
         "that the tls: files are right for it"),
    ],
)
def test_an_empty_assertion_error_becomes_a_message(monkeypatch, config, hint):
    import distributed

    signature = inspect.signature(distributed.Client.__init__)  # what the options check reads
    monkeypatch.setattr(_Refused.__init__, "__signature__", signature, raising=False)
    monkeypatch.setattr(distributed, "Client", _Refused)
    with pytest.raises(ConnectionError) as raised:
        connect({"type": "scheduler", **config})
    message = str(raised.value)
    assert f"at {config['address']!r} (AssertionError, with no message)" in message
    assert hint in message
    assert isinstance(raised.value.__cause__, AssertionError)
