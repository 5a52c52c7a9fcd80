"""Synthetic datasets for the end-to-end jobs, in memory or as partitioned Parquet.

* :func:`make_transactions` — customers' order lines, with each customer's true
  behaviour (champions, loyal, new, at risk, lost) for scoring a segmentation.
* :func:`make_flows` — network flows with a ``label`` column: ``normal`` or an
  injected anomaly (``exfiltration``, ``scan``, ``burst``).

Both are deterministic for a seed whatever the number of partitions, write
any size one partition at a time, and write atomically.
"""

from ._flows import ANOMALIES, FlowsData, make_flows
from ._transactions import BEHAVIOURS, TransactionsData, make_transactions

__all__ = [
    "ANOMALIES",
    "BEHAVIOURS",
    "FlowsData",
    "TransactionsData",
    "make_flows",
    "make_transactions",
]
