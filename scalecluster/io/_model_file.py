"""A job's ``model.json``, found and checked with the standard library only.

Two jobs write a ``model/`` folder: ``scalecluster segment`` (a customer
segmentation) and ``scalecluster anomalies`` (a traffic-anomaly model).  The
``format`` in model.json says which job made it (:data:`FORMATS`), and the
loaders (:func:`scalecluster.jobs.load_model`) and ``scalecluster apply``
dispatch on it.  The command line checks the model folder it is given here
before it imports NumPy, pandas or scikit-learn, so a wrong folder, a model of
another kind or a newer format version is answered at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

#: What a segmentation's model.json "format" says.
FORMAT = "scalecluster-segment-model"
#: What an anomaly model's model.json "format" says.
ANOMALY_FORMAT = "scalecluster-anomaly-model"
#: The segmentation format this version writes and reads (a newer one is refused).
FORMAT_VERSION = 1
#: The anomaly-model format this version writes and reads (a newer one is refused).
ANOMALY_FORMAT_VERSION = 1
MODEL_FILE = "model.json"
#: Keys every segmentation model.json has.
REQUIRED = ("format", "format_version", "id", "columns", "reading", "reference", "features", "scaling", "segments",
            "outlier_bounds", "overall_medians", "psi_bins", "n_customers")
#: Keys every anomaly model.json has.
ANOMALY_REQUIRED = ("format", "format_version", "id", "columns", "features", "scaling", "eps", "min_samples",
                    "clusters", "core", "files")
#: format -> (the job that writes it, its format version, its required keys, what it is in words).
FORMATS = {
    FORMAT: ("segment", FORMAT_VERSION, REQUIRED, "a customer segmentation (from 'scalecluster segment')"),
    ANOMALY_FORMAT: ("anomalies", ANOMALY_FORMAT_VERSION, ANOMALY_REQUIRED,
                     "a traffic-anomaly model (from 'scalecluster anomalies')"),
}
_RUNS = "a 'scalecluster segment' or 'scalecluster anomalies' run"


class ModelError(ValueError):
    """A folder that does not hold a model this scalecluster can use (one line, naming the fix)."""


def find_model_file(path: str | os.PathLike) -> str:
    """``path/model.json`` or ``path/model/model.json`` (a job's output folder), or a one-line error."""
    folder = os.fspath(path)
    if not os.path.exists(folder):
        raise FileNotFoundError(f"No such model folder: {folder!r}.")
    for candidate in (os.path.join(folder, MODEL_FILE), os.path.join(folder, "model", MODEL_FILE)):
        if os.path.isfile(candidate):
            return candidate
    raise ModelError(f"{folder!r} holds no model (no {MODEL_FILE} in it or in its model/ folder): give the --out "
                     f"folder of {_RUNS}, or its model/ folder.")


def model_job(document: dict[str, Any]) -> str:
    """The job that wrote a checked model document: ``"segment"`` or ``"anomalies"``."""
    return FORMATS[document["format"]][0]


def model_kind(document: dict[str, Any]) -> str:
    """What a checked model document is, in words: ``a customer segmentation (from 'scalecluster segment')``."""
    return FORMATS[document["format"]][3]


def read_model_document(path: str | os.PathLike, job: str | None = None,
                        use: str | None = None) -> tuple[str, dict[str, Any]]:
    """The model folder and its parsed model.json, checked for format, version and keys.

    Parameters
    ----------
    path : str or path-like
        A job's output folder, or its ``model/`` folder.
    job : {"segment", "anomalies"}, default=None
        The job whose model is wanted (None: either).
    use : str, default=None
        What the model is wanted for, for the message when it is of another
        job (``"drift compares customer segments"``).

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    ModelError
        No model.json, one that is not JSON (a truncated file), a model of
        another kind or job, a newer format version, or missing keys.
    """
    file = find_model_file(path)
    folder = os.path.dirname(file)
    try:
        with open(file, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{file!r} is not a readable model file ({error}); it is damaged or cut short: copy the "
                         f"model/ folder again, or write the model again with {_RUNS}.") from None
    kind = document.get("format") if isinstance(document, dict) else None
    if kind not in FORMATS:
        known = " or ".join(repr(f) for f in FORMATS)
        raise ModelError(f"{file!r} is not a scalecluster model (its format is {kind!r}, not {known}); give the "
                         f"--out folder of {_RUNS}.")
    writer, supported, required, words = FORMATS[kind]
    if job is not None and writer != job:
        wanted = FORMATS[next(f for f, spec in FORMATS.items() if spec[0] == job)][3]
        why = f"{use}; " if use else ""
        raise ModelError(f"The model in {folder!r} is {words}, not {wanted}: {why}give the --out folder of a "
                         f"'scalecluster {job}' run.")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelError(f"{file!r} has no valid format_version ({version!r}); write the model again with "
                         f"'scalecluster {writer}'.")
    if version > supported:
        raise ModelError(f"The model in {folder!r} has format version {version}, newer than this scalecluster "
                         f"reads ({supported}): upgrade scalecluster (pip install -U scalecluster), or write "
                         "the model again with this version.")
    missing = [key for key in required if key not in document]
    if missing:
        raise ModelError(f"{file!r} lacks {', '.join(missing)}: it is damaged or not a model; write it again with "
                         f"'scalecluster {writer}'.")
    return folder, document


def file_sha256(path: str) -> str:
    """The SHA-256 of a model's array file, as model.json records it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
