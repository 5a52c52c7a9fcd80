"""The tls: files of a scheduler config are checked when it is read, and each error names its file."""

from __future__ import annotations

import ssl

import pytest

import scalecluster.cluster_configs._tls as tls_module
from scalecluster.cluster_configs import connect, load_cluster_config

from .conftest import encrypt_key, make_certificate, write

ADDRESS = "tls://127.0.0.1:1"  # nothing is contacted: every error comes from reading the files


def _config(tmp_path, **tls):
    return write(tmp_path / "tls.yaml", {"type": "scheduler", "address": ADDRESS, "tls": tls})


def test_good_files_pass_and_relative_paths_start_at_the_config(tmp_path, tls_files):
    config = load_cluster_config(_config(tmp_path, ca_file="client.pem", cert="client.pem", key="client.key"))
    assert config["tls"] == {key: str(path) for key, path in tls_files.items()}
    # A certificate file that also holds its key needs no tls.key.
    both = tmp_path / "both.pem"
    both.write_text(tls_files["cert"].read_text() + tls_files["key"].read_text())
    assert load_cluster_config(_config(tmp_path, ca_file="client.pem", cert="both.pem"))["tls"]["cert"] == str(both)


@pytest.mark.parametrize(
    "case, message",
    [
        ("ca_junk", r"the tls.ca_file file '.*junk.pem' must hold a PEM certificate .*give the CA certificate"),
        ("ca_is_key", r"the tls.ca_file file '.*client.key' must hold a PEM certificate"),
        ("cert_is_key", r"the tls.cert file '.*client.key' must hold a PEM certificate"),
        ("key_is_cert", r"the tls.key file '.*client.pem' must hold a PEM private key"),
        ("key_junk", r"the tls.key file '.*junk.pem' must hold a PEM private key"),
        ("other_key", (r"the tls.key file '.*other.key' does not match the certificate in the tls.cert file "
                       r"'.*client.pem'")),
        ("no_key", r"the tls.cert file '.*client.pem' holds a certificate but no private key; add tls.key"),
        ("encrypted", r"the private key in '.*secret.key' \(tls.key\) is encrypted; distributed cannot use"),
    ],
)
def test_bad_files_are_named_with_their_key(tmp_path, tls_files, case, message):
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    ca, cert, key = "client.pem", "client.pem", "client.key"
    if case == "ca_junk":
        ca = "junk.pem"
    elif case == "ca_is_key":
        ca = "client.key"
    elif case == "cert_is_key":
        cert = "client.key"
    elif case == "key_is_cert":
        key = "client.pem"
    elif case == "key_junk":
        key = "junk.pem"
    elif case == "other_key":
        make_certificate(tmp_path, "other")
        key = "other.key"
    elif case == "no_key":
        key = None
    elif case == "encrypted":
        key = encrypt_key(tls_files["key"], tmp_path / "secret.key").name
    tls = {"ca_file": ca, "cert": cert, **({"key": key} if key else {})}
    path = _config(tmp_path, **tls)
    with pytest.raises(ValueError, match=message) as raised:
        load_cluster_config(path)
    assert not isinstance(raised.value, ssl.SSLError)
    with pytest.raises(ValueError, match=message):  # before any connection is tried
        connect(path)


def test_an_unreadable_file_is_named(tmp_path, tls_files, monkeypatch):
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    # As root every file is readable, so the refusal is simulated where the module opens files.
    monkeypatch.setattr(tls_module, "open", refuse, raising=False)
    with pytest.raises(ValueError, match=r"the tls.ca_file file '.*client.pem' cannot be read \(Permission denied\)"):
        load_cluster_config(_config(tmp_path, ca_file="client.pem", cert="client.pem", key="client.key"))


def test_a_missing_ca_file_or_cert_is_named(tmp_path, tls_files):
    with pytest.raises(ValueError, match="has tls but no tls.cert; give the path of the client's certificate"):
        load_cluster_config(_config(tmp_path, ca_file="client.pem"))
    with pytest.raises(FileNotFoundError, match="the tls.key file '.*nokey.pem' does not exist"):
        load_cluster_config(_config(tmp_path, ca_file="client.pem", cert="client.pem", key="nokey.pem"))
