"""Per-host behaviour: flows aggregated per source host (and time window), clustered and scored.

On real captures attacks are not rare: a scan is thousands of tiny flows,
each identical to the others, so per-flow density calls them normal.  Per
source host they stand out: one host, many destinations and ports, few
replies.  :func:`host_table` aggregates the flows per host (and per window of
``window`` seconds, when given) with pandas or Dask; :func:`fit_hosts` clusters
the hosts exactly as the flows are clustered (log1p and standardise, a fit
sample, eps at the knee, DBSCAN, suspicious groups, a score for every host: see
:mod:`scalecluster.jobs._density`).

The aggregates (:data:`HOST_FEATURES`): ``flows``; ``destinations`` and
``ports`` (distinct destination hosts and ports); ``no_reply`` (the share of
flows that got no bytes back); ``bytes_out``, ``bytes_in``, ``packets_out``,
``packets_in`` (sums); ``duration`` (the mean, seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._density import (
    DensityModel,
    choose_eps,
    cluster_sample,
    row_draws,
    smallest_draws,
)

HOST_FEATURES = ("flows", "destinations", "ports", "no_reply", "bytes_out", "bytes_in", "packets_out", "packets_in",
                 "duration")
#: The sums behind the aggregates.
_SUMS = ("flows", "no_reply", "bytes_out", "bytes_in", "packets_out", "packets_in", "duration")


@dataclass
class HostSpec:
    """Which columns the host aggregation reads."""

    host: str  #: source host column
    destination: str  #: destination host column
    port: str  #: destination port column
    roles: dict[str, str]  #: bytes_out, bytes_in, packets_out, packets_in, duration -> column
    time_column: str | None = None
    window: int | None = None  #: seconds
    label: str | None = None
    normal: Any = None

    @property
    def keys(self) -> list[str]:
        return ["host", "window"] if self.window else ["host"]

    def columns(self) -> list[str]:
        used = [self.host, self.destination, self.port, *self.roles.values()]
        if self.window:
            used.append(str(self.time_column))
        if self.label:
            used.append(self.label)
        return list(dict.fromkeys(used))


def host_rows(part: pd.DataFrame, spec: HostSpec) -> pd.DataFrame:
    """One narrow row per usable flow: host, window, destination, port and the numbers to sum.

    Flows without a host, with a missing or negative byte, packet or duration
    value, or (with a window) without a time are left out (:func:`host_table` counts them).
    """
    roles = spec.roles
    numbers = pd.DataFrame({role: part[column].astype("float64") for role, column in roles.items()},
                           index=part.index)
    host = part[spec.host].astype("string").str.strip()
    keep = host.notna().to_numpy() & (host != "").fillna(False).to_numpy()
    values = numbers.to_numpy()
    keep &= ~(np.isnan(values) | (values < 0)).any(axis=1)
    out = pd.DataFrame({
        "host": host,
        "destination": part[spec.destination].astype("string"),
        "port": part[spec.port].astype("string"),
        "flows": np.ones(len(part), dtype=np.float64),
        "no_reply": (numbers["bytes_in"] == 0).astype("float64"),
        **{role: numbers[role] for role in ("bytes_out", "bytes_in", "packets_out", "packets_in", "duration")},
    }, index=part.index)
    if spec.window:
        from ._flow_input import coerce_times

        times = part[spec.time_column]
        if not pd.api.types.is_datetime64_any_dtype(times.dtype):
            times = coerce_times(times)
        out["window"] = times.dt.floor(f"{spec.window}s")
        keep &= out["window"].notna().to_numpy()
    if spec.label:
        labelled = part[spec.label]
        out["anomalous"] = (labelled.notna() & (labelled != spec.normal)).astype("float64")
    return out[keep]


def host_table(frame: Any, spec: HostSpec, *, lazy: bool, client: Any, steps: Any) -> tuple[pd.DataFrame, int]:
    """Per host (and window): the aggregates of :data:`HOST_FEATURES` (plus ``anomalous_flows`` with a label).

    Returns the table (pandas, indexed by ``host`` or ``host, window``, sorted) and
    the number of flows left out.  On Dask the sums are a tree reduction and
    the distinct counts a shuffle of the (host, destination) and (host, port)
    pairs; only the table comes back to the driver.
    """
    meta = host_rows(frame._meta if lazy else frame.head(0), spec)
    narrow = frame.map_partitions(host_rows, spec, meta=meta) if lazy else host_rows(frame, spec)
    sums = [c for c in (*_SUMS, "anomalous") if c in meta.columns]
    grouped = narrow.groupby(spec.keys)
    if lazy:
        split = max(1, min(8, narrow.npartitions // 2))
        totals, destinations, ports, n_in, n_used = steps.compute(
            client, grouped[sums].sum(), grouped["destination"].nunique(split_out=split),
            grouped["port"].nunique(split_out=split), frame.map_partitions(len).sum(), narrow.map_partitions(len).sum())
    else:
        totals, destinations, ports = grouped[sums].sum(), grouped["destination"].nunique(), grouped["port"].nunique()
        n_in, n_used = len(frame), len(narrow)
    table = totals.join(destinations.rename("destinations")).join(ports.rename("ports"))
    table["no_reply"] = table["no_reply"] / table["flows"]
    table["duration"] = table["duration"] / table["flows"]
    table = table.rename(columns={"anomalous": "anomalous_flows"})
    columns = list(HOST_FEATURES) + (["anomalous_flows"] if "anomalous_flows" in table else [])
    table = table[columns].sort_index()
    table["destinations"] = table["destinations"].astype("int64")
    table["ports"] = table["ports"].astype("int64")
    table["flows"] = table["flows"].astype("int64")
    if "anomalous_flows" in table:
        table["anomalous_flows"] = table["anomalous_flows"].astype("int64")
    return table, int(n_in) - int(n_used)


@dataclass
class HostFit:
    """The hosts' scaling and density model, the groups among them, and how eps was chosen."""

    scaling: Any
    density: DensityModel
    groups: pd.DataFrame  #: per cluster: profile, why, normal
    eps_reason: str
    suggestion: Any
    fit_rows: int


def fit_hosts(table: pd.DataFrame, *, min_samples: int, eps: Any, fit_size: int, eps_sample_size: int | None,
              max_core_points: int, algorithm: str | None, random_state: int, notes: list[str]) -> HostFit:
    """Cluster the hosts' aggregates: log1p and standardise, a fit sample, eps, DBSCAN, groups (in memory)."""
    from ..features import scale
    from ._groups import host_groups

    features = table[list(HOST_FEATURES)].astype("float64")
    _, scaling = scale(features, log=True)
    X = scaling.transform(features).to_numpy(dtype=np.float64)
    n = len(X)
    if n <= min_samples:
        raise ValueError(
            f"{n:,} host rows are too few to cluster with min_samples={min_samples}; lower it, use a longer "
            "window, or give more flows."
        )
    positions = np.arange(n)
    pick = smallest_draws(row_draws(positions, random_state), positions, min(fit_size, n))
    S = X[pick]
    suggestion = None
    if eps == "auto":
        suggestion = choose_eps(S, min_samples, eps_sample_size, random_state)
        eps_value = float(suggestion.eps)
        reason = f"knee of the k-distance graph of {len(S):,} host rows (k = min_samples = {min_samples})"
    else:
        eps_value, reason = float(eps), "given"
    labels, core = cluster_sample(S, eps_value, min_samples, algorithm, notes)
    groups = host_groups(table.iloc[pick].reset_index(drop=True), labels)
    density = DensityModel.from_fit(S, labels, core, groups["normal"].to_numpy(dtype=bool), eps_value, min_samples,
                                    max_core_points, random_state)
    return HostFit(scaling, density, groups, reason, suggestion, len(S))


def score_hosts(table: pd.DataFrame, fit: HostFit, threads: int = -1) -> pd.DataFrame:
    """The hosts with ``score`` and ``cluster`` in front of their aggregates, highest score first."""
    X = fit.scaling.transform(table[list(HOST_FEATURES)].astype("float64")).to_numpy(dtype=np.float64)
    cluster, score = fit.density.score(X, threads=threads)
    out = table.reset_index()
    position = len(out.columns) - len(table.columns)
    out.insert(position, "score", score)
    out.insert(position + 1, "cluster", cluster)
    keys = list(out.columns[:position])
    out = out.sort_values(["score", *keys], ascending=[False] + [True] * len(keys), kind="stable")
    return out.reset_index(drop=True)
