"""Scoring new flows with a saved anomaly model: no refit, the model's eps, clusters and scores.

:func:`apply_anomaly_model` reads new flows, makes the model's features with
the model's scaling, and gives each flow its cluster and score against the
model's core points (:meth:`scalecluster.jobs._density.DensityModel.score`).
On the training flows it reproduces the fit's scores exactly.  With a host
model (``host=`` at fit time) and the host column present, the hosts of the
new flows are aggregated and scored against it too.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .. import __version__
from ._alerts import (
    SEVERITY_RULE,
    check_top,
    cluster_counts,
    label_metrics,
    metrics_line,
    select_alerts,
    severity_line,
    with_flow_columns,
)
from ._columns import library_errors, numbers
from ._flow_input import check_time_unit, number_flows, run_on
from ._groups import counted_groups
from ._load import describe_input, is_dask_frame, load_table
from ._run import LOG_NAME, Steps, check_out_folder, final_paths, job_client, job_folder
from .report import SEVERITY_LEVELS


@dataclass
class AnomalyApplyResult:
    """What :func:`apply_anomaly_model` found and wrote (the fields the anomaly report reads)."""

    alerts: pd.DataFrame
    n_alerts: int
    labels: Any  #: per flow (index ``row``): ``cluster`` and ``score``; pandas, or Dask persisted
    model: Any
    n_flows: int
    groups: pd.DataFrame  #: the model's clusters, with the new flows' counts
    metrics: dict[str, float] | None = None
    hosts: pd.DataFrame | None = None
    n_hosts: int = 0
    top: int | None = None
    sample: pd.DataFrame | None = None
    eps_suggestion: Any = None
    severity_rule: str = SEVERITY_RULE
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    time_column: str | None = None
    label: str | None = None

    @property
    def eps(self) -> float:
        return self.model.eps

    @property
    def eps_reason(self) -> str:
        return f"the model's ({self.model.eps_reason})" if self.model.eps_reason else "the model's"

    @property
    def min_samples(self) -> int:
        return self.model.min_samples

    @property
    def features(self) -> list[str]:
        return self.model.features

    @property
    def n_clusters(self) -> int:
        return int(self.model.density.normal.sum())

    def summary(self) -> str:
        cut = f" (the top {len(self.alerts):,} kept)" if len(self.alerts) < self.n_alerts else ""
        lines = [(f"{self.n_alerts:,} alerts{cut} among {self.n_flows:,} new flows, scored with model "
                  f"{self.model.id[:8]} (eps {self.eps:.4g}, {self.n_clusters} clusters of normal traffic)."),
                 severity_line(self.alerts)]
        if self.metrics:
            lines.append(metrics_line(self.metrics))
        return "\n".join(lines)


def apply_anomaly_model(
    model: Any,
    data: Any,
    *,
    columns: dict[str, str] | None = None,
    top: int | None = None,
    label: str | None = "label",
    normal: Any = "normal",
    timestamp: str | None = None,
    time_unit: str | None = None,
    dayfirst: bool = False,
    date_format: str | None = None,
    client: Any = None,
    cluster: Any = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    plots: bool = True,
    random_state: int = 0,
    verbose: bool = True,
    stream: TextIO | None = None,
) -> AnomalyApplyResult:
    """Score new flows with a saved anomaly model (no refit).

    Parameters
    ----------
    model : AnomalyModel, str or path-like
        A model (:func:`~scalecluster.jobs.load_model`), or an ``anomalies``
        run's ``--out`` folder or its ``model/``.
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        New flows, read as :func:`~scalecluster.jobs.detect_anomalies` reads them.
    columns : dict, default=None
        The new data's column names by role where they differ from the model's.
    top, label, normal, timestamp, time_unit, dayfirst, date_format, client, cluster, out, overwrite, plots,
    random_state, verbose, stream
        As for :func:`~scalecluster.jobs.detect_anomalies`.  ``out`` receives
        ``labels/`` (row, cluster, score), ``alerts.csv``, ``hosts.csv`` (with a
        host model), ``summary.json``, a plot, ``report.md``/``report.html`` and
        ``run.log``.

    Raises
    ------
    ModelError (a ValueError)
        Not an anomaly model, or one that cannot be used (one line).
    KeyError, TypeError, ValueError
        A column of the model missing from the new data (named, with the
        model's features), values that are not numbers, bad parameters.
    """
    from .model import load_anomaly_model_from

    started = time.time()
    steps = Steps("apply", verbose=verbose, stream=stream)
    model = load_anomaly_model_from(model)
    top = check_top(top)
    time_unit = check_time_unit(time_unit)
    flow = _renamed(model, columns)
    check_out_folder(out, overwrite=overwrite)
    required: dict[str, Any] = {}
    for column, role in flow.numeric_columns().items():
        required.setdefault(role, []).append(column)
    if label is not None and label != "label":
        required["label"] = label
    if timestamp is not None:
        required["timestamp"] = timestamp
    info: dict[str, Any] = {
        "job": "apply", "input": describe_input(data), "version": __version__,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "columns": {"features": flow.features} if not flow.derived else
        {r: c for r, c in flow.columns.items()},
        "model": {"path": model.path, "id": model.id, "created": model.created, "scalecluster": model.version,
                  "kind": "anomalies"},
        "settings": {"top": top, "random_state": random_state},
    }
    written: dict[str, str] = {}
    distributed = client is not None or cluster is not None
    with job_folder(out, overwrite=overwrite, uses_distributed=distributed) as folder, \
            job_client(client, cluster, steps, log=folder and os.path.join(folder, LOG_NAME)) as active:
        lazy = active is not None or is_dask_frame(data)
        info["run_on"] = run_on(active, lazy)
        with library_errors("flows"):
            with steps.step("Reading flows") as stage:
                frame = _read(data, flow, model, lazy, required, info)
                flows = number_flows(frame, lazy, active, steps, info, timestamp=timestamp, time_unit=time_unit,
                                     label=label, normal=normal, dayfirst=bool(dayfirst), date_format=date_format)
                stage.count(flows.n_rows, "rows")
            result = _score(flows.frame, flows.offsets, flow, model, lazy, active, steps, top, flows.label,
                            flows.normal, flows.n_rows, flows.time_column)
        result.info, result.time_column, result.label, result.top = info, flows.time_column, flows.label, top
        info["seconds"] = round(time.time() - started, 1)
        if folder is not None:
            with steps.step("Writing outputs") as stage:
                written = _write(result, folder, plots, lazy, steps)
                stage.count(len(written) + 1, "files and folders")
    result.paths = final_paths(written, folder, out)
    return steps.finish(result)


def _renamed(model: Any, columns: dict[str, str] | None) -> Any:
    """The model's feature recipe with the new data's column names."""
    from .anomaly_model import FlowFeatures

    flow = model.flow
    if columns is None:
        return flow
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise TypeError(f"columns must be a dict of role -> column name; got {columns!r}.")
    unknown = sorted(set(columns) - set(flow.columns))
    if unknown:
        raise ValueError(f"Unknown role(s) {unknown} in columns; this model's roles are {sorted(flow.columns)}.")
    return FlowFeatures({**flow.columns, **columns}, flow.features, flow.derived, flow.log)


def _read(data: Any, flow: Any, model: Any, lazy: bool, required: dict[str, Any], info: dict[str, Any]) -> Any:
    """The new flows, with the model's numeric columns converted; a missing one is a one-line error naming the
    model's features."""
    from ..features import MissingColumnError

    try:
        frame = load_table(data, lazy=lazy, require=required, as_text=True)
    except MissingColumnError as error:
        recipe = (f"traffic features from the columns {flow.numeric_columns()}" if flow.derived
                  else f"features {flow.features}")
        raise MissingColumnError(f"{error} The model ({model.id[:8]}) was fitted on {recipe}.") from None
    what = info["input"] if info["input"].startswith("a ") else repr(info["input"])
    return numbers(frame, flow.numeric_columns(), what=what)


def _score(frame: Any, offsets: np.ndarray, flow: Any, model: Any, lazy: bool, client: Any, steps: Steps,
           top: int | None, label: str | None, normal: Any, n_rows: int, time_column: str | None) -> AnomalyApplyResult:
    from ._anomaly_run import scaled_features
    from .anomaly_model import score_scaled

    notes: list[str] = []
    with steps.step("Features") as stage:
        _, _, scaled, n_flows = scaled_features(flow, frame, lazy, client, steps, n_rows, notes, scaling=model.scaling)
        stage.describe(f"{n_flows:,} flows, {len(flow.features)} features")
    with steps.step("Scoring flows") as stage:
        scores = score_scaled(scaled, model.density)
        if lazy:
            (scores,) = steps.persist(client, scores)
        counts = cluster_counts(scores, model.density.n_clusters, lazy, client, steps)
        stage.count(n_flows, "flows")
    with steps.step("Ranking alerts") as stage:
        alerts, n_alerts = select_alerts(scaled, scores, model.eps, top, lazy, client, steps)
        alerts = with_flow_columns(alerts, frame, offsets, lazy, client, steps, model.scaling, flow.features)
        stage.count(n_alerts, "alerts")
    groups = counted_groups(model.groups, counts, n_flows)
    metrics = None
    if label is not None:
        with steps.step("Against labels") as stage:
            metrics = label_metrics(frame, scores, label, normal, lazy, client, steps)
            stage.result(f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}, "
                         f"F1 {metrics['f1']:.3f}")
    hosts, n_hosts = _hosts(frame, flow, model, lazy, client, steps, top, time_column, label, normal, notes)
    sample = scaled.head(5000, npartitions=-1) if lazy else scaled.head(5000)
    return AnomalyApplyResult(alerts=alerts, n_alerts=n_alerts, labels=scores, model=model, n_flows=n_flows,
                              groups=groups, metrics=metrics, hosts=hosts, n_hosts=n_hosts,
                              sample=sample.add_suffix("_scaled"), notes=notes)


def _hosts(frame: Any, flow: Any, model: Any, lazy: bool, client: Any, steps: Steps, top: int | None,
           time_column: str | None, label: str | None, normal: Any,
           notes: list[str]) -> tuple[pd.DataFrame | None, int]:
    """The new flows' hosts scored against the model's host model (when it has one and the columns exist)."""
    from ._hosts import HostFit, HostSpec, host_table, score_hosts

    h = model.hosts
    if h is None:
        return None, 0
    # The new data's names where columns= renamed them (the model's otherwise).
    host, destination, port = (flow.columns.get(role, saved) for role, saved in
                               (("source", h.host), ("destination", h.destination), ("port", h.port)))
    missing = [c for c in (host, destination, port) if c not in frame.columns]
    if h.window and time_column is None:
        missing.append("a time column (timestamp=)")
    if missing:
        notes.append(f"The model scores hosts too, but the new flows lack {', '.join(missing)}: hosts not scored.")
        return None, 0
    spec = HostSpec(host=host, destination=destination, port=port,
                    roles={r: c for r, c in flow.columns.items() if r in ("bytes_out", "bytes_in", "packets_out",
                                                                         "packets_in", "duration")},
                    time_column=time_column, window=h.window, label=label, normal=normal)
    with steps.step("Hosts") as stage:
        table, _ = host_table(frame, spec, lazy=lazy, client=client, steps=steps)
        ranked = score_hosts(table, HostFit(h.scaling, h.density, h.groups, "", None, 0))
        stage.count(len(ranked), "host rows")
    ranked = ranked.rename(columns={"host": host})
    n_hosts = len(ranked)
    return (ranked.head(top) if top is not None else ranked), n_hosts


def _write(result: AnomalyApplyResult, folder: str, plots: bool, lazy: bool, steps: Steps) -> dict[str, str]:
    from . import report
    from ._anomaly_run import write_alerts, write_labels

    written = {"labels": write_labels(result.labels, folder, lazy), "alerts": write_alerts(result.alerts, folder)}
    if result.hosts is not None:
        written["hosts"] = os.path.join(folder, "hosts.csv")
        result.hosts.to_csv(written["hosts"], index=False, float_format="%.15g")
    written.update(report.anomaly_report(result, folder, plots=plots, say=steps.say,
                                         title="Traffic anomalies: new flows scored with a saved model"))
    summary = {"model_id": result.model.id, "n_flows": result.n_flows, "alerts": result.n_alerts,
               "alerts_kept": len(result.alerts), "top": result.top, "eps": result.eps,
               "severity": {lvl: int((result.alerts["severity"] == lvl).sum()) for lvl in SEVERITY_LEVELS},
               "groups": {str(c): int(g["flows"]) for c, g in result.groups.iterrows()},
               "metrics": result.metrics, "notes": result.notes, "run": result.info}
    written["summary"] = os.path.join(folder, "summary.json")
    with open(written["summary"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return written
