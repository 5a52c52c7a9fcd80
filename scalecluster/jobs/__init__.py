"""The end-to-end jobs: customer segmentation and traffic anomaly detection.

* :func:`segment` — transactions → RFM → scale → k from a sweep → KMeans →
  named segment profiles; labels, profile, plots and a report.
* :func:`detect_anomalies` — flows → traffic features → scale → eps from the
  k-distance knee → DBSCAN → alerts ranked by distance to the nearest
  cluster, with a severity.

Both run in memory (pandas/NumPy) or on a Dask cluster (``client=`` or
``cluster=``), read Parquet or CSV (converting the columns they use, with
errors that name the value and its line), print one line per stage, and write
their outputs atomically: labels, tables, plots, a report that says what it was
made from, and ``run.log`` (the libraries' own messages).  The ``scalecluster``
command line runs them: ``scalecluster segment PATH``, ``scalecluster anomalies
PATH``, ``scalecluster demo``.
"""

from .anomalies import SEVERITY_RULE, AnomalyResult, detect_anomalies, severity_of
from .naming import SEGMENT_NAMES, name_segments
from .segment import SegmentResult, choose_k, segment

__all__ = [
    "SEGMENT_NAMES",
    "SEVERITY_RULE",
    "AnomalyResult",
    "SegmentResult",
    "choose_k",
    "detect_anomalies",
    "name_segments",
    "segment",
    "severity_of",
]
