"""The ``tls:`` files of a scheduler config, checked when the config is read.

``distributed`` opens the certificate files only when the client connects,
and a bad one then fails as ``ssl.SSLError: [SSL] PEM lib``, naming neither
the file nor which of the three it is.  So each file is checked here, with
the ``ssl`` module that will use it: it exists, it can be read, the CA file
holds a PEM certificate, the client certificate holds one too, and the key
(in its own file, or in the certificate's) is an unencrypted PEM private key
that matches the certificate.  Each error names the ``tls.<key>`` and the file.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

#: ``tls:`` keys of a scheduler config -> ``distributed.security.Security`` arguments.
TLS_FIELDS = {
    "ca_file": "tls_ca_file",
    "cert": "tls_client_cert",
    "key": "tls_client_key",
}
#: What each ``tls:`` file must hold, for messages.
_WHAT = {
    "ca_file": "CA certificate that signed the scheduler's certificate (PEM)",
    "cert": "client's certificate (PEM)",
    "key": "client's private key (PEM)",
}


class _Encrypted(Exception):
    """Raised by the password callback: the key needs a passphrase."""


def resolve_tls_files(tls: dict, where: str, base: Path | None) -> None:
    """Make the ``tls:`` paths absolute (relative ones from ``base``) and check their contents, in place.

    Raises
    ------
    FileNotFoundError
        A file that does not exist.
    ValueError
        A missing ``ca_file`` or ``cert``, a file that cannot be read, or one
        that is not what its key must be (named with the key and the path).
    """
    for key in TLS_FIELDS:
        if tls.get(key) is None:
            if key == "key":
                continue  # the key may be in the certificate file
            raise ValueError(f"{where} has tls but no tls.{key}; give the path of the {_WHAT[key]}.")
        path = Path(os.path.expandvars(str(tls[key]))).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise FileNotFoundError(f"{where}: the tls.{key} file {str(path)!r} does not exist.")
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as error:
            raise ValueError(
                f"{where}: the tls.{key} file {str(path)!r} cannot be read ({error.strerror or error}); "
                "check its permissions."
            ) from error
        tls[key] = str(path)
    _check_pem(tls, where)


def _check_pem(tls: dict, where: str) -> None:
    """Load the files as the client's TLS context will, one at a time, to name the bad one."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for key in ("ca_file", "cert"):
        try:
            context.load_verify_locations(cafile=tls[key])
        except ssl.SSLError as error:
            raise ValueError(
                f"{where}: the tls.{key} file {tls[key]!r} must hold a PEM certificate "
                f"('-----BEGIN CERTIFICATE-----'), but ssl cannot read one from it ({error.reason or error}); "
                f"give the {_WHAT[key]}."
            ) from error
    key = tls.get("key")
    try:
        context.load_cert_chain(tls["cert"], key, password=_no_password)
    except _Encrypted:
        raise ValueError(
            f"{where}: the private key in {key or tls['cert']!r} (tls.{'key' if key else 'cert'}) is encrypted; "
            "distributed cannot use a key that needs a passphrase. Give a key without one "
            "(e.g. openssl pkey -in key.pem -out plain.pem)."
        ) from None
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise ValueError(
                f"{where}: the tls.key file {key!r} does not match the certificate in the tls.cert file "
                f"{tls['cert']!r}; give the private key of that certificate."
            ) from error
        if key is None:
            raise ValueError(
                f"{where}: the tls.cert file {tls['cert']!r} holds a certificate but no private key; "
                "add tls.key, the path of the client's private key (PEM)."
            ) from error
        raise ValueError(
            f"{where}: the tls.key file {key!r} must hold a PEM private key ('-----BEGIN PRIVATE KEY-----'), "
            f"but ssl cannot read one from it ({error.reason or error}); give the {_WHAT['key']}."
        ) from error


def _no_password() -> bytes:
    raise _Encrypted
