"""Features for the end-to-end jobs, on pandas or Dask DataFrames.

* :func:`rfm` — recency, frequency and monetary value per customer.
* :func:`traffic_features` — total bytes, bytes per packet, send/receive
  ratio, packets per second, duration; zero divisions handled and counted.
* :func:`scale` (standard or robust, optionally after :func:`log1p`), fitted
  once and invertible, so cluster centres can be read in original units.
* :func:`drop_outliers` — IQR fences or quantile bounds, with a report.

Dask in, Dask out (lazy, except for the small statistics a fit needs);
pandas in, pandas out.  Column names are arguments everywhere; a missing
column is named in the error with the available ones.
"""

from ._columns import MissingColumnError
from ._outliers import OutlierReport, drop_outliers
from ._rfm import RFM_COLUMNS, rfm
from ._scaling import Scaling, log1p, scale
from ._traffic import FLOW_COLUMNS, TRAFFIC_FEATURES, TrafficReport, traffic_features

__all__ = [
    "FLOW_COLUMNS",
    "RFM_COLUMNS",
    "TRAFFIC_FEATURES",
    "MissingColumnError",
    "OutlierReport",
    "Scaling",
    "TrafficReport",
    "drop_outliers",
    "log1p",
    "rfm",
    "scale",
    "traffic_features",
]
