"""Traffic anomaly detection: flows → features → scale → eps → DBSCAN → ranked alerts.

One function, :func:`detect_anomalies`, runs the whole job in memory
(pandas/NumPy) or on a Dask cluster, and (with ``out=``) writes its outputs
atomically.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .. import __version__
from ..features import FLOW_COLUMNS
from ..features._columns import is_dask
from ._columns import library_errors, numbers
from ._load import describe_input, is_dask_frame, load_table
from ._run import LOG_NAME, Steps, check_out_folder, final_paths, job_client, job_folder
from .report import SEVERITY_LEVELS

#: (level, lowest distance to the nearest cluster in units of eps), most severe first.
SEVERITY_THRESHOLDS = (("critical", 20.0), ("high", 5.0), ("medium", 2.0), ("low", 0.0))
SEVERITY_RULE = (
    "Severity from the distance of an alert to the nearest core point of any cluster, in units of eps "
    "(a noise point is always more than eps away): critical >= 20 eps, high >= 5 eps, medium >= 2 eps, "
    "low otherwise (just beyond the reach of normal traffic)."
)
#: What each level means, for the reports.
SEVERITY_MEANING = {
    "critical": "far outside all normal traffic",
    "high": "clearly outside normal traffic",
    "medium": "outside normal traffic",
    "low": "at the edge of normal traffic",
}


def severity_of(distance_eps: Any) -> np.ndarray:
    """Severity level of each distance (in units of eps), by :data:`SEVERITY_THRESHOLDS`."""
    ratio = np.asarray(distance_eps, dtype=np.float64)
    out = np.full(ratio.shape, "low", dtype=object)
    for level, low in SEVERITY_THRESHOLDS[::-1]:
        out[ratio >= low] = level
    return out


@dataclass
class AnomalyResult:
    """What :func:`detect_anomalies` found and wrote."""

    alerts: pd.DataFrame  #: one row per noise flow, most distant first (see :func:`detect_anomalies`)
    eps: float
    eps_reason: str
    min_samples: int
    n_flows: int  #: flows with usable features
    n_clusters: int
    features: list[str]
    metrics: dict[str, float] | None  #: precision, recall, f1, … when a label column exists
    eps_suggestion: Any  #: :class:`scalecluster.metrics.EpsSuggestion`, or None when eps was given
    model: Any  #: the fitted DBSCAN
    scaling: Any
    labels: Any  #: per flow: ``row`` (index) and ``cluster`` (-1: noise); pandas, or Dask persisted
    sample: pd.DataFrame  #: up to 5000 flows' scaled features, for plots
    severity_rule: str = SEVERITY_RULE
    paths: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: what the run read and how: input, rows, date range, settings, version
    info: dict[str, Any] = field(default_factory=dict)
    time_column: str | None = None  #: the column of the flows' times, if any (shown as dates)
    label: str | None = None  #: the ground-truth column used, if any

    def summary(self) -> str:
        counts = self.alerts["severity"].value_counts()
        lines = [
            (f"{len(self.alerts):,} alerts among {self.n_flows:,} flows; {self.n_clusters} clusters of normal traffic; "
            f"eps {self.eps:.4g} ({self.eps_reason}), min_samples {self.min_samples}."),
            "  by severity: " + ", ".join(f"{lvl} {int(counts.get(lvl, 0))}" for lvl in SEVERITY_LEVELS),
        ]
        if self.metrics:
            m = self.metrics
            lines.append(f"  against the labels: precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f}")
        return "\n".join(lines)


def detect_anomalies(
    data: Any,
    *,
    features: list[str] | None = None,
    columns: dict[str, str] | None = None,
    label: str | None = "label",
    normal: Any = "normal",
    timestamp: str | None = None,
    eps: float | str = "auto",
    min_samples: int = 20,
    eps_sample_size: int = 2000,
    max_core_points: int = 200_000,
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
    """Find anomalous network flows: the noise of DBSCAN on scaled traffic features.

    Steps: per-flow features (:func:`scalecluster.features.traffic_features`:
    totals, bytes per packet, send/receive ratio, packets per second,
    duration; zero divisions made finite, rows with missing or negative
    inputs dropped and counted) → ``log1p`` and standardisation → eps at the
    knee of the k-distance graph (:func:`scalecluster.metrics.suggest_eps`)
    unless given → DBSCAN → every noise flow is an alert, ranked by its
    distance to the nearest core point (the nearest cluster), with a severity
    (:data:`SEVERITY_RULE`).

    Parameters
    ----------
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        Flows: Parquet (file, folder, glob) or CSV.  CSV files are read as
        text; the numeric columns used are converted here (a value that is not
        a plain number is named, with its line), the others are kept as text.
    features : list of str, default=None
        Numeric columns to use as they are, instead of the derived traffic
        features (rows with NaN or infinite values are dropped and counted).
    columns : dict, default=None
        Column names by role for the traffic features when they differ from
        ``bytes_out``, ``bytes_in``, ``packets_out``, ``packets_in``, ``duration``.
    label : str or None, default="label"
        A ground-truth column: precision, recall and F1 are reported (a row
        is anomalous when its value differs from ``normal``).  The default
        ``"label"`` is used when such a column exists; another name must exist.
    normal : default="normal"
        The label value of normal rows.  It is read as the label column's
        kind (``"0"`` matches 0 in a numeric column); a value that no row
        has is an error listing the values that occur.
    timestamp : str, default=None
        The column of the flows' times, for the date range in the report and
        the alerts' times (None: a column named ``timestamp`` if there is one).
    eps : "auto" or float, default="auto"
    min_samples : int, default=20
        DBSCAN's ``min_samples`` (also the k of the k-distance graph).
    eps_sample_size : int, default=2000
        Rows whose k-distance is computed for the knee.
    max_core_points : int, default=200000
        At most this many core points are kept to measure distances to the
        clusters: beyond it, a sample stratified by cluster (so a distance can
        be over-estimated, never under-estimated).
    log : bool, default=True
        ``log1p`` the features before standardising (they must be >= 0).
    algorithm : str, default=None
        DBSCAN's ``algorithm``.  None: ``"grid"`` for up to 8 features (on the
        6 traffic features it was about 30 times faster than the tree),
        ``"auto"`` beyond.
    client, cluster, out, overwrite, random_state, plots, verbose, stream
        As for :func:`scalecluster.jobs.segment`.  ``out`` receives
        ``labels/`` (Parquet: row, cluster), ``alerts.csv``, ``summary.json``,
        ``k_distance.png``, ``alerts.png``, ``report.md``, ``report.html``, ``run.log``.

    Returns
    -------
    AnomalyResult
        ``alerts`` has columns ``rank``, ``row`` (position of the flow in the
        input), ``severity``, ``distance`` (in the scaled feature space:
        standard deviations of the log features), ``distance_eps`` (the same
        distance in units of eps: 1 is the edge of normal traffic),
        ``nearest_cluster``, then the input's columns and the features.

    Raises
    ------
    FileNotFoundError, KeyError, TypeError, ValueError
        For a missing path, a missing column (named, with the closest and the
        available ones), a value that is not a number (named), or bad parameters.
    """
    from numbers import Real

    started = time.time()
    steps = Steps("anomalies", verbose=verbose, stream=stream)
    if eps != "auto" and (isinstance(eps, bool) or not isinstance(eps, Real) or not 0 < eps < math.inf):
        raise ValueError(f"eps must be 'auto' or a positive number; got {eps!r}.")
    if isinstance(min_samples, bool) or not isinstance(min_samples, (int, np.integer)) or min_samples < 1:
        raise ValueError(f"min_samples must be a positive integer; got {min_samples!r}.")
    roles = _roles(features, columns)
    check_out_folder(out, overwrite=overwrite)
    required: dict[str, Any] = {}
    for column, role in roles.items():
        required.setdefault(role, []).append(column)
    if label is not None and label != "label":
        required["label"] = label
    if timestamp is not None:
        required["timestamp"] = timestamp
    info: dict[str, Any] = {
        "job": "anomalies", "input": describe_input(data), "version": __version__,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "columns": {"features": list(features)} if features is not None else {**FLOW_COLUMNS, **(columns or {})},
        "settings": {"eps": eps, "min_samples": int(min_samples), "log": log, "eps_sample_size": eps_sample_size,
                     "random_state": random_state},
    }
    written: dict[str, str] = {}
    distributed = client is not None or cluster is not None
    with job_folder(out, overwrite=overwrite, uses_distributed=distributed) as folder, \
            job_client(client, cluster, steps, log=folder and os.path.join(folder, LOG_NAME)) as active:
        lazy = active is not None or is_dask_frame(data)
        info["run_on"] = _run_on(active, lazy)
        with library_errors("flows"):
            with steps.step("Reading flows") as stage:
                frame = load_table(data, lazy=lazy, require=required, as_text=True)
                what = info["input"] if info["input"].startswith("a ") else repr(info["input"])
                frame = numbers(frame, roles, what=what)
                time_column = timestamp if timestamp is not None else (
                    "timestamp" if "timestamp" in frame.columns else None)
                frame, offsets, n_rows, span = _number_rows(frame, lazy, active, steps, time_column)
                stage.count(n_rows, "rows")
            info.update(rows=n_rows, time_column=time_column, **span)
            used_label = label if label is not None and label in frame.columns else None
            if used_label is not None:
                normal = _normal_value(frame[used_label].dtype, normal)
                info["settings"].update(label=used_label, normal=normal)
            result = _run(frame, offsets, lazy, active, steps, features, columns, used_label, normal, eps,
                          int(min_samples), eps_sample_size, max_core_points, log, algorithm, random_state, n_rows)
        result.info, result.time_column, result.label = info, time_column, used_label
        info["seconds"] = round(time.time() - started, 1)
        if folder is not None:
            with steps.step("Writing outputs") as stage:
                written = _write(result, folder, plots, lazy, steps)
                stage.count(len(written) + 1, "files and folders")
    result.paths = final_paths(written, folder, out)
    return steps.finish(result)


def _roles(features: list[str] | None, columns: dict[str, str] | None) -> dict[str, str]:
    """The numeric columns the job uses -> the parameter that named them (checked, nothing read)."""
    from ..features import FLOW_COLUMNS

    if features is not None:
        if isinstance(features, str) or not len(features) or not all(isinstance(c, str) for c in features):
            raise ValueError(f"features must be a non-empty list of column names; got {features!r}.")
        return {c: "features" for c in features}
    unknown = sorted(set(columns or {}) - set(FLOW_COLUMNS))
    if unknown:
        raise ValueError(f"Unknown role(s) {unknown} in columns; the roles are {list(FLOW_COLUMNS)}.")
    return {column: role for role, column in {**FLOW_COLUMNS, **(columns or {})}.items()}


def _run_on(client: Any, lazy: bool) -> str:
    if client is not None:
        n = len(client.scheduler_info().get("workers", {}))
        return f"Dask cluster, {n} worker{'s' if n != 1 else ''}"
    return "Dask, local threads" if lazy else "in memory (pandas, NumPy)"


def _normal_value(dtype: Any, normal: Any) -> Any:
    """``normal`` as the label column's kind: "0" for a numeric column is 0; 0 for a text column is "0"."""
    if pd.api.types.is_bool_dtype(dtype) and isinstance(normal, str) and normal.lower() in ("true", "false"):
        return normal.lower() == "true"
    if pd.api.types.is_numeric_dtype(dtype) and isinstance(normal, str):
        try:
            value = float(normal)
        except ValueError:
            return normal
        return int(value) if value.is_integer() else value
    if (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)) and not isinstance(normal, str):
        return str(normal)
    return normal


def _number_rows(frame: Any, lazy: bool, client: Any, steps: Steps,
                 time_column: str | None) -> tuple[Any, np.ndarray, int, dict[str, str]]:
    """``frame`` indexed by row position in the input (0, 1, …), each partition's first row, the row count
    and the date range of ``time_column`` (``first`` and ``last``; values that are not dates are ignored)."""
    times = None if time_column is None else _as_times(frame[time_column])
    if not lazy:
        span = _span(times.min(), times.max()) if times is not None else {}
        return _renumber(frame, 0), np.array([0]), len(frame), span
    import dask
    import dask.dataframe as dd

    wanted = [frame.map_partitions(len)] + ([times.min(), times.max()] if times is not None else [])
    lengths, *ends = steps.compute(client, *wanted)
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pieces = [dask.delayed(_renumber)(part, int(o)) for part, o in zip(frame.to_delayed(), offsets)]
    meta = _renumber(frame._meta, 0)
    return (dd.from_delayed(pieces, meta=meta, verify_meta=False), offsets, int(lengths.sum()),
            _span(*ends) if ends else {})


def _as_times(series: Any) -> Any:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    if is_dask(series):
        return series.map_partitions(_coerce_times, meta=pd.Series(pd.to_datetime([]), name=series.name))
    return _coerce_times(series)


def _coerce_times(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype):  # numbers: no unit to read them in
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]", name=series.name)
    return pd.to_datetime(series, format="mixed", errors="coerce", utc=True)


def _span(first: Any, last: Any) -> dict[str, str]:
    from .segment import date_text as _date_text

    if pd.isna(first) or pd.isna(last):
        return {}
    return {"first": _date_text(first), "last": _date_text(last)}


def _renumber(part: pd.DataFrame, first: int) -> pd.DataFrame:
    out = part.reset_index(drop=True)
    out.index = pd.RangeIndex(first, first + len(out), name="row")
    return out


def _finite_rows(feats: pd.DataFrame) -> pd.DataFrame:
    values = feats.to_numpy(dtype=np.float64)
    return feats[np.isfinite(values).all(axis=1)]


def _run(frame, offsets, lazy, client, steps, features, columns, label, normal, eps, min_samples,
         eps_sample_size, max_core_points, log, algorithm, random_state, n_rows) -> AnomalyResult:
    from .. import DBSCAN
    from ..features import scale, traffic_features
    from ..metrics import suggest_eps

    notes: list[str] = []
    with steps.step("Features") as stage:
        if features is None:
            feats, report = traffic_features(frame, columns=columns, missing="drop")
            names = list(feats.columns)
        else:
            names = list(features)
            raw = frame[names].astype("float64")
            feats = raw.map_partitions(_finite_rows, meta=raw) if lazy else _finite_rows(raw)
            report = None
        try:
            scaled, scaling = scale(feats, log=log)
        except ValueError as error:
            if "negative values" not in str(error):
                raise
            raise ValueError(
                f"{str(error).split(';')[0]}: the log scale needs values >= 0. Choose columns of counts or "
                "sizes with features=, or shift these columns to start at 0."
            ) from None
        if lazy:
            (scaled,) = steps.persist(client, scaled)
            X = scaled.to_dask_array(lengths=True)
        else:
            X = scaled.to_numpy(dtype=np.float64)
        n_flows = int(X.shape[0])
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
        stage.describe(f"{n_flows:,} flows, {len(names)} features")
    if n_flows <= min_samples:
        raise ValueError(
            f"{n_flows:,} flows with usable features are too few for min_samples={min_samples}; lower it, "
            "or give more flows."
        )

    suggestion = None
    if eps == "auto":
        with steps.step("Choosing eps") as stage:
            try:
                suggestion = suggest_eps(X, min_samples, sample_size=eps_sample_size, random_state=random_state)
            except ValueError as error:
                if not str(error).startswith("suggest_eps:"):
                    raise
                raise ValueError(
                    f"eps cannot be chosen from the data: {str(error).removeprefix('suggest_eps: ')} "
                    "Give eps= yourself, or lower min_samples=."
                ) from None
            eps_value = float(suggestion.eps)
            eps_reason = (f"knee of the k-distance graph (k = min_samples = {min_samples}, "
                          f"{len(suggestion.k_distances):,} sampled flows)")
            stage.count(len(suggestion.k_distances), "sampled flows")
            stage.result(f"eps = {eps_value:.4g}")
    else:
        eps_value, eps_reason = float(eps), "given"

    chosen = algorithm if algorithm is not None else ("grid" if len(names) <= 8 else "auto")
    with steps.step("DBSCAN") as stage:
        stage.describe(f"{n_flows:,} flows, eps {eps_value:.4g}, min_samples {min_samples}")
        try:
            model = DBSCAN(eps=eps_value, min_samples=min_samples, algorithm=chosen).fit(X)
        except ValueError as error:
            if algorithm is not None or "cannot index this data" not in str(error):
                raise
            # eps is tiny against the data's range: the grid's cells cannot be numbered; the tree can.
            notes.append(f"eps = {eps_value:.4g} is too small against the data's range for the grid index; "
                         "DBSCAN used its tree index.")
            model = DBSCAN(eps=eps_value, min_samples=min_samples, algorithm="auto").fit(X)
        labels = model.labels_
        if lazy:
            (labels,) = steps.persist(client, labels)

    with steps.step("Ranking alerts") as stage:
        core_index = np.asarray(model.core_sample_indices_)
        chunks = (n_flows,) if not lazy else X.chunks[0]
        starts = np.concatenate([[0], np.cumsum(chunks)[:-1]]).astype(np.int64)
        if lazy:
            import dask

            x_blocks, l_blocks, parts = X.to_delayed().ravel(), labels.to_delayed().ravel(), scaled.to_delayed()
            cap = max(1, -(-max_core_points // len(chunks)))
            tasks = []
            for i, (start, size) in enumerate(zip(starts, chunks)):
                local = core_index[(core_index >= start) & (core_index < start + size)] - start
                tasks.append(dask.delayed(_block_summary)(x_blocks[i], l_blocks[i], parts[i], local, cap, random_state + i))
            pieces = steps.compute(client, *tasks)
        else:
            pieces = [_block_summary(X, np.asarray(labels), scaled, core_index, max_core_points, random_state)]
        noise = pd.concat([p[0] for p in pieces])
        core_X = np.concatenate([p[1] for p in pieces])
        core_labels = np.concatenate([p[2] for p in pieces])
        n_core = len(core_index)
        if len(core_X) > max_core_points:
            keep = _stratified(core_labels, max_core_points, random_state)
            core_X, core_labels = core_X[keep], core_labels[keep]
        if len(core_X) < n_core:
            notes.append(f"Distances measured to a sample of {len(core_X):,} of the {n_core:,} core points "
                         "(stratified by cluster): a distance may be over-estimated.")
        n_clusters = len(np.unique(core_labels)) if len(core_labels) else 0
        if n_clusters == 0:
            notes.append("DBSCAN found no cluster of normal traffic: every flow is an alert. eps is too small "
                         "or min_samples too large for this data.")
        alerts = _rank(noise, core_X, core_labels, eps_value, names)
        alerts = _with_flow_columns(alerts, frame, offsets, lazy, client, steps)
        if len(alerts):
            original = scaling.inverse_transform(alerts[[f"{c}_scaled" for c in names]].set_axis(names, axis=1))
            position = list(alerts.columns).index(names[0] + "_scaled")
            for offset, column in enumerate(c for c in names if c not in alerts.columns):
                alerts.insert(position + offset, column, original[column].to_numpy())
        stage.count(len(alerts), "alerts")
        stage.result(f"{n_clusters} clusters of normal traffic")

    metrics = None
    if label is not None:
        with steps.step("Scoring") as stage:
            truth_all = frame[label] != normal
            positives = int(steps.compute(client, truth_all.sum())[0]) if lazy else int(truth_all.sum())
            if positives == n_rows:
                values = frame[label].dropna().unique()
                values = values.compute() if lazy else values
                shown = ", ".join(repr(v) for v in list(values)[:8])
                raise ValueError(
                    f"No row of the label column {label!r} (label=) has the value {normal!r} (normal=), so every "
                    f"flow would count as an anomaly; its values include {shown}. Name the value of normal "
                    "rows with normal=."
                )
            hits = int((alerts[label] != normal).sum())
            precision = hits / len(alerts) if len(alerts) else 0.0
            recall = hits / positives if positives else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            metrics = {"precision": precision, "recall": recall, "f1": f1, "true_anomalies": positives,
                       "alerts": len(alerts), "true_positives": hits}
            stage.describe(f"{positives:,} labelled anomalies")
            stage.result(f"precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}")

    fraction = min(1.0, 5000 / max(n_flows, 1))
    sample = scaled.sample(frac=fraction, random_state=random_state) if fraction < 1 else scaled
    if lazy:
        sample = steps.compute(client, sample)[0]
    sample = sample.sort_index().head(5000).add_suffix("_scaled")
    if lazy:
        labelled = _labels_frame(scaled, labels)
    else:
        labelled = pd.DataFrame({"cluster": np.asarray(labels)}, index=scaled.index)
    return AnomalyResult(
        alerts=alerts, eps=eps_value, eps_reason=eps_reason, min_samples=min_samples, n_flows=n_flows,
        n_clusters=n_clusters, features=names, metrics=metrics, eps_suggestion=suggestion, model=model,
        scaling=scaling, labels=labelled, sample=sample, notes=notes,
    )


def _block_summary(X: np.ndarray, labels: np.ndarray, scaled: pd.DataFrame, core_local: np.ndarray, cap: int,
                   seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One block's noise rows (scaled features, by row) and a sample of at most ``cap`` of its core points."""
    noise = scaled[labels == -1]
    core_local = np.asarray(core_local, dtype=np.int64)
    core_labels = labels[core_local]
    if len(core_local) > cap:
        keep = _stratified(core_labels, cap, seed)
        core_local, core_labels = core_local[keep], core_labels[keep]
    return noise, np.asarray(X[core_local], dtype=np.float64), core_labels


def _stratified(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of about ``size`` items: each label's share, at least min(20, its count)."""
    rng = np.random.default_rng(seed)
    _values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = np.maximum(np.minimum(counts, 20), np.floor(counts * size / counts.sum()).astype(np.int64))
    order = np.argsort(inverse, kind="stable")
    groups = np.split(order, np.cumsum(counts)[:-1])
    keep = [rng.choice(g, size=min(len(g), q), replace=False) for g, q in zip(groups, quota)]
    return np.sort(np.concatenate(keep))


def _rank(noise: pd.DataFrame, core_X: np.ndarray, core_labels: np.ndarray, eps: float,
          names: list[str]) -> pd.DataFrame:
    """Alerts: the noise rows with distance to the nearest core point, severity and rank."""
    if len(core_X) and len(noise):
        from sklearn.neighbors import NearestNeighbors

        distance, nearest = NearestNeighbors(n_neighbors=1).fit(core_X).kneighbors(noise.to_numpy(np.float64))
        distance, cluster = distance[:, 0], core_labels[nearest[:, 0]]
    else:
        distance, cluster = np.full(len(noise), np.inf), np.full(len(noise), -1)
    alerts = pd.DataFrame(
        {"distance": distance, "distance_eps": distance / eps, "nearest_cluster": cluster.astype(np.int64)},
        index=noise.index,
    )
    alerts["severity"] = severity_of(alerts["distance_eps"].to_numpy())
    alerts = pd.concat([alerts, noise.add_suffix("_scaled")], axis=1)
    alerts = alerts.rename_axis("row").reset_index()
    alerts = alerts.sort_values(["distance", "row"], ascending=[False, True], kind="stable").reset_index(drop=True)
    alerts.insert(0, "rank", np.arange(1, len(alerts) + 1))
    return alerts


def _with_flow_columns(alerts: pd.DataFrame, frame: Any, offsets: np.ndarray, lazy: bool, client: Any,
                       steps: Steps) -> pd.DataFrame:
    """The alerts joined with their flows' input columns and unscaled features (fetched by row)."""
    rows = alerts["row"].to_numpy()
    if lazy:
        import dask

        part_of = np.searchsorted(offsets, rows, side="right") - 1
        parts = frame.to_delayed()
        wanted = [(i, rows[part_of == i]) for i in np.unique(part_of)]
        fetched = steps.compute(client, *[dask.delayed(_take_rows)(parts[i], r) for i, r in wanted]) if wanted else []
        flows = pd.concat(fetched) if len(fetched) else frame._meta
    else:
        flows = frame.loc[rows]
    flows = flows.loc[rows]
    extra = flows.reset_index(drop=True)
    extra = extra[[c for c in extra.columns if c not in alerts.columns]]
    base = alerts[["rank", "row", "severity", "distance", "distance_eps", "nearest_cluster"]]
    scaled = alerts[[c for c in alerts.columns if c.endswith("_scaled")]]
    return pd.concat([base, extra, scaled], axis=1)


def _take_rows(part: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return part.loc[rows]


def _labels_frame(scaled: Any, labels: Any) -> Any:
    import dask
    import dask.dataframe as dd

    pieces = [dask.delayed(_label_part)(p, b) for p, b in zip(scaled.to_delayed(), labels.to_delayed().ravel())]
    return dd.from_delayed(pieces, meta=_label_part(scaled._meta, np.array([], dtype=np.int64)), verify_meta=False)


def _label_part(part: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"cluster": np.asarray(labels, dtype=np.int64)}, index=part.index)


def _write(result: AnomalyResult, folder: str, plots: bool, lazy: bool, steps: Steps) -> dict[str, str]:
    from . import report

    written: dict[str, str] = {}
    labels_dir = os.path.join(folder, "labels")
    if lazy:
        result.labels.reset_index().to_parquet(labels_dir, write_index=False)
    else:
        os.makedirs(labels_dir)
        result.labels.reset_index().to_parquet(os.path.join(labels_dir, "part-00000.parquet"), index=False)
    written["labels"] = labels_dir
    written["alerts"] = os.path.join(folder, "alerts.csv")
    result.alerts[[c for c in result.alerts.columns if not c.endswith("_scaled")]].to_csv(
        written["alerts"], index=False, float_format="%.15g")
    written.update(report.anomaly_report(result, folder, plots=plots, say=steps.say))
    summary = {
        "n_flows": result.n_flows, "alerts": len(result.alerts), "eps": result.eps, "eps_reason": result.eps_reason,
        "min_samples": result.min_samples, "n_clusters": result.n_clusters, "features": result.features,
        "severity": {lvl: int((result.alerts["severity"] == lvl).sum()) for lvl in SEVERITY_LEVELS},
        "severity_rule": result.severity_rule, "metrics": result.metrics, "notes": result.notes, "run": result.info,
    }
    written["summary"] = os.path.join(folder, "summary.json")
    with open(written["summary"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return written
