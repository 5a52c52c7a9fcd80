"""Per-flow traffic features, with the zero divisions handled and counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._columns import check_frame, is_dask, require_columns, require_numeric

#: Roles a flow table must provide, and their default column names.
FLOW_COLUMNS = {
    "bytes_out": "bytes_out",
    "bytes_in": "bytes_in",
    "packets_out": "packets_out",
    "packets_in": "packets_in",
    "duration": "duration",
}
TRAFFIC_FEATURES = (
    "total_bytes",
    "total_packets",
    "bytes_per_packet",
    "send_receive_ratio",
    "packets_per_second",
    "duration",
)


@dataclass
class TrafficReport:
    """What :func:`traffic_features` had to repair, counted by rule.

    On Dask input the counts are lazy Dask scalars; :meth:`compute` makes
    them ints (or pass them to ``dask.compute`` along with the features).
    """

    n_rows: Any  #: rows in
    missing: Any  #: rows with a missing or negative input (dropped, or set to 0; see ``missing``)
    zero_packets: Any  #: rows with no packets: bytes_per_packet set to 0
    no_reply: (
        Any  #: rows with bytes_in == 0: the ratio is finite thanks to the +1 smoothing
    )
    short_duration: (
        Any  #: rows with duration below ``min_duration`` (zero included): clipped
    )
    rules: dict[str, str] = field(default_factory=dict)  #: each rule, in words

    def compute(self) -> TrafficReport:
        """The same report with every count an int (one Dask compute if any is lazy)."""
        import dask

        names = ("n_rows", "missing", "zero_packets", "no_reply", "short_duration")
        values = dask.compute(*[getattr(self, n) for n in names])
        return TrafficReport(*[int(v) for v in values], rules=dict(self.rules))


def traffic_features(
    flows: Any,
    *,
    columns: dict[str, str] | None = None,
    min_duration: float = 1e-3,
    missing: str = "drop",
) -> tuple[Any, TrafficReport]:
    """Derived features of network flows, with no inf and no NaN.

    ``total_bytes = bytes_out + bytes_in``; ``total_packets = packets_out +
    packets_in``; ``bytes_per_packet = total_bytes / total_packets`` (0 when
    there are no packets); ``send_receive_ratio = (bytes_out + 1) / (bytes_in +
    1)`` (the +1 keeps flows that got no reply finite); ``packets_per_second
    = total_packets / max(duration, min_duration)``; ``duration`` clipped
    below at ``min_duration``.

    Parameters
    ----------
    flows : pandas.DataFrame or dask.dataframe.DataFrame
        One row per flow; "out" is from the flow's source to its destination.
    columns : dict of str to str, default=None
        Column names by role, for roles that differ from the defaults
        ``bytes_out``, ``bytes_in``, ``packets_out``, ``packets_in``, ``duration``
        (e.g. ``{"bytes_out": "sbytes", "duration": "dur"}``).
    min_duration : float, default=1e-3
        Seconds; shorter durations (zero included) are raised to it, so a
        one-packet flow logged with duration 0 has a finite rate.
    missing : {"drop", "zero", "raise"}, default="drop"
        Rows with a missing (NaN) or negative input: dropped, set to 0, or a
        ValueError naming the column (on Dask, when computed).

    Returns
    -------
    features : DataFrame of shape (n_rows, 6)
        Columns ``TRAFFIC_FEATURES``, all float64, on the input's index
        (so they align with the flows); lazy on Dask.
    report : TrafficReport
        How many rows each rule touched.

    Raises
    ------
    KeyError
        A column that does not exist (named, with the available ones; also a ValueError).
    TypeError
        A non-numeric column (named).
    ValueError
        A bad ``missing`` or ``min_duration``, or an unknown role in ``columns``.
    """
    check_frame(flows, "flows")
    unknown = sorted(set(columns or {}) - set(FLOW_COLUMNS))
    if unknown:
        raise ValueError(
            f"Unknown role(s) {unknown} in columns; the roles are {list(FLOW_COLUMNS)}."
        )
    if missing not in ("drop", "zero", "raise"):
        raise ValueError(f"missing must be 'drop', 'zero' or 'raise'; got {missing!r}.")
    if (
        isinstance(min_duration, bool)
        or not isinstance(min_duration, (int, float))
        or not min_duration > 0
    ):
        raise ValueError(
            f"min_duration must be a positive float; got {min_duration!r}."
        )
    roles = {**FLOW_COLUMNS, **(columns or {})}
    require_columns(flows, roles)
    require_numeric(flows, roles.values())

    data = flows[list(dict.fromkeys(roles.values()))].astype("float64")
    bad_cells = data.isna() | (data < 0)
    bad = bad_cells.any(axis=1)
    n_rows = bad.shape[0] if not is_dask(flows) else bad.size
    n_missing = bad.sum()
    if missing == "raise":
        data = _raise_on_bad(data)
    elif missing == "drop":
        data = data[~bad]
    else:
        data = data.mask(bad_cells, 0.0)

    bytes_out, bytes_in = data[roles["bytes_out"]], data[roles["bytes_in"]]
    total_bytes = bytes_out + bytes_in
    total_packets = data[roles["packets_out"]] + data[roles["packets_in"]]
    duration = data[roles["duration"]]
    no_packets = total_packets == 0
    short = duration < min_duration
    clipped = duration.clip(lower=min_duration)
    out = data.assign(
        total_bytes=total_bytes,
        total_packets=total_packets,
        bytes_per_packet=(total_bytes / total_packets.where(~no_packets, 1.0)).where(
            ~no_packets, 0.0
        ),
        send_receive_ratio=(bytes_out + 1.0) / (bytes_in + 1.0),
        packets_per_second=total_packets / clipped,
        duration=clipped,
    )[list(TRAFFIC_FEATURES)]
    report = TrafficReport(
        n_rows=n_rows,
        missing=n_missing,
        zero_packets=no_packets.sum(),
        no_reply=(bytes_in == 0).sum(),
        short_duration=short.sum(),
        rules={
            "missing": f"rows with a NaN or negative input: {missing}",
            "zero_packets": "bytes_per_packet = 0 when total_packets == 0",
            "no_reply": "send_receive_ratio = (bytes_out + 1) / (bytes_in + 1)",
            "short_duration": f"duration clipped below at {min_duration} s before packets_per_second",
        },
    )
    if not is_dask(flows):
        report = report.compute()
    return out, report


def _raise_on_bad(data: Any) -> Any:
    """``data``, checked (lazily on Dask) for NaN or negative cells."""

    def check(part: Any) -> Any:
        for column in part.columns:
            values = part[column].to_numpy()
            if np.any(np.isnan(values) | (values < 0)):
                raise ValueError(
                    f"Column {column!r} has missing (NaN) or negative values."
                )
        return part

    return data.map_partitions(check, meta=data) if is_dask(data) else check(data)
