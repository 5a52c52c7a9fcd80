"""The work of :func:`scalecluster.jobs.detect_anomalies` once the flows are read, and its outputs.

Features and scaling → the fit (:mod:`scalecluster.jobs._flow_fit`) → every
flow scored (:mod:`scalecluster.jobs.anomaly_model`) → alerts, groups, metrics
(:mod:`scalecluster.jobs._alerts`) → hosts (:mod:`scalecluster.jobs._hosts`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._alerts import cluster_counts, label_metrics, select_alerts, with_flow_columns
from ._groups import counted_groups, top_hosts
from ._run import Steps

#: Flows of the fit sample drawn in the alerts plot at most.
PLOT_FLOWS = 5000


@dataclass
class Settings:
    eps: Any
    min_samples: int
    fit_size: int
    eps_sample_size: int | None
    max_core_points: int
    algorithm: str | None
    random_state: int
    top: int | None
    host: str | None
    window: int | None
    time_column: str | None
    label: str | None
    normal: Any


def scaled_features(flow: Any, frame: Any, lazy: bool, client: Any, steps: Steps, n_rows: int,
                    notes: list[str], scaling: Any = None) -> tuple[Any, Any, Any, int]:
    """(features, scaling, scaled features, usable flows): the scaling fitted here unless given (a model's).

    The scaled features are always ``scaling.transform(features)``, the
    function a saved model applies to new flows, so scores agree exactly.
    """
    from ..features import scale

    feats, report = flow.compute(frame)
    if scaling is None:
        try:
            _, scaling = scale(feats, log=flow.log)
        except ValueError as error:
            if "negative values" not in str(error):
                raise
            raise ValueError(
                f"{str(error).split(';')[0]}: the log scale needs values >= 0. Choose columns of counts or "
                "sizes with features=, or shift these columns to start at 0."
            ) from None
    scaled = scaling.transform(feats)
    if lazy:
        feats, scaled = steps.persist(client, feats, scaled)
        n_flows = int(sum(steps.compute(client, scaled.map_partitions(len))[0]))
    else:
        n_flows = len(scaled)
    if report is not None:
        report = report.compute()
        if report.missing:
            notes.append(f"{report.missing:,} flows with a missing or negative input were left out.")
        notes.append(
            f"Made finite (see features.traffic_features): {report.zero_packets:,} flows without packets, "
            f"{report.no_reply:,} without a reply, {report.short_duration:,} shorter than 1 ms."
        )
    elif n_rows - n_flows:
        notes.append(f"{n_rows - n_flows:,} rows with a missing or infinite feature were left out.")
    return feats, scaling, scaled, n_flows


def run(frame: Any, offsets: np.ndarray, lazy: bool, client: Any, steps: Steps, flow: Any,
        context: dict[str, str], settings: Settings, n_rows: int) -> Any:
    from ._flow_fit import fit_flows, fit_sample
    from .anomalies import AnomalyResult
    from .anomaly_model import AnomalyModel, score_scaled
    from .model import new_id

    notes: list[str] = []
    with steps.step("Features") as stage:
        feats, scaling, scaled, n_flows = scaled_features(flow, frame, lazy, client, steps, n_rows, notes)
        stage.describe(f"{n_flows:,} flows, {len(flow.features)} features")
    if n_flows <= settings.min_samples:
        raise ValueError(
            f"{n_flows:,} flows with usable features are too few for min_samples={settings.min_samples}; lower it, "
            "or give more flows."
        )
    with steps.step("Fit sample") as stage:
        profile = dict(context)
        if flow.derived:
            profile["bytes_in"] = flow.columns["bytes_in"]
        sample = fit_sample(scaled, feats, frame, profile, n_flows, settings.fit_size, settings.random_state, lazy,
                            client, steps)
        stage.count(len(sample), "flows")
    fit = fit_flows(sample, flow.features, eps=settings.eps, min_samples=settings.min_samples,
                    eps_sample_size=settings.eps_sample_size, max_core_points=settings.max_core_points,
                    algorithm=settings.algorithm, random_state=settings.random_state, steps=steps, notes=notes)
    density = fit.density

    with steps.step("Scoring flows") as stage:
        scores = score_scaled(scaled, density)
        if lazy:
            (scores,) = steps.persist(client, scores)
        counts = cluster_counts(scores, density.n_clusters, lazy, client, steps)
        stage.count(n_flows, "flows")
    with steps.step("Ranking alerts") as stage:
        alerts, n_alerts = select_alerts(scaled, scores, density.eps, settings.top, lazy, client, steps)
        alerts = with_flow_columns(alerts, frame, offsets, lazy, client, steps, scaling, flow.features)
        stage.count(n_alerts, "alerts")
        if len(alerts) < n_alerts:
            stage.result(f"top {len(alerts):,} kept")
    groups = _group_table(fit, counts, n_flows)

    metrics = None
    if settings.label is not None:
        with steps.step("Against labels") as stage:
            metrics = label_metrics(frame, scores, settings.label, settings.normal, lazy, client, steps)
            if metrics["true_anomalies"] == n_rows:
                values = frame[settings.label].dropna().unique()
                values = values.compute() if lazy else values
                shown = ", ".join(repr(v) for v in list(values)[:8])
                raise ValueError(
                    f"No row of the label column {settings.label!r} (label=) has the value {settings.normal!r} "
                    f"(normal=), so every flow would count as an anomaly; its values include {shown}. Name the value "
                    "of normal rows with normal=."
                )
            stage.describe(f"{metrics['true_anomalies']:,} labelled anomalies")
            if metrics["unlabelled"]:
                notes.append(f"{metrics['unlabelled']:,} rows have no value in the label column {settings.label!r}: "
                             "they count neither as anomalies nor as normal in precision and recall.")
            stage.result(f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}, "
                         f"F1 {metrics['f1']:.3f}")

    hosts_table, n_hosts, host_model = None, 0, None
    if settings.host is not None:
        hosts_table, n_hosts, host_model = _hosts(frame, flow, context, settings, lazy, client, steps, notes)

    model = AnomalyModel(
        id=new_id(), flow=type(flow)({**flow.columns, **context}, flow.features, flow.derived, flow.log),
        scaling=scaling, density=density, groups=fit.groups, n_flows=n_flows, fit_rows=len(sample),
        eps_reason=fit.eps_reason, hosts=host_model)
    plotted = fit.sample.head(PLOT_FLOWS).drop(columns="cluster")
    return AnomalyResult(
        alerts=alerts, n_alerts=n_alerts, eps=density.eps, eps_reason=fit.eps_reason,
        min_samples=density.min_samples, n_flows=n_flows, n_clusters=int(density.normal.sum()),
        features=list(flow.features), metrics=metrics, eps_suggestion=fit.suggestion, model=model, scaling=scaling,
        labels=scores, sample=plotted, groups=groups, hosts=hosts_table, n_hosts=n_hosts, notes=notes,
    )


def _group_table(fit: Any, counts: np.ndarray, n_flows: int) -> pd.DataFrame:
    """Per cluster: kind, why, flows in all the data and in the sample, profile, and the hosts involved."""
    groups = counted_groups(fit.groups, counts, n_flows)
    if "source" in fit.sample_profile and len(groups):
        labels = fit.sample["cluster"].to_numpy()
        sources = fit.sample_profile["source"].to_numpy()
        groups["hosts"] = [top_hosts(pd.Series(sources[labels == c]).value_counts()) for c in groups.index]
    return groups


def _hosts(frame: Any, flow: Any, context: dict[str, str], settings: Settings, lazy: bool, client: Any,
           steps: Steps, notes: list[str]) -> tuple[pd.DataFrame, int, Any]:
    from ..io._window import window_text
    from ._hosts import HostSpec, fit_hosts, host_table, score_hosts
    from .anomaly_model import HostModel

    if not flow.derived:
        raise ValueError("host= aggregates bytes, packets and durations per host: it needs the traffic columns, "
                         "not features=.")
    spec = HostSpec(host=context["source"], destination=context["destination"], port=context["port"],
                    roles={r: c for r, c in flow.columns.items() if r in ("bytes_out", "bytes_in", "packets_out",
                                                                         "packets_in", "duration")},
                    time_column=settings.time_column, window=settings.window, label=settings.label,
                    normal=settings.normal)
    per = f"host and {window_text(settings.window)} window" if settings.window else "host"
    with steps.step("Hosts") as stage:
        table, left_out = host_table(frame, spec, lazy=lazy, client=client, steps=steps)
        stage.count(len(table), f"rows (one per {per})")
        if not len(table):
            raise ValueError(_no_host_rows(frame, spec))
        if left_out:
            notes.append(f"{left_out:,} flows without a host, a usable number{' or a time' if spec.window else ''} "
                         "were left out of the host table.")
        fit = fit_hosts(table, min_samples=settings.min_samples, eps="auto", fit_size=settings.fit_size,
                        eps_sample_size=settings.eps_sample_size, max_core_points=settings.max_core_points,
                        algorithm=settings.algorithm, random_state=settings.random_state, notes=notes)
        ranked = score_hosts(table, fit)
        n_hosts = len(ranked)
        stage.result(f"{int((ranked['score'] > 1).sum()):,} above 1, eps {fit.density.eps:.4g}")
    ranked = ranked.rename(columns={"host": spec.host})
    if settings.top is not None:
        ranked = ranked.head(settings.top)
    model = HostModel(spec.host, spec.destination, spec.port, spec.window, fit.scaling, fit.density, fit.groups)
    return ranked, n_hosts, model


def _no_host_rows(frame: Any, spec: Any) -> str:
    """Why no flow could be aggregated per host, in one line."""
    if spec.window:
        from ._flow_input import looks_numeric

        times = frame[spec.time_column]
        first = times.head(20) if not hasattr(times, "dask") else times.head(20, npartitions=-1)
        if pd.api.types.is_numeric_dtype(times.dtype) or looks_numeric(first):
            return (f"window= needs dates, but the time column {spec.time_column!r} (timestamp=) holds numbers; "
                    "if they are epoch times, give their unit with time_unit= ('s', 'ms', 'us' or 'ns'), or leave "
                    "out window=.")
        return (f"No flow has a host (host={spec.host!r}) and a time that reads as a date (timestamp="
                f"{spec.time_column!r}): window= needs both; check those columns, or leave out window=.")
    return (f"No flow has a host in the column {spec.host!r} (host=) with usable byte, packet and duration values; "
            "check that column.")


# --------------------------------------------------------------------------- outputs


def write_labels(labels: Any, folder: str, lazy: bool) -> str:
    """``labels/``: Parquet, one row per usable flow: row, cluster, score."""
    target = os.path.join(folder, "labels")
    if lazy:
        labels.reset_index().to_parquet(target, write_index=False)
    else:
        os.makedirs(target)
        labels.reset_index().to_parquet(os.path.join(target, "part-00000.parquet"), index=False)
    return target


def write_alerts(alerts: pd.DataFrame, folder: str) -> str:
    path = os.path.join(folder, "alerts.csv")
    alerts[[c for c in alerts.columns if not c.endswith("_scaled")]].to_csv(path, index=False, float_format="%.15g")
    return path


def write_outputs(result: Any, folder: str, plots: bool, lazy: bool, steps: Steps) -> dict[str, str]:
    from . import report
    from .report import SEVERITY_LEVELS

    written = {"labels": write_labels(result.labels, folder, lazy), "alerts": write_alerts(result.alerts, folder)}
    written["groups"] = os.path.join(folder, "groups.csv")
    result.groups.to_csv(written["groups"], float_format="%.6g")
    if result.hosts is not None:
        written["hosts"] = os.path.join(folder, "hosts.csv")
        result.hosts.to_csv(written["hosts"], index=False, float_format="%.15g")
    written.update(result.model.save(os.path.join(folder, "model")))
    written.update(report.anomaly_report(result, folder, plots=plots, say=steps.say))
    summary = {
        "n_flows": result.n_flows, "alerts": result.n_alerts, "alerts_kept": len(result.alerts), "top": result.top,
        "eps": result.eps, "eps_reason": result.eps_reason, "min_samples": result.min_samples,
        "n_clusters": result.n_clusters, "features": result.features,
        "severity": {lvl: int((result.alerts["severity"] == lvl).sum()) for lvl in SEVERITY_LEVELS},
        "severity_rule": result.severity_rule,
        "groups": [{"cluster": int(c), "kind": g["kind"], "flows": int(g["flows"]), "why": g["why"],
                    "profile": g["profile"]} for c, g in result.groups.iterrows()],
        "hosts": None if result.hosts is None else {"rows": result.n_hosts, "kept": len(result.hosts)},
        "metrics": result.metrics, "model_id": result.model.id, "notes": result.notes, "run": result.info,
    }
    written["summary"] = os.path.join(folder, "summary.json")
    with open(written["summary"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return written
