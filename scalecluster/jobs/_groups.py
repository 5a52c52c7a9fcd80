"""Suspicious groups: clusters that are not normal traffic, found by their size or their profile.

DBSCAN puts many near-identical flows into a cluster of their own, whether
they are a busy service or a scan.  Each cluster of the fit sample is
therefore read before it may stand for normal traffic; it is a **suspicious
group** when

* it is **small**: less than :data:`SMALL_GROUP_SHARE` (1 %) of the fit
  sample's rows (normal services are each a large share of traffic; a
  campaign of a few hundred identical flows is not), or
* its **profile is far from the bulk**:

  - **no replies**: at least :data:`NO_REPLY_SHARE` (half) of its flows got
    no bytes back (normal services answer);
  - **fan-out**: its sources reach :data:`FAN_OUT_PORTS` (20) or more
    destination ports each on average (one source to many ports: a scan;
    normal clients use a handful of services).

For hosts the same rules read the hosts' aggregates: a group of host rows
is suspicious when small, when the median share of flows without a reply is
at least half, or when the median number of destination ports is 20 or more.

Groups are not normal traffic, so their flows (hosts) score by their distance
to the normal clusters and are alerts like any other outlier; the report and
``groups.csv`` also list each group as a whole, with its size, profile and the
hosts involved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: A cluster with less than this share of the fit sample's rows is a suspicious group ("small").
SMALL_GROUP_SHARE = 0.01
#: A cluster where at least this share of the flows got no reply is a suspicious group.
NO_REPLY_SHARE = 0.5
#: A cluster whose sources reach this many destination ports each (on average) is a suspicious group.
FAN_OUT_PORTS = 20
#: Flows (hosts) this many packets or fewer, at the median, are called tiny in a profile.
TINY_PACKETS = 3

GROUP_RULE = (
    f"A cluster is a suspicious group, not normal traffic, when it holds less than {SMALL_GROUP_SHARE:.0%} of the "
    f"fit sample (small), when {NO_REPLY_SHARE:.0%} or more of its flows got no reply, or when its sources reach "
    f"{FAN_OUT_PORTS} or more destination ports each (fan-out)."
)


def flow_groups(sample: pd.DataFrame, labels: np.ndarray, *, source: str | None = None,
                port: str | None = None) -> pd.DataFrame:
    """One row per cluster of the fit sample (index: cluster 0..k-1): its profile and whether it is normal.

    Parameters
    ----------
    sample : pandas.DataFrame
        The fit sample's flows: the features in their own units (``total_bytes``,
        ``total_packets``, ``duration`` when they are the traffic features), and
        optionally ``no_reply`` (bool), ``source`` and ``port`` columns.
    labels : ndarray of shape (n_sample,)
        DBSCAN's labels of the sample (-1: noise).
    """
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1 if len(labels) else 0
    rows = []
    n = max(len(sample), 1)
    for c in range(k):
        members = sample[labels == c]
        share = len(members) / n
        item: dict[str, Any] = {"sample_flows": len(members), "sample_share": share}
        for column, name in (("total_bytes", "median_bytes"), ("total_packets", "median_packets"),
                             ("duration", "median_duration")):
            if column in members:
                item[name] = float(members[column].median())
        why = []
        if share < SMALL_GROUP_SHARE:
            why.append("small")
        if "no_reply" in members:
            item["no_reply_share"] = float(members["no_reply"].mean())
            if item["no_reply_share"] >= NO_REPLY_SHARE:
                why.append("no replies")
        if source is not None and source in members:
            sources = members[source].nunique()
            item["sources"] = int(sources)
            if port is not None and port in members:
                pairs = len(members[[source, port]].drop_duplicates())
                item["ports_per_source"] = pairs / max(sources, 1)
                if item["ports_per_source"] >= FAN_OUT_PORTS:
                    why.append("fan-out")
        item["why"] = ", ".join(why)
        item["normal"] = not why
        item["profile"] = flow_profile(item)
        rows.append(item)
    table = pd.DataFrame(rows, index=pd.RangeIndex(k, name="cluster"))
    if not len(table):
        table = pd.DataFrame({"sample_flows": [], "sample_share": [], "why": [], "normal": [], "profile": []},
                             index=pd.RangeIndex(0, name="cluster"))
    return table


def flow_profile(item: dict[str, Any]) -> str:
    """A cluster's profile in words: ``tiny flows (median 2 packets, 143 B, 0.001 s); 100% without a reply; ...``."""
    from .report import significant, size_in_bytes

    parts = []
    medians = []
    if "median_packets" in item:
        medians.append(f"{item['median_packets']:,.0f} packets")
    if "median_bytes" in item:
        medians.append(size_in_bytes(item["median_bytes"]))
    if "median_duration" in item:
        medians.append(f"{significant(item['median_duration'], 3)} s")
    if medians:
        tiny = item.get("median_packets", np.inf) <= TINY_PACKETS
        parts.append(f"{'tiny flows, ' if tiny else ''}median {', '.join(medians)}")
    if "no_reply_share" in item:
        parts.append(f"{item['no_reply_share']:.0%} without a reply")
    if "ports_per_source" in item:
        parts.append(f"{item.get('sources', 0):,} sources, {item['ports_per_source']:,.0f} ports each")
    return "; ".join(parts)


def host_groups(sample: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """One row per cluster of the host rows' fit sample: profile and whether it is normal (see the module)."""
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1 if len(labels) else 0
    n = max(len(sample), 1)
    rows = []
    for c in range(k):
        members = sample[labels == c]
        share = len(members) / n
        item: dict[str, Any] = {"sample_hosts": len(members), "sample_share": share}
        for column in ("flows", "destinations", "ports", "no_reply"):
            if column in members:
                item[f"median_{column}"] = float(members[column].median())
        why = []
        if share < SMALL_GROUP_SHARE:
            why.append("small")
        if item.get("median_no_reply", 0.0) >= NO_REPLY_SHARE:
            why.append("no replies")
        if item.get("median_ports", 0.0) >= FAN_OUT_PORTS:
            why.append("fan-out")
        item["why"] = ", ".join(why)
        item["normal"] = not why
        item["profile"] = (f"median {item.get('median_flows', 0):,.0f} flows to {item.get('median_destinations', 0):,.0f} "
                           f"destinations on {item.get('median_ports', 0):,.0f} ports, "
                           f"{item.get('median_no_reply', 0):.0%} without a reply")
        rows.append(item)
    if not rows:
        return pd.DataFrame({"sample_hosts": [], "sample_share": [], "why": [], "normal": [], "profile": []},
                            index=pd.RangeIndex(0, name="cluster"))
    return pd.DataFrame(rows, index=pd.RangeIndex(k, name="cluster"))


def top_hosts(counts: pd.Series, limit: int = 5) -> str:
    """``10.0.41.203 (2,236), 136.65.98.32 (1,352), ... and 4 more``: the hosts with the most flows."""
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    shown = ", ".join(f"{h} ({int(c):,})" for h, c in counts.head(limit).items())
    more = len(counts) - limit
    return shown + (f" and {more:,} more" if more > 0 else "")


def counted_groups(groups: pd.DataFrame, counts: np.ndarray, n_flows: int) -> pd.DataFrame:
    """``groups`` with ``kind`` (normal traffic / suspicious group), ``flows`` (of all the data scored) and
    ``share`` in front."""
    out = groups.copy()
    out.insert(0, "kind", np.where(out["normal"].to_numpy(dtype=bool), "normal traffic", "suspicious group"))
    out.insert(1, "flows", np.asarray(counts, dtype=np.int64)[: len(out)])
    out.insert(2, "share", out["flows"] / max(n_flows, 1))
    return out
