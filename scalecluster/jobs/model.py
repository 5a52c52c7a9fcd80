"""A segmentation as plain data: saved by ``segment``, loaded to label next month's customers.

The segmentation job writes ``model/`` into its output folder:

* ``model.json`` — what the model is: format and version, the id of the run
  that wrote it, the input columns, how rows were read (duplicates, dates),
  the reference-date rule, the features and their scaling (log1p, centre,
  scale), the outlier fences, each segment's number, name, action, size and
  medians, the overall medians, the currency, and the bins of each feature for
  the population-stability index (:mod:`scalecluster.jobs.drift`);
* ``centres.npz`` — the segment centres (scaled features), **row s is segment
  s** (the published number), with the run's id;
* ``customers/`` — Parquet: each training customer's segment (for ``drift``:
  who changed segment).

No pickle anywhere: JSON, NumPy's ``.npz`` read with ``allow_pickle=False``,
and Parquet.  :func:`load_model` checks what it reads (format, version, the
files, that they come from the same run, their shapes and checksum) and refuses
anything else in one line.

:class:`SegmentModel` numbers customers the way the report does:
:meth:`~SegmentModel.predict` returns published segment numbers, because the
centres are stored in that order: there is no second numbering to confuse
with.  The job's own labels are computed by the same ``predict``, so applying
the model to the training data gives the training labels exactly.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..features._columns import is_dask
from ..io._model_file import (
    FORMAT,
    FORMAT_VERSION,
    MODEL_FILE,
    REQUIRED,
    ModelError,
    file_sha256,
    read_model_document,
)

CENTRES_FILE = "centres.npz"
CUSTOMERS_DIR = "customers"

@dataclass
class SegmentModel:
    """A fitted segmentation, as saved in ``model/`` (see the module docstring).

    Use :func:`load_model` to read one; :meth:`assign` labels new transactions,
    :meth:`predict` labels customers' RFM features.
    """

    id: str  #: the run that wrote the model
    columns: dict[str, str]  #: customer, timestamp, amount (and order) -> input column
    reading: dict[str, Any]  #: keep_duplicates, dayfirst, date_format
    reference: dict[str, Any]  #: {"rule": "last" | "given", "date": ISO date of the training reference}
    features: list[str]  #: recency, frequency, monetary
    scaling: Any  #: :class:`scalecluster.features.Scaling`
    centres: np.ndarray  #: (k, n_features), scaled; row s = segment s
    segments: pd.DataFrame  #: per segment (index 0..k-1): name, action, customers, share, medians
    outlier_bounds: dict[str, tuple[float, float]]
    overall: dict[str, float]  #: training medians of the features
    psi_bins: dict[str, dict[str, list[float]]]  #: feature -> {"edges": [...], "shares": [...]}
    n_customers: int
    currency: str | None = None
    created: str = ""
    version: str = ""
    path: str | None = None  #: the model folder it was loaded from (or written to)
    extra: dict[str, Any] = field(default_factory=dict)
    #: the training customers' segments, while the model is in the memory of the run that fitted it
    training: Any = field(default=None, repr=False)

    @property
    def k(self) -> int:
        return int(self.centres.shape[0])

    @property
    def names(self) -> dict[int, str]:
        return {int(s): str(n) for s, n in self.segments["name"].items()}

    @property
    def actions(self) -> dict[int, str]:
        return {int(s): str(a) for s, a in self.segments["action"].items()}

    def transform(self, features: Any) -> Any:
        """RFM features (original units; pandas or Dask) -> scaled, as the centres are."""
        return self.scaling.transform(features[self.features])

    def predict(self, features: Any) -> Any:
        """Published segment numbers of customers, from their RFM features in original units.

        ``features``: a DataFrame with the model's feature columns (``recency``,
        ``frequency``, ``monetary``), pandas (-> ndarray of int64) or Dask (-> a
        Dask Series, per partition).  Each customer goes to the nearest centre
        in scaled space (ties: the lower segment number) — the numbers of the
        report, the profile and the labels.
        """
        from ._stability import nearest

        scaled = self.transform(features)
        if is_dask(scaled):
            centres = self.centres
            return scaled.map_partitions(
                lambda part: pd.Series(nearest(part.to_numpy(dtype=np.float64), centres)[0], index=part.index,
                                       name="segment", dtype="int64"),
                meta=pd.Series([], dtype="int64", name="segment"))
        return nearest(scaled.to_numpy(dtype=np.float64), self.centres)[0]

    def label(self, features: Any) -> Any:
        """``features`` with ``segment``, ``segment_name`` and ``outlier`` (outside the training fences)."""
        if is_dask(features):
            meta = _labelled_part(features._meta, self)
            return features.map_partitions(_labelled_part, self, meta=meta)
        return _labelled_part(features, self)

    def assign(self, data: Any, **options: Any) -> Any:
        """Label new transactions: read them as the training data was, and give each customer a published segment.

        ``data``: like :func:`scalecluster.jobs.segment`'s (path, pandas or
        Dask).  ``options`` go to :func:`scalecluster.jobs.apply_model`
        (``reference_date``, ``client``, ...).  Returns one row per customer
        (recency, frequency, monetary, segment, segment_name, outlier), pandas
        or (on Dask) a persisted Dask frame.
        """
        from .apply import apply_model

        options.setdefault("verbose", False)
        return apply_model(self, data, **options).customers

    # ------------------------------------------------------------------ files

    def to_json(self) -> dict[str, Any]:
        segments = []
        for number, row in self.segments.iterrows():
            item = {"segment": int(number)}
            for column, value in row.items():
                value = value.item() if isinstance(value, np.generic) else value
                item[str(column)] = None if isinstance(value, float) and not np.isfinite(value) else value
            segments.append(item)
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "job": "segment", "id": self.id,
            "created": self.created,
            "scalecluster_version": self.version, "columns": self.columns, "reading": self.reading,
            "reference": self.reference, "features": list(self.features),
            "scaling": {"method": self.scaling.method, "log": list(self.scaling.log),
                        "center": [float(self.scaling.center[c]) for c in self.features],
                        "scale": [float(self.scaling.scale[c]) for c in self.features]},
            "k": self.k, "segments": segments,
            "outlier_bounds": {c: [float(lo), float(hi)] for c, (lo, hi) in self.outlier_bounds.items()},
            "overall_medians": {c: float(v) for c, v in self.overall.items()},
            "psi_bins": self.psi_bins, "n_customers": int(self.n_customers), "currency": self.currency,
            "files": {}, **self.extra,
        }

    def save(self, folder: str, customers: Any = None) -> dict[str, str]:
        """Write ``model.json``, ``centres.npz`` and (given the training labels) ``customers/`` into ``folder``."""
        os.makedirs(folder, exist_ok=True)
        centres_path = os.path.join(folder, CENTRES_FILE)
        with open(centres_path, "wb") as handle:
            np.savez(handle, centres=np.asarray(self.centres, dtype=np.float64), model_id=np.array(self.id))
        document = self.to_json()
        document["files"] = {CENTRES_FILE: {"sha256": file_sha256(centres_path)}}
        written = {"model_centres": centres_path}
        if customers is not None:
            target = os.path.join(folder, CUSTOMERS_DIR)
            _write_customers(customers, target)
            document["files"][CUSTOMERS_DIR] = {"rows": int(self.n_customers)}
            written["model_customers"] = target
        path = os.path.join(folder, MODEL_FILE)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, allow_nan=False)
        written["model"] = path
        return written

    def training_customers(self) -> Any:
        """The training customers' segments (pandas Series indexed by customer id), or None if not known."""
        if self.path is None or not os.path.isdir(os.path.join(self.path, CUSTOMERS_DIR)):
            if self.training is None:
                return None
            return pd.Series(np.asarray(self.training, dtype=np.int64),
                             index=pd.Index(self.training.index.astype("string")), name="segment")
        frame = pd.read_parquet(os.path.join(self.path, CUSTOMERS_DIR))
        return pd.Series(frame["segment"].to_numpy(dtype=np.int64), index=frame["customer"].astype("string"),
                         name="segment")


def new_id() -> str:
    return uuid.uuid4().hex


def _labelled_part(part: pd.DataFrame, model: SegmentModel) -> pd.DataFrame:
    segments = model.predict(part) if len(part) else np.array([], dtype=np.int64)
    outside = np.zeros(len(part), dtype=bool)
    for column, (low, high) in model.outlier_bounds.items():
        values = part[column].to_numpy(dtype=np.float64)
        outside |= (values < low) | (values > high)
    names = model.names
    return part.assign(segment=np.asarray(segments, dtype=np.int64),
                       segment_name=pd.array([names[int(s)] for s in segments], dtype="string"),
                       outlier=outside)


def _write_customers(customers: Any, target: str) -> None:
    """customer (text), segment (int64) as Parquet: one file in memory, one per partition on Dask."""
    if is_dask(customers):
        frame = customers.map_partitions(_customer_columns, meta=_customer_columns(customers._meta))
        frame.to_parquet(target, write_index=False)
        return
    os.makedirs(target)
    _customer_columns(customers).to_parquet(os.path.join(target, "part-00000.parquet"), index=False)


def _customer_columns(part: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"customer": pd.array(part.index.astype("string"), dtype="string"),
                         "segment": part["segment"].to_numpy(dtype=np.int64)})


# --------------------------------------------------------------------------- loading


def load_model(path: str | os.PathLike) -> Any:
    """Read and check a model written by :func:`scalecluster.jobs.segment` or
    :func:`scalecluster.jobs.detect_anomalies`.

    The folder's model.json says which job wrote it; the model of that job is returned.

    Parameters
    ----------
    path : str or path-like
        The job's output folder, or its ``model/`` folder.

    Returns
    -------
    SegmentModel or AnomalyModel
        A segmentation (:meth:`~SegmentModel.assign` labels next month's
        customers) or an anomaly model (:meth:`~scalecluster.jobs.AnomalyModel.score`
        scores new flows).

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    ModelError (a ValueError)
        One line: not a model, a newer format version, files missing, damaged,
        cut short or from another run (an array file whose run id or checksum
        differs from ``model.json``'s), shapes or feature names that do not agree.
    """
    from ..io._model_file import model_job

    folder, document = read_model_document(path)
    if model_job(document) == "anomalies":
        from .anomaly_model import load_anomaly_model

        return load_anomaly_model(folder, document)
    return _load_segment_model(folder, document)


def load_anomaly_model_from(path: Any) -> Any:
    """An anomaly model (given, or read from ``path``); a model of another job is a one-line ModelError."""
    from .anomaly_model import AnomalyModel, load_anomaly_model

    if isinstance(path, AnomalyModel):
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise ModelError(f"The model given is a {type(path).__name__}, not a traffic-anomaly model (from "
                         "'scalecluster anomalies').")
    folder, document = read_model_document(path, job="anomalies", use="scoring flows needs an anomaly model")
    return load_anomaly_model(folder, document)


def load_segment_model(path: Any, use: str | None = None) -> SegmentModel:
    """A segmentation model (given, or read from ``path``); a model of another job is a one-line ModelError."""
    if isinstance(path, SegmentModel):
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise ModelError(f"The model given is a {type(path).__name__}, not a customer segmentation (from "
                         f"'scalecluster segment'){': ' + use if use else ''}.")
    folder, document = read_model_document(path, job="segment", use=use)
    return _load_segment_model(folder, document)


def _load_segment_model(folder: str, document: dict[str, Any]) -> SegmentModel:
    from ..features import Scaling

    where = f"The model in {folder!r}"
    centres_path = os.path.join(folder, CENTRES_FILE)
    if not os.path.isfile(centres_path):
        raise ModelError(f"{where} lacks {CENTRES_FILE}: copy the whole model/ folder.")
    recorded = document.get("files", {}).get(CENTRES_FILE, {}).get("sha256")
    try:
        # The file is opened here: np.load leaves its own handle open when the zip cannot be read (cut short).
        with open(centres_path, "rb") as handle, np.load(handle, allow_pickle=False) as arrays:
            centres = np.array(arrays["centres"], dtype=np.float64)
            model_id = str(arrays["model_id"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ModelError(f"{where}: {CENTRES_FILE} cannot be read ({error}); copy the whole model/ folder "
                         "again.") from None
    if model_id != document["id"]:
        raise ModelError(f"{where}: {CENTRES_FILE} comes from another run (id {model_id[:8]}…, model.json says "
                         f"{str(document['id'])[:8]}…): copy model.json and {CENTRES_FILE} of the same run "
                         "together.")
    if recorded is not None and recorded != file_sha256(centres_path):
        raise ModelError(f"{where}: {CENTRES_FILE} was changed after the model was written (its checksum differs "
                         "from model.json's): copy the model/ folder again.")
    features = list(document["features"])
    segments = pd.DataFrame(document["segments"])
    k = len(segments)
    scaling = document["scaling"]
    if (centres.ndim != 2 or centres.shape != (k, len(features)) or not np.isfinite(centres).all()
            or list(segments.get("segment", [])) != list(range(k))
            or len(scaling.get("center", [])) != len(features) or len(scaling.get("scale", [])) != len(features)
            or int(document.get("k", k)) != k or "name" not in segments):
        raise ModelError(f"{where} does not hold together (centres of shape {centres.shape}, {k} segments, "
                         f"{len(features)} features): it is damaged; write it again with 'scalecluster segment'.")
    if segments["name"].duplicated().any():
        raise ModelError(f"{where} has two segments with one name: it is damaged; write it again.")
    segments = segments.set_index("segment")
    segments.index.name = "segment"
    if "action" not in segments:
        segments["action"] = ""
    fitted = Scaling(scaling["method"], features, list(scaling["log"]),
                     pd.Series(scaling["center"], index=features, dtype="float64"),
                     pd.Series(scaling["scale"], index=features, dtype="float64"))
    customers = os.path.join(folder, CUSTOMERS_DIR)
    rows = document.get("files", {}).get(CUSTOMERS_DIR, {}).get("rows")
    if rows is not None and os.path.isdir(customers):
        found = _parquet_rows(customers)
        if found is not None and found != rows:
            raise ModelError(f"{where}: {CUSTOMERS_DIR}/ holds {found:,} customers, model.json says {rows:,}: copy "
                             "the model/ folder again.")
    extra = {key: value for key, value in document.items()
             if key not in (*REQUIRED, "job", "created", "scalecluster_version", "k", "currency", "files")}
    return SegmentModel(
        id=str(document["id"]), columns=dict(document["columns"]), reading=dict(document["reading"]),
        reference=dict(document["reference"]), features=features, scaling=fitted, centres=centres,
        segments=segments,
        outlier_bounds={c: (float(v[0]), float(v[1])) for c, v in document["outlier_bounds"].items()},
        overall={c: float(v) for c, v in document["overall_medians"].items()}, psi_bins=document["psi_bins"],
        n_customers=int(document["n_customers"]), currency=document.get("currency"),
        created=str(document.get("created", "")), version=str(document.get("scalecluster_version", "")),
        path=folder, extra=extra,
    )


def _parquet_rows(folder: str) -> int | None:
    try:
        import pyarrow.parquet as pq

        from ..io._files import folder_files

        return sum(pq.ParquetFile(f).metadata.num_rows for f in folder_files(folder) if f.endswith(".parquet"))
    except (ImportError, OSError, ValueError):
        return None


# --------------------------------------------------------------------------- population stability


def psi_bins(features: Any, columns: list[str]) -> dict[str, dict[str, list[float]]]:
    """Decile edges of each feature (distinct ones) and the share of customers in each bin."""
    from ..features._quantiles import column_quantiles

    quantiles = column_quantiles(features[columns], [i / 10 for i in range(1, 10)])
    edges = {c: sorted({float(v) for v in quantiles[c].to_numpy() if np.isfinite(v)}) for c in columns}
    shares = bin_shares(features, edges)
    return {c: {"edges": edges[c], "shares": shares[c]} for c in columns}


def bin_shares(features: Any, edges: dict[str, list[float]]) -> dict[str, list[float]]:
    """Share of rows in each bin ``(-inf, e1], (e1, e2], ..., (e_last, inf)`` of each feature."""
    columns = list(edges)
    if is_dask(features):
        import dask

        parts = [dask.delayed(_bin_counts)(p, edges) for p in features[columns].to_delayed()]
        counts = dask.compute(*parts)
        total = {c: np.sum([part[c] for part in counts], axis=0) for c in columns}
    else:
        total = _bin_counts(features[columns], edges)
    return {c: (total[c] / max(total[c].sum(), 1)).tolist() for c in columns}


def _bin_counts(part: pd.DataFrame, edges: dict[str, list[float]]) -> dict[str, np.ndarray]:
    out = {}
    for column, cuts in edges.items():
        values = part[column].to_numpy(dtype=np.float64)
        index = np.searchsorted(np.asarray(cuts, dtype=np.float64), values, side="left")
        out[column] = np.bincount(index, minlength=len(cuts) + 1).astype(np.float64)
    return out


def psi(expected: list[float], actual: list[float], floor: float = 1e-4) -> float:
    """Population-stability index ``sum((a - e) * ln(a / e))`` over bins (shares floored at ``floor``)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    same = np.asarray(expected) == np.asarray(actual)
    terms = np.where(same, 0.0, (a - e) * np.log(a / e))
    return float(terms.sum())
