"""Traffic anomaly detection: flows → features → scale → a fit sample → eps → DBSCAN → a score for every flow.

One function, :func:`detect_anomalies`, runs the whole job in memory
(pandas/NumPy) or on a Dask cluster, and (with ``out=``) writes its outputs
atomically, with ``model/`` to score new flows later
(:func:`scalecluster.jobs.load_model`, ``scalecluster apply``).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .. import __version__
from ..features import FLOW_COLUMNS
from ._alerts import (
    SEVERITY_RULE,
    check_top,
    metrics_line,
    severity_line,
)
from ._columns import library_errors, numbers
from ._density import FIT_SIZE, MAX_CORE_POINTS
from ._flow_input import check_time_unit, number_flows, run_on
from ._load import describe_input, is_dask_frame, load_table
from ._run import LOG_NAME, Steps, check_out_folder, final_paths, job_client, job_folder

#: Columns the job reads when they exist, by role, besides the five numbers of :data:`FLOW_COLUMNS`:
#: the source host (profiles, ``host=``), the destination host and port (profiles, per-host aggregates).
CONTEXT_COLUMNS = {"source": "src_ip", "destination": "dst_ip", "port": "dst_port"}


@dataclass
class AnomalyResult:
    """What :func:`detect_anomalies` found and wrote."""

    alerts: pd.DataFrame  #: the alerts kept (``top``), highest score first (see :func:`detect_anomalies`)
    n_alerts: int  #: alerts before the ``top`` cut
    eps: float
    eps_reason: str
    min_samples: int
    n_flows: int  #: flows with usable features
    n_clusters: int  #: clusters of normal traffic
    features: list[str]
    metrics: dict[str, float] | None  #: precision, recall, f1, … of all alerts, when a label column exists
    eps_suggestion: Any  #: :class:`scalecluster.metrics.EpsSuggestion`, or None when eps was given
    model: Any  #: the :class:`~scalecluster.jobs.anomaly_model.AnomalyModel` (saved as ``model/``)
    scaling: Any
    labels: Any  #: per flow (index ``row``): ``cluster`` (-1: noise) and ``score``; pandas, or Dask persisted
    sample: pd.DataFrame  #: up to 5000 flows of the fit sample: scaled features, for plots
    groups: pd.DataFrame  #: per cluster: normal traffic or a suspicious group, why, size, profile, hosts
    hosts: pd.DataFrame | None = None  #: per host (and window), highest score first (``host=``), after ``top``
    n_hosts: int = 0  #: host rows before the ``top`` cut
    top: int | None = None
    severity_rule: str = SEVERITY_RULE
    paths: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: what the run read and how: input, rows, date range, settings, version
    info: dict[str, Any] = field(default_factory=dict)
    time_column: str | None = None  #: the column of the flows' times, if any (shown as dates)
    label: str | None = None  #: the ground-truth column used, if any

    @property
    def suspicious_groups(self) -> pd.DataFrame:
        return self.groups[~self.groups["normal"]]

    def summary(self) -> str:
        cut = f" (the top {len(self.alerts):,} kept)" if len(self.alerts) < self.n_alerts else ""
        lines = [
            (f"{self.n_alerts:,} alerts{cut} among {self.n_flows:,} flows; {self.n_clusters} clusters of normal "
             f"traffic, {len(self.suspicious_groups)} suspicious groups; eps {self.eps:.4g} ({self.eps_reason}), "
             f"min_samples {self.min_samples}."),
            severity_line(self.alerts),
        ]
        for number, group in self.suspicious_groups.iterrows():
            lines.append(f"  group {number}: {int(group['flows']):,} flows ({group['why']}): {group['profile']}")
        if self.hosts is not None:
            flagged = int((self.hosts["score"] > 1).sum())
            lines.append(f"  hosts: {self.n_hosts:,} host rows, {flagged:,} of those kept score above 1")
        if self.metrics:
            lines.append(metrics_line(self.metrics))
        return "\n".join(lines)


def detect_anomalies(
    data: Any,
    *,
    features: list[str] | None = None,
    columns: dict[str, str] | None = None,
    host: str | None = None,
    window: Any = None,
    top: int | None = None,
    label: str | None = "label",
    normal: Any = "normal",
    timestamp: str | None = None,
    time_unit: str | None = None,
    dayfirst: bool = False,
    date_format: str | None = None,
    eps: float | str = "auto",
    min_samples: int = 20,
    fit_size: int = FIT_SIZE,
    eps_sample_size: int | None = None,
    max_core_points: int = MAX_CORE_POINTS,
    log: bool = True,
    algorithm: str | None = None,
    client: Any = None,
    cluster: Any = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    random_state: int = 0,
    plots: bool = True,
    verbose: bool = True,
    stream: TextIO | None = None,
) -> AnomalyResult:
    """Find anomalous network flows: a score for every flow from its distance to normal traffic.

    Steps: per-flow features (:func:`scalecluster.features.traffic_features`:
    totals, bytes per packet, send/receive ratio, packets per second,
    duration; zero divisions made finite, rows with missing or negative
    inputs dropped and counted) → ``log1p`` and standardisation → a **fit
    sample** of ``fit_size`` flows → eps at the knee of the sample's k-distance
    graph (:func:`scalecluster.metrics.suggest_eps`) unless given → DBSCAN on
    the sample → each cluster judged: normal traffic, or a **suspicious group**
    (small, no replies, fan-out: :mod:`scalecluster.jobs._groups`) → every flow
    scored: its distance to the nearest core point of normal traffic, in units
    of eps.  A flow scoring above 1 is an **alert**, with a severity
    (:data:`SEVERITY_RULE`).

    **Why eps holds as the data grows.**  A k-distance measures density, and
    with n flows it shrinks like n^(-1/d): a knee read from all flows moved
    with n, so sparse normal traffic became noise at 1M flows while scans
    piled into clusters.  The knee read from a sample of fixed size measures
    the distribution, not n: on the generator eps is about 0.21 from 100k to
    10M flows, and F1 stays above 0.9 (``benchmarks/RESULTS.md``).  The sample
    is drawn by row number and seed, so it is the same in memory and on Dask.
    Scoring every flow against the kept core points is exact for the sample's
    model: memory is that of the core points and one block of flows.

    Parameters
    ----------
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        Flows: Parquet (file, folder, glob), CSV or TSV.  CSV files are read
        as text; the numeric columns used are converted here (a value that is
        not a plain number is named, with its line).
    features : list of str, default=None
        Numeric columns to use as they are, instead of the derived traffic
        features (rows with NaN or infinite values are dropped and counted).
    columns : dict, default=None
        Column names by role where they differ from the defaults: the traffic
        numbers ``bytes_out``, ``bytes_in``, ``packets_out``, ``packets_in``,
        ``duration``, and the context of :data:`CONTEXT_COLUMNS` (``source``:
        ``src_ip``, ``destination``: ``dst_ip``, ``port``: ``dst_port``; used
        when they exist, required by ``host=``).
    host : str, default=None
        A source-host column: flows are also aggregated per host (and
        ``window``) with :func:`scalecluster.jobs._hosts.host_table` (flows,
        distinct destinations and ports, share without a reply, bytes and
        packets out/in, mean duration), the hosts are clustered and scored the
        same way, and ``hosts.csv`` ranks them.  A scan is many tiny flows,
        each like the others; per host it stands out.
    window : str or timedelta, default=None
        With ``host``: one row per host and time window (``"1h"``, ``"15min"``,
        ``"1d"``); needs the flows' times (``timestamp``).
    top : int, default=None
        Keep only the ``top`` highest-scored alerts (and host rows); the
        counts and the metrics are of all alerts, and the report says how many
        were cut.
    label : str or None, default="label"
        A ground-truth column: precision, recall and F1 are reported (a row
        is anomalous when its value differs from ``normal``).  The default
        ``"label"`` is used when such a column exists; another name must exist.
    normal : default="normal"
        The label value of normal rows, read as the label column's kind.
    timestamp : str, default=None
        The column of the flows' times (None: a column named ``timestamp`` if
        there is one).
    time_unit : {"s", "ms", "us", "ns"}, default=None
        Read the time column as numbers since 1970-01-01 UTC in this unit
        (NetFlow and Zeek exports); None: as dates.
    dayfirst, date_format : default=False, None
        How text dates are read, as :func:`scalecluster.jobs.segment` reads
        them: one format for the column, guessed from its first value unless
        given; ``03/04/2025`` is 3 April with ``dayfirst=True``.  Day-first
        dates without ``dayfirst=True`` stop the job with one line.
    eps : "auto" or float, default="auto"
    min_samples : int, default=20
        DBSCAN's ``min_samples`` (also the k of the k-distance graph).
    fit_size : int, default=50000
        Flows in the fit sample (all of them when there are fewer).
    eps_sample_size : int, default=None
        Flows of the fit sample whose k-distance is computed (None: all).
    max_core_points : int, default=200000
        Core points kept to score flows (beyond it, a sample stratified by
        cluster: a score can then be over-estimated, never under-estimated).
    log : bool, default=True
        ``log1p`` the features before standardising (they must be >= 0).
    algorithm : str, default=None
        DBSCAN's ``algorithm`` (None: the grid for up to 8 features).
    client, cluster, out, overwrite, random_state, plots, verbose, stream
        As for :func:`scalecluster.jobs.segment`.  ``out`` receives
        ``labels/`` (Parquet: row, cluster, score), ``alerts.csv``,
        ``groups.csv``, ``hosts.csv`` (with ``host``), ``model/``,
        ``summary.json``, plots, ``report.md``, ``report.html``, ``run.log``.

    Returns
    -------
    AnomalyResult
        ``alerts`` has columns ``rank``, ``row`` (position of the flow in the
        input), ``severity``, ``score`` (distance to normal traffic in units of
        eps), ``distance`` (the same in standard deviations of the log
        features), ``cluster`` (-1, or the suspicious group the flow is in),
        then the input's columns and the features.

    Raises
    ------
    FileNotFoundError, KeyError, TypeError, ValueError
        For a missing path, a missing column (named, with the closest and the
        available ones), a value that is not a number (named), or bad parameters.
    """
    from ..io._window import parse_window

    started = time.time()
    steps = Steps("anomalies", verbose=verbose, stream=stream)
    _check_numbers(eps, min_samples, fit_size, eps_sample_size, max_core_points)
    top = check_top(top)
    time_unit = check_time_unit(time_unit)
    window_seconds = None if window is None else parse_window(window)
    if window_seconds is not None and host is None:
        raise ValueError("window= needs host=: the flows are aggregated per host and window.")
    if host is not None and (not isinstance(host, str) or not host):
        raise ValueError(f"host must be a column name; got {host!r}.")
    flow, context = _flow_features(features, columns, host, log)
    check_out_folder(out, overwrite=overwrite)
    required: dict[str, Any] = {}
    for column, role in flow.numeric_columns().items():
        required.setdefault(role, []).append(column)
    if host is not None:
        required.update(host=host, destination=context["destination"], port=context["port"])
    if label is not None and label != "label":
        required["label"] = label
    if timestamp is not None:
        required["timestamp"] = timestamp
    info: dict[str, Any] = {
        "job": "anomalies", "input": describe_input(data), "version": __version__,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "columns": {"features": list(features)} if features is not None else dict(flow.columns),
        "settings": {"eps": eps, "min_samples": int(min_samples), "log": log, "fit_size": int(fit_size),
                     "random_state": random_state, "top": top, "host": host, "time_unit": time_unit,
                     "dayfirst": bool(dayfirst), "date_format": date_format,
                     "window_seconds": window_seconds},
    }
    written: dict[str, str] = {}
    distributed = client is not None or cluster is not None
    with job_folder(out, overwrite=overwrite, uses_distributed=distributed) as folder, \
            job_client(client, cluster, steps, log=folder and os.path.join(folder, LOG_NAME)) as active:
        lazy = active is not None or is_dask_frame(data)
        info["run_on"] = run_on(active, lazy)
        with library_errors("flows"):
            with steps.step("Reading flows") as stage:
                frame = load_table(data, lazy=lazy, require=required, as_text=True)
                what = info["input"] if info["input"].startswith("a ") else repr(info["input"])
                frame = numbers(frame, flow.numeric_columns(), what=what)
                flows = number_flows(frame, lazy, active, steps, info, timestamp=timestamp, time_unit=time_unit,
                                     label=label, normal=normal, dayfirst=dayfirst, date_format=date_format,
                                     needs_times=None if window_seconds is None else
                                     "window= needs the flows' times: name their column with timestamp=.")
                stage.count(flows.n_rows, "rows")
            frame = flows.frame
            present = {role: column for role, column in context.items() if column in frame.columns}
            from ._anomaly_run import Settings, run

            settings = Settings(eps=eps, min_samples=int(min_samples), fit_size=int(fit_size),
                                eps_sample_size=eps_sample_size, max_core_points=int(max_core_points),
                                algorithm=algorithm, random_state=random_state, top=top, host=host,
                                window=window_seconds, time_column=flows.time_column, label=flows.label,
                                normal=flows.normal)
            result = run(frame, flows.offsets, lazy, active, steps, flow, present, settings, flows.n_rows)
        result.info, result.time_column, result.label, result.top = info, flows.time_column, flows.label, top
        result.model.created, result.model.version = info["started"], __version__
        info["seconds"] = round(time.time() - started, 1)
        if folder is not None:
            from ._anomaly_run import write_outputs

            with steps.step("Writing outputs") as stage:
                written = write_outputs(result, folder, plots, lazy, steps)
                stage.count(len(written) + 1, "files and folders")
    result.paths = final_paths(written, folder, out)
    return steps.finish(result)


def _check_numbers(eps: Any, min_samples: Any, fit_size: Any, eps_sample_size: Any, max_core_points: Any) -> None:
    from numbers import Real

    if eps != "auto" and (isinstance(eps, bool) or not isinstance(eps, Real) or not 0 < eps < math.inf):
        raise ValueError(f"eps must be 'auto' or a positive number; got {eps!r}.")
    for name, value, low in (("min_samples", min_samples, 1), ("fit_size", fit_size, 2),
                             ("max_core_points", max_core_points, 1), ("eps_sample_size", eps_sample_size, 2)):
        if name == "eps_sample_size" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer of at least {low}; got {value!r}.")


def _flow_features(features: list[str] | None, columns: dict[str, str] | None, host: str | None,
                   log: bool) -> tuple[Any, dict[str, str]]:
    """How the features are made (checked, nothing read) and the context columns by role."""
    from .anomaly_model import FlowFeatures

    known = {**FLOW_COLUMNS, **CONTEXT_COLUMNS}
    if columns is not None and not isinstance(columns, dict):
        raise TypeError(f"columns must be a dict of role -> column name; got {type(columns).__name__}.")
    unknown = sorted(set(columns or {}) - set(known))
    if unknown:
        raise ValueError(f"Unknown role(s) {unknown} in columns; the roles are {list(known)}.")
    named = {**known, **(columns or {})}
    if host is not None:
        named["source"] = host
    context = {role: named[role] for role in CONTEXT_COLUMNS}
    if features is not None:
        if isinstance(features, str) or not len(features) or not all(isinstance(c, str) for c in features):
            raise ValueError(f"features must be a non-empty list of column names; got {features!r}.")
        if len(set(features)) != len(features):
            raise ValueError(f"features names a column twice: {list(features)!r}.")
        return FlowFeatures({}, list(features), False, bool(log)), context
    from ..features._traffic import TRAFFIC_FEATURES

    numeric = {role: named[role] for role in FLOW_COLUMNS}
    return FlowFeatures(numeric, list(TRAFFIC_FEATURES), True, bool(log)), context
