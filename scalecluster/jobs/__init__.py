"""The end-to-end jobs: customer segmentation (fit, apply, drift) and traffic anomaly detection.

* :func:`segment` — transactions → cleaned, counted → RFM → scale → k by
  stability → KMeans → named segments with actions; labels, profile, plots, a
  report and ``model/`` (plain data: JSON, ``.npz``, Parquet).
* :func:`load_model` / :func:`apply_model` — a saved segmentation applied to
  new transactions: the published segment numbers and names.
* :func:`drift` — new transactions against a model's training data: shares,
  medians, customers who changed segment, population-stability index.
* :func:`detect_anomalies` — flows → traffic features → scale → eps from the
  k-distance knee → DBSCAN → alerts ranked by distance to the nearest
  cluster, with a severity.

All run in memory (pandas/NumPy) or on a Dask cluster (``client=`` or
``cluster=``), read Parquet, CSV or TSV (converting the columns they use, with
errors that name the value, its line and the count), print one line per
stage, and write their outputs atomically: labels, tables, plots, a report that
says what it was made from, and ``run.log`` (the libraries' own messages).  The
``scalecluster`` command line runs them: ``scalecluster segment PATH``,
``scalecluster apply MODEL PATH``, ``scalecluster drift MODEL PATH``,
``scalecluster anomalies PATH``, ``scalecluster demo``.
"""

from ._alerts import SEVERITY_RULE, severity_of
from ._stability import STABILITY_THRESHOLD, choose_k, stability_sweep
from .anomalies import AnomalyResult, detect_anomalies
from .anomaly_apply import AnomalyApplyResult, apply_anomaly_model
from .anomaly_model import AnomalyModel
from .apply import ApplyResult, apply_model
from .drift import DriftResult, drift
from .model import ModelError, SegmentModel, load_model
from .naming import SEGMENT_ACTIONS, SEGMENT_NAMES, action_of, name_segments
from .segment import SegmentResult, segment

__all__ = [
    "SEGMENT_ACTIONS",
    "SEGMENT_NAMES",
    "SEVERITY_RULE",
    "STABILITY_THRESHOLD",
    "AnomalyApplyResult",
    "AnomalyModel",
    "AnomalyResult",
    "ApplyResult",
    "DriftResult",
    "ModelError",
    "SegmentModel",
    "SegmentResult",
    "action_of",
    "apply_anomaly_model",
    "apply_model",
    "choose_k",
    "detect_anomalies",
    "drift",
    "load_model",
    "name_segments",
    "segment",
    "severity_of",
    "stability_sweep",
]
