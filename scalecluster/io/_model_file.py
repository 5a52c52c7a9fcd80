"""A segmentation model's ``model.json``, found and checked with the standard library only.

The command line checks the model folder it is given here before it imports
NumPy, pandas or scikit-learn, so a wrong folder, a model of another kind or a
newer format version is answered at once; :func:`scalecluster.jobs.load_model`
starts from the same checks.
"""

from __future__ import annotations

import json
import os
from typing import Any

#: What model.json's "format" says.
FORMAT = "scalecluster-segment-model"
#: The model format this version writes and reads (a newer one is refused).
FORMAT_VERSION = 1
MODEL_FILE = "model.json"
#: Keys every model.json has.
REQUIRED = ("format", "format_version", "id", "columns", "reading", "reference", "features", "scaling", "segments",
            "outlier_bounds", "overall_medians", "psi_bins", "n_customers")


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
    raise ModelError(f"{folder!r} holds no segmentation model (no {MODEL_FILE} in it or in its model/ folder): "
                     "give the --out folder of a 'scalecluster segment' run, or its model/ folder.")


def read_model_document(path: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """The model folder and its parsed model.json, checked for format, version and keys.

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    ModelError
        No model.json, one that is not JSON, a model of another kind, a newer
        format version, or missing keys.
    """
    file = find_model_file(path)
    folder = os.path.dirname(file)
    try:
        with open(file, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{file!r} is not a readable model file ({error}); write the model again with "
                         "'scalecluster segment'.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        kind = document.get("format") if isinstance(document, dict) else None
        raise ModelError(f"{file!r} is not a scalecluster segmentation model (its format is {kind!r}, not "
                         f"{FORMAT!r}); give the --out folder of a 'scalecluster segment' run.")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelError(f"{file!r} has no valid format_version ({version!r}); write the model again with "
                         "'scalecluster segment'.")
    if version > FORMAT_VERSION:
        raise ModelError(f"The model in {folder!r} has format version {version}, newer than this scalecluster "
                         f"reads ({FORMAT_VERSION}): upgrade scalecluster (pip install -U scalecluster), or write "
                         "the model again with this version.")
    missing = [key for key in REQUIRED if key not in document]
    if missing:
        raise ModelError(f"{file!r} lacks {', '.join(missing)}: it is damaged or not a model; write it again with "
                         "'scalecluster segment'.")
    return folder, document
