"""A traffic-anomaly model as plain data: saved by ``anomalies``, loaded to score new flows without refitting.

The anomaly job writes ``model/`` into its output folder:

* ``model.json`` — format and version, the id of the run, the input columns
  by role, the features (derived traffic features or columns used as they
  are), their scaling (log1p, centre, scale), eps, min_samples, each
  cluster's verdict (normal traffic or a suspicious group, why, its profile),
  and, after ``host=``, the same for the per-host model;
* ``core.npz`` — the kept core points (scaled features), the cluster of each
  and the feature names, with the run's id (``hosts_core.npz`` for hosts).

No pickle anywhere: JSON and NumPy's ``.npz`` read with ``allow_pickle=False``.
:func:`load_anomaly_model` checks format, version, that the arrays come from
the same run (id and SHA-256), their shapes and their feature names, and
refuses anything else in one line.

:meth:`AnomalyModel.score` computes the features and the scaling with the
same functions the fit used and queries the same core points
(:meth:`scalecluster.jobs._density.DensityModel.score`), so the training
flows get the fit's scores exactly.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..features._columns import is_dask
from ..io._model_file import (
    ANOMALY_FORMAT,
    ANOMALY_FORMAT_VERSION,
    MODEL_FILE,
    ModelError,
    file_sha256,
)
from ._density import DensityModel

CORE_FILE = "core.npz"
HOSTS_CORE_FILE = "hosts_core.npz"
#: The roles of the numeric flow columns the traffic features are made from.
NUMERIC_ROLES = ("bytes_out", "bytes_in", "packets_out", "packets_in", "duration")


@dataclass
class FlowFeatures:
    """How the features are made from a flow table: derived traffic features, or columns as they are."""

    columns: dict[str, str]  #: role -> input column (the five numeric roles, for derived features)
    features: list[str]  #: the feature names, in model order
    derived: bool  #: True: :func:`scalecluster.features.traffic_features` of ``columns``
    log: bool

    def numeric_columns(self) -> dict[str, str]:
        """Input column -> the parameter that names it (for :func:`scalecluster.jobs._columns.numbers`)."""
        if self.derived:
            return {column: role for role, column in self.columns.items() if role in NUMERIC_ROLES}
        return {column: "features" for column in self.features}

    def compute(self, frame: Any) -> tuple[Any, Any]:
        """(features, the traffic-feature report or None); rows that cannot be used are dropped (counted in the
        report, or by the caller from the lengths)."""
        if self.derived:
            from ..features import traffic_features

            roles = {role: column for role, column in self.columns.items() if role in NUMERIC_ROLES}
            return traffic_features(frame, columns=roles, missing="drop")
        raw = frame[self.features].astype("float64")
        if is_dask(raw):
            return raw.map_partitions(finite_rows, meta=raw), None
        return finite_rows(raw), None


def finite_rows(feats: pd.DataFrame) -> pd.DataFrame:
    values = feats.to_numpy(dtype=np.float64)
    return feats[np.isfinite(values).all(axis=1)]


def score_part(scaled: pd.DataFrame, density: DensityModel, threads: int = 1) -> pd.DataFrame:
    """One partition's ``cluster`` and ``score`` (index: row), from its scaled features."""
    cluster, score = density.score(scaled.to_numpy(dtype=np.float64), threads=threads)
    return pd.DataFrame({"cluster": cluster, "score": score}, index=scaled.index)


def score_scaled(scaled: Any, density: DensityModel) -> Any:
    """``cluster`` and ``score`` of every row of scaled features: pandas at once, Dask per partition.

    On Dask the model travels once, as one task whose result every partition's
    task reads; its KD-trees are built where it is used.
    """
    meta = pd.DataFrame({"cluster": pd.Series([], dtype="int64"), "score": pd.Series([], dtype="float64")},
                        index=pd.Index([], dtype="int64", name="row"))
    if is_dask(scaled):
        import dask

        shared = dask.delayed(density, pure=True, traverse=False)
        return scaled.map_partitions(score_part, shared, meta=meta)
    return score_part(scaled, density, threads=-1)


@dataclass
class HostModel:
    """The per-host part of a model: which columns, the window, the aggregates' scaling and density model."""

    host: str
    destination: str
    port: str
    window: int | None  #: seconds
    scaling: Any
    density: DensityModel
    groups: pd.DataFrame


@dataclass
class AnomalyModel:
    """A fitted traffic-anomaly model, as saved in ``model/`` (see the module docstring)."""

    id: str
    flow: FlowFeatures
    scaling: Any  #: :class:`scalecluster.features.Scaling` of the features
    density: DensityModel
    groups: pd.DataFrame  #: per cluster (index 0..k-1): normal, why, profile, sample_flows, sample_share
    n_flows: int  #: flows the model was fitted on
    fit_rows: int  #: rows of the fit sample
    eps_reason: str = ""
    hosts: HostModel | None = None
    created: str = ""
    version: str = ""
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return list(self.flow.features)

    @property
    def eps(self) -> float:
        return self.density.eps

    @property
    def min_samples(self) -> int:
        return self.density.min_samples

    def score(self, data: Any, **options: Any) -> Any:
        """Score new flows: one row per usable flow (index ``row``: its position in ``data``), with ``cluster``
        (-1: noise) and ``score`` (distance to normal traffic in units of eps; above 1 an alert).

        ``data``: like :func:`scalecluster.jobs.detect_anomalies`'s (path,
        pandas or Dask).  ``options`` go to
        :func:`scalecluster.jobs.anomaly_apply.apply_anomaly_model` (``out``,
        ``columns``, ``client``, ``top``...).  pandas in memory; on Dask a
        persisted Dask frame.
        """
        from .anomaly_apply import apply_anomaly_model

        options.setdefault("verbose", False)
        return apply_anomaly_model(self, data, **options).labels

    # ------------------------------------------------------------------ files

    def to_json(self) -> dict[str, Any]:
        document = {
            "format": ANOMALY_FORMAT, "format_version": ANOMALY_FORMAT_VERSION, "job": "anomalies", "id": self.id,
            "created": self.created, "scalecluster_version": self.version,
            "columns": dict(self.flow.columns), "features": list(self.flow.features), "derived": self.flow.derived,
            "scaling": _scaling_json(self.scaling, self.flow.features),
            "eps": self.density.eps, "min_samples": self.density.min_samples, "eps_reason": self.eps_reason,
            "clusters": _groups_json(self.groups),
            "core": {"file": CORE_FILE, "kept": len(self.density.core), "found": self.density.n_core},
            "n_flows": int(self.n_flows), "fit_rows": int(self.fit_rows), "files": {}, **self.extra,
        }
        if self.hosts is not None:
            h = self.hosts
            from ._hosts import HOST_FEATURES

            document["hosts"] = {
                "host": h.host, "destination": h.destination, "port": h.port, "window_seconds": h.window,
                "features": list(HOST_FEATURES), "scaling": _scaling_json(h.scaling, list(HOST_FEATURES)),
                "eps": h.density.eps, "min_samples": h.density.min_samples, "clusters": _groups_json(h.groups),
                "core": {"file": HOSTS_CORE_FILE, "kept": len(h.density.core), "found": h.density.n_core},
            }
        return document

    def save(self, folder: str) -> dict[str, str]:
        """Write ``model.json`` and the core points into ``folder``."""
        os.makedirs(folder, exist_ok=True)
        document = self.to_json()
        written = {"model_core": _save_core(folder, CORE_FILE, self.density, self.flow.features, self.id)}
        document["files"] = {CORE_FILE: {"sha256": file_sha256(written["model_core"])}}
        if self.hosts is not None:
            from ._hosts import HOST_FEATURES

            written["model_hosts_core"] = _save_core(folder, HOSTS_CORE_FILE, self.hosts.density,
                                                     list(HOST_FEATURES), self.id)
            document["files"][HOSTS_CORE_FILE] = {"sha256": file_sha256(written["model_hosts_core"])}
        path = os.path.join(folder, MODEL_FILE)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, allow_nan=False)
        written["model"] = path
        return written


def _scaling_json(scaling: Any, features: list[str]) -> dict[str, Any]:
    return {"method": scaling.method, "log": list(scaling.log),
            "center": [float(scaling.center[c]) for c in features],
            "scale": [float(scaling.scale[c]) for c in features]}


def _groups_json(groups: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for number, row in groups.iterrows():
        item: dict[str, Any] = {"cluster": int(number)}
        for column, value in row.items():
            value = value.item() if isinstance(value, np.generic) else value
            item[str(column)] = None if isinstance(value, float) and not np.isfinite(value) else value
        out.append(item)
    return out


def _save_core(folder: str, name: str, density: DensityModel, features: list[str], model_id: str) -> str:
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        np.savez(handle, core=np.asarray(density.core, dtype=np.float64),
                 core_cluster=np.asarray(density.core_cluster, dtype=np.int64),
                 features=np.array(list(features), dtype=str), model_id=np.array(model_id))
    return path


# --------------------------------------------------------------------------- loading


def load_anomaly_model(folder: str, document: dict[str, Any]) -> AnomalyModel:
    """An :class:`AnomalyModel` from a checked model.json (:func:`scalecluster.io._model_file.read_model_document`)
    and its arrays; one-line :class:`ModelError` for anything that does not hold together."""
    where = f"The model in {folder!r}"
    features = document["features"]
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise ModelError(f"{where} has no valid feature names ({features!r}): it is damaged; write it again with "
                         "'scalecluster anomalies'.")
    scaling = _scaling_from(document["scaling"], features, where)
    density = _density_from(folder, document, document["core"], CORE_FILE, features, document["clusters"],
                            document["eps"], document["min_samples"], where)
    columns = document["columns"]
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ModelError(f"{where} has no valid columns ({columns!r}): it is damaged; write it again.")
    derived = bool(document.get("derived", True))
    flow = FlowFeatures(dict(columns), list(features), derived, bool(scaling.log))
    hosts = None
    if isinstance(document.get("hosts"), dict):
        h = document["hosts"]
        from ._hosts import HOST_FEATURES

        if list(h.get("features", [])) != list(HOST_FEATURES):
            raise ModelError(f"{where}: its host features {h.get('features')!r} are not this version's "
                             f"{list(HOST_FEATURES)!r}; write the model again with this version.")
        try:
            hosts = HostModel(
                host=str(h["host"]), destination=str(h["destination"]), port=str(h["port"]),
                window=None if h.get("window_seconds") is None else int(h["window_seconds"]),
                scaling=_scaling_from(h["scaling"], list(HOST_FEATURES), where),
                density=_density_from(folder, document, h["core"], HOSTS_CORE_FILE, list(HOST_FEATURES),
                                      h["clusters"], h["eps"], h["min_samples"], where),
                groups=_groups_from(h["clusters"], where))
        except (KeyError, TypeError) as error:
            raise ModelError(f"{where}: its host model lacks {error}: it is damaged; write it again.") from None
    extra = {k: v for k, v in document.items() if k not in (
        "format", "format_version", "job", "id", "created", "scalecluster_version", "columns", "features", "derived",
        "scaling", "eps", "min_samples", "eps_reason", "clusters", "core", "n_flows", "fit_rows", "files", "hosts")}
    return AnomalyModel(
        id=str(document["id"]), flow=flow, scaling=scaling, density=density,
        groups=_groups_from(document["clusters"], where), n_flows=int(document.get("n_flows", 0)),
        fit_rows=int(document.get("fit_rows", 0)), eps_reason=str(document.get("eps_reason", "")), hosts=hosts,
        created=str(document.get("created", "")), version=str(document.get("scalecluster_version", "")),
        path=folder, extra=extra)


def _scaling_from(scaling: Any, features: list[str], where: str) -> Any:
    from ..features import Scaling

    try:
        center = [float(v) for v in scaling["center"]]
        spread = [float(v) for v in scaling["scale"]]
        logged = [str(c) for c in scaling["log"]]
        method = str(scaling["method"])
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{where} has no valid scaling: it is damaged; write it again.") from None
    if len(center) != len(features) or len(spread) != len(features) or not set(logged) <= set(features) \
            or not np.isfinite(center + spread).all() or min(spread) <= 0:
        raise ModelError(f"{where}: its scaling does not fit its {len(features)} features: it is damaged; write it "
                         "again.")
    return Scaling(method, list(features), logged, pd.Series(center, index=features, dtype="float64"),
                   pd.Series(spread, index=features, dtype="float64"))


def _groups_from(clusters: Any, where: str) -> pd.DataFrame:
    if not isinstance(clusters, list) or not all(isinstance(c, dict) and "normal" in c for c in clusters) \
            or [c.get("cluster") for c in clusters] != list(range(len(clusters))):
        raise ModelError(f"{where} has no valid cluster list: it is damaged; write it again.")
    if not clusters:
        return pd.DataFrame({"normal": pd.Series([], dtype=bool), "why": [], "profile": []},
                            index=pd.RangeIndex(0, name="cluster"))
    groups = pd.DataFrame(clusters).set_index("cluster")
    groups["normal"] = groups["normal"].astype(bool)
    return groups


def _density_from(folder: str, document: dict[str, Any], core: Any, name: str, features: list[str],
                  clusters: Any, eps: Any, min_samples: Any, where: str) -> DensityModel:
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise ModelError(f"{where} lacks {name}: copy the whole model/ folder.")
    recorded = document.get("files", {}).get(name, {}).get("sha256")
    try:
        # The file is opened here: np.load leaves its own handle open when the zip cannot be read (cut short).
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as arrays:
            points = np.array(arrays["core"], dtype=np.float64)
            labels = np.array(arrays["core_cluster"], dtype=np.int64)
            names = [str(f) for f in arrays["features"]]
            model_id = str(arrays["model_id"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ModelError(f"{where}: {name} cannot be read ({error}); it is damaged or cut short: copy the whole "
                         "model/ folder again.") from None
    if model_id != document["id"]:
        raise ModelError(f"{where}: {name} comes from another run (id {model_id[:8]}…, model.json says "
                         f"{str(document['id'])[:8]}…): copy model.json and {name} of the same run together.")
    if recorded is not None and recorded != file_sha256(path):
        raise ModelError(f"{where}: {name} was changed after the model was written (its checksum differs from "
                         "model.json's): copy the model/ folder again.")
    if names != list(features):
        raise ModelError(f"{where}: {name} holds the features {names}, model.json says {list(features)}: copy "
                         "model.json and its arrays of the same run together.")
    groups = _groups_from(clusters, where)
    k = len(groups)
    try:
        eps, min_samples = float(eps), int(min_samples)
        found = int(core.get("found", len(points))) if isinstance(core, dict) else len(points)
    except (TypeError, ValueError):
        raise ModelError(f"{where} has no valid eps or min_samples: it is damaged; write it again.") from None
    if (points.ndim != 2 or points.shape[1] != len(features) or labels.shape != (len(points),)
            or not np.isfinite(points).all() or (len(labels) and (labels.min() < 0 or labels.max() >= k))
            or not (np.isfinite(eps) and eps > 0) or min_samples < 1):
        raise ModelError(f"{where} does not hold together ({name}: core points of shape {points.shape}, {k} "
                         f"clusters, {len(features)} features, eps {eps!r}): it is damaged; write it again.")
    return DensityModel(eps, min_samples, points, labels, groups["normal"].to_numpy(dtype=bool), max(found, len(points)))
