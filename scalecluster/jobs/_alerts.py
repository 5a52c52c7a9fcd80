"""Alerts from scored flows: the flows beyond the reach of normal traffic, ranked, cut to a budget, explained.

Shared by the fit (:mod:`scalecluster.jobs.anomalies`) and by scoring with a
saved model (:mod:`scalecluster.jobs.anomaly_apply`).  A flow is an **alert**
when its score (distance to the nearest core point of normal traffic, in
units of eps) is above 1.  Alerts are ranked by score (ties: by row), get a
severity (:data:`SEVERITY_THRESHOLDS`), and with ``top=N`` only the N highest
are kept; the counts (and, with a label column, precision and recall) are of
all alerts, before the cut.  On Dask each partition keeps at most its own N
highest before the driver sees them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._run import Steps

#: (level, lowest score: distance to normal traffic in units of eps), most severe first.
SEVERITY_THRESHOLDS = (("critical", 20.0), ("high", 5.0), ("medium", 2.0), ("low", 0.0))
SEVERITY_RULE = (
    "Severity from an alert's score: its distance to the nearest core point of normal traffic, in units of eps "
    "(an alert is always more than eps away): critical >= 20, high >= 5, medium >= 2, low otherwise (just beyond "
    "the reach of normal traffic)."
)
#: What each level means, for the reports.
SEVERITY_MEANING = {
    "critical": "far outside all normal traffic",
    "high": "clearly outside normal traffic",
    "medium": "outside normal traffic",
    "low": "at the edge of normal traffic",
}
#: Columns every alerts table starts with.
ALERT_COLUMNS = ["rank", "row", "severity", "score", "distance", "cluster"]


def severity_of(score: Any) -> np.ndarray:
    """Severity level of each score (distance in units of eps), by :data:`SEVERITY_THRESHOLDS`."""
    ratio = np.asarray(score, dtype=np.float64)
    out = np.full(ratio.shape, "low", dtype=object)
    for level, low in SEVERITY_THRESHOLDS[::-1]:
        out[ratio >= low] = level
    return out


def severity_line(alerts: pd.DataFrame) -> str:
    """``  by severity: critical 3, high 0, medium 1, low 2`` (of the alerts kept)."""
    counts = alerts["severity"].value_counts()
    return "  by severity: " + ", ".join(f"{level} {int(counts.get(level, 0))}" for level, _ in SEVERITY_THRESHOLDS)


def metrics_line(metrics: dict[str, Any]) -> str:
    return (f"  against the labels: precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}, "
            f"F1 {metrics['f1']:.3f}")


def check_top(top: Any) -> int | None:
    """``top`` as a positive int, or None (keep every alert)."""
    if top is None:
        return None
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top must be a positive integer (the number of alerts to keep) or None; got {top!r}.")
    return int(top)


def _highest(part: pd.DataFrame, top: int | None) -> pd.DataFrame:
    """Rows of ``part`` (scaled features, cluster, score; index: row) with score > 1, at most ``top`` of them."""
    flagged = part[part["score"].to_numpy() > 1.0]
    if top is not None and len(flagged) > top:
        order = np.lexsort((flagged.index.to_numpy(), -flagged["score"].to_numpy()))[:top]
        flagged = flagged.iloc[np.sort(order)]
    return flagged


def _joined(scaled: pd.DataFrame, scores: pd.DataFrame, top: int | None) -> tuple[pd.DataFrame, int]:
    """A partition's alerts (at most ``top``) and how many it has in all."""
    n_alerts = int((scores["score"].to_numpy() > 1.0).sum())
    return _highest(pd.concat([scores, scaled.add_suffix("_scaled")], axis=1), top), n_alerts


def select_alerts(scaled: Any, scores: Any, eps: float, top: int | None, lazy: bool, client: Any,
                  steps: Steps) -> tuple[pd.DataFrame, int]:
    """The alerts (at most ``top``), ranked: rank, row, severity, score, distance, cluster, then the scaled
    features (``*_scaled``); and the number of alerts before the cut."""
    if lazy:
        import dask

        pieces = [dask.delayed(_joined)(s, c, top) for s, c in zip(scaled.to_delayed(), scores.to_delayed())]
        parts = steps.compute(client, *pieces) or [_joined(scaled._meta, scores._meta, None)]
        flagged = pd.concat([p[0] for p in parts])
        n_alerts = sum(p[1] for p in parts)
    else:
        flagged, n_alerts = _joined(scaled, scores, None)
    flagged = _highest(flagged, top)
    rows = flagged.index.to_numpy()
    order = np.lexsort((rows, -flagged["score"].to_numpy()))
    flagged = flagged.iloc[order]
    score = flagged["score"].to_numpy(dtype=np.float64)
    alerts = pd.DataFrame({
        "rank": np.arange(1, len(flagged) + 1), "row": flagged.index.to_numpy(dtype=np.int64),
        "severity": severity_of(score), "score": score, "distance": score * eps,
        "cluster": flagged["cluster"].to_numpy(dtype=np.int64),
    })
    scaled_columns = flagged[[c for c in flagged.columns if c.endswith("_scaled")]].reset_index(drop=True)
    return pd.concat([alerts, scaled_columns], axis=1), n_alerts


def with_flow_columns(alerts: pd.DataFrame, frame: Any, offsets: np.ndarray, lazy: bool, client: Any,
                      steps: Steps, scaling: Any, features: list[str]) -> pd.DataFrame:
    """The alerts with their flows' input columns (fetched by row) and their features in their own units."""
    rows = alerts["row"].to_numpy()
    if lazy:
        import dask

        part_of = np.searchsorted(offsets, rows, side="right") - 1
        parts = frame.to_delayed()
        wanted = [(i, rows[part_of == i]) for i in np.unique(part_of)]
        fetched = steps.compute(client, *[dask.delayed(_take_rows)(parts[i], r) for i, r in wanted]) if wanted else []
        flows = pd.concat(fetched) if len(fetched) else frame._meta
    else:
        flows = frame
    flows = flows.loc[rows].reset_index(drop=True)
    extra = flows[[c for c in flows.columns if c not in alerts.columns]]
    scaled = alerts[[c for c in alerts.columns if c.endswith("_scaled")]]
    out = pd.concat([alerts[ALERT_COLUMNS], extra], axis=1)
    if len(alerts):
        original = scaling.inverse_transform(scaled[[f"{c}_scaled" for c in features]].set_axis(features, axis=1))
        for column in features:
            if column not in out.columns:
                out[column] = original[column].to_numpy()
    else:
        for column in features:
            if column not in out.columns:
                out[column] = pd.Series([], dtype="float64")
    return pd.concat([out, scaled], axis=1)


def _take_rows(part: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return part.loc[rows]


def label_metrics(frame: Any, scores: Any, label: str, normal: Any, lazy: bool, client: Any,
                  steps: Steps) -> dict[str, Any]:
    """Precision, recall and F1 of all alerts (score > 1) against ``frame[label] != normal``.

    Every row with a label counts: a labelled anomaly whose features could
    not be used (no score) is a miss.  Rows without a label (empty cells) count
    neither way; ``unlabelled`` says how many there were.
    """
    if lazy:
        import dask

        parts = [dask.delayed(_label_counts)(f, s, label, normal)
                 for f, s in zip(frame[[label]].to_delayed(), scores.to_delayed())]
        counts = np.sum(steps.compute(client, *parts), axis=0)
    else:
        counts = _label_counts(frame[[label]], scores, label, normal)
    positives, n_alerts, hits, unlabelled = (int(v) for v in counts)
    if positives == 0 and n_alerts == 0:
        precision = recall = f1 = 0.0
    else:
        precision = hits / n_alerts if n_alerts else 0.0
        recall = hits / positives if positives else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_anomalies": positives, "alerts": n_alerts,
            "true_positives": hits, "unlabelled": unlabelled}


def _label_counts(labels: pd.DataFrame, scores: pd.DataFrame, label: str, normal: Any) -> np.ndarray:
    """(labelled anomalies, alerts among labelled rows, hits, rows without a label) of one partition."""
    known = labels[label].notna().to_numpy()
    truth = known & (labels[label] != normal).to_numpy()
    flagged = np.zeros(len(labels), dtype=bool)
    position = labels.index.get_indexer(scores.index[scores["score"].to_numpy() > 1.0])
    flagged[position[position >= 0]] = True
    flagged &= known
    return np.array([truth.sum(), flagged.sum(), (truth & flagged).sum(), (~known).sum()], dtype=np.int64)


def cluster_counts(scores: Any, k: int, lazy: bool, client: Any, steps: Steps) -> np.ndarray:
    """Flows per cluster (0..k-1) over all scored rows."""
    if lazy:
        import dask

        parts = steps.compute(client, *[dask.delayed(_cluster_count)(p, k) for p in scores.to_delayed()])
        return np.sum(parts, axis=0) if len(parts) else np.zeros(k, dtype=np.int64)
    return _cluster_count(scores, k)


def _cluster_count(scores: pd.DataFrame, k: int) -> np.ndarray:
    values = scores["cluster"].to_numpy()
    return np.bincount(values[values >= 0], minlength=k)[:k].astype(np.int64)
