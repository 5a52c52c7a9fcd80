"""What the cluster-config tests share: quick loopback options, a YAML writer, TLS files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

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


def write(path: Path, config: object) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def make_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its unencrypted key, as PEM files.

    Made with ``cryptography`` when it is installed, else with the ``openssl``
    command; the test is skipped when neither is there.
    """
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    try:
        from distributed.security import Security

        security = Security.temporary()  # PEM texts; needs cryptography
        cert.write_text(security.tls_client_cert)
        key.write_text(security.tls_client_key)
        return cert, key
    except ImportError:
        pass
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs cryptography or the openssl command to make certificates")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def encrypt_key(key: Path, out: Path) -> Path:
    """``key`` encrypted with a passphrase (what distributed cannot use)."""
    try:
        from cryptography.hazmat.primitives import serialization

        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
        out.write_bytes(private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        ))
        return out
    except ImportError:
        pass
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs cryptography or the openssl command to encrypt a key")
    subprocess.run([openssl, "pkey", "-in", str(key), "-out", str(out), "-aes256", "-passout", "pass:secret"],
                   check=True, capture_output=True)
    return out


@pytest.fixture
def tls_files(tmp_path):
    """{"ca_file", "cert", "key"}: one self-signed certificate plays the CA, the scheduler and the client."""
    cert, key = make_certificate(tmp_path, "client")
    return {"ca_file": cert, "cert": cert, "key": key}


@pytest.fixture
def tls_scheduler(tls_files):
    """A TLS-only scheduler (and one worker) on 127.0.0.1, using ``tls_files``."""
    from distributed import LocalCluster
    from distributed.security import Security

    cert, key = str(tls_files["cert"]), str(tls_files["key"])
    security = Security(
        tls_ca_file=cert, tls_scheduler_cert=cert, tls_scheduler_key=key, tls_worker_cert=cert,
        tls_worker_key=key, tls_client_cert=cert, tls_client_key=key, require_encryption=True,
    )
    with LocalCluster(protocol="tls://", host="127.0.0.1", security=security, **QUICK) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        yield cluster
