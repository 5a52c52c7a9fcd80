"""Synthetic network flows: ordinary services plus a few injected anomalies.

Normal traffic comes from four services whose sizes, rates and durations
vary within bounded ranges (dense in feature space).  Anomalies are drawn
over wide, log-uniform ranges so that each one sits apart from the others
and from normal traffic (sparse in feature space):

* ``exfiltration``: an internal host sends gigabytes out for hours;
* ``scan``: one to three tiny packets to a random port, rarely answered;
* ``burst``: thousands of packets a second (a flood).

``hard=True`` makes the traffic look more like real captures, where attacks
are not rare: scans are a large share of all flows (40 % by default), sent by
a few scanning hosts that fan out over many destinations (horizontal sweeps of
a few ports) or many ports of a few targets (vertical sweeps), two of them
internal hosts that also browse as usual; and normal traffic includes long
interactive sessions (remote shells and desktops kept open for hours, small
packets both ways), which look unusual in every single feature.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._blocks import (
    FLOWS_STREAM,
    POOL_STREAM,
    block_rng,
    check_count,
    check_seed,
    partition_bounds,
    rows_between,
)
from ._write import atomic_directory, write_params, write_part

FLOWS_PER_BLOCK = 8192

#: Expected share of each normal service among normal flows.
SERVICES = {"web": 0.55, "dns": 0.25, "ssh": 0.10, "streaming": 0.10}
#: Default mix of the anomaly types among anomalies.
ANOMALIES = {"exfiltration": 1 / 3, "scan": 1 / 3, "burst": 1 / 3}
#: ``hard=True``: the normal services, long interactive sessions included.
HARD_SERVICES = {"web": 0.50, "dns": 0.22, "ssh": 0.08, "streaming": 0.08, "interactive": 0.12}
#: ``hard=True``: the default mix of the anomaly types (mostly scans) and their default share of all flows.
HARD_ANOMALIES = {"exfiltration": 0.05, "scan": 0.85, "burst": 0.10}
HARD_ANOMALY_FRACTION = 0.4
#: ``hard=True``: scanning hosts (the first ones internal), and how each sweeps.
HARD_SCANNERS = 6
_HARD_INTERNAL_SCANNERS = 2
#: Ports of the horizontal sweeps (one port over many hosts).
SWEPT_PORTS = np.array([22, 23, 80, 443, 445, 3389, 5900, 8080])

PROTOCOLS = np.array(["tcp", "udp"], dtype=object)
_TCP, _UDP = 0, 1


class FlowsData(NamedTuple):
    """What :func:`make_flows` returns: a frame in memory, or a folder on disk."""

    flows: Any  #: pandas.DataFrame, or the path of the flows folder


class _Kind(NamedTuple):
    bytes_out: np.ndarray
    bytes_in: np.ndarray
    packets_out: np.ndarray
    packets_in: np.ndarray
    duration: np.ndarray
    protocol: np.ndarray
    dst_port: np.ndarray
    src: np.ndarray  # index into the source pool below
    dst: np.ndarray  # index into the destination pool below
    pools: tuple[str, str]


def make_flows(
    n_flows: int,
    *,
    anomaly_fraction: float | None = None,
    anomaly_mix: dict[str, float] | None = None,
    hard: bool = False,
    path: str | os.PathLike | None = None,
    n_partitions: int | None = None,
    start: str | pd.Timestamp = "2025-01-01",
    period: str | pd.Timedelta = "1D",
    random_state: int | None = 0,
    overwrite: bool = False,
) -> FlowsData:
    """Generate network flows with labelled, injected anomalies.

    Parameters
    ----------
    n_flows : int
        Number of flows (rows).
    anomaly_fraction : float, default=None
        Fraction of anomalous flows, in [0, 0.5].  Exactly
        ``floor(n_flows * anomaly_fraction)`` flows are anomalies.  By
        default 0.01, or 0.4 with ``hard=True``.
    anomaly_mix : dict of str to float, default=None
        Relative weights of the anomaly types (keys from ``ANOMALIES``:
        ``"exfiltration"``, ``"scan"``, ``"burst"``); equal by default, or
        ``HARD_ANOMALIES`` (85 % scans) with ``hard=True``.
    hard : bool, default=False
        Traffic as real captures look (see the module docstring): scans a
        large share of the flows, from ``HARD_SCANNERS`` hosts that fan out
        (the first two internal: they browse as usual too; even-numbered
        scanners sweep many ports of four targets, odd-numbered ones a few
        ports over many hosts), and long interactive sessions among normal
        traffic (``HARD_SERVICES``; labelled ``normal``).  The default
        ``hard=False`` gives the same rows as before the option existed.
    path : str or path-like, default=None
        A folder to write Parquet part files to (plus ``_generator.json``,
        the arguments); ``None`` returns a pandas DataFrame.
    n_partitions : int, default=None
        Number of part files; by default one per million flows.  Only one
        partition is in memory at a time.
    start : str or Timestamp, default="2025-01-01"
        Time of the first flow.
    period : str or Timedelta, default="1D"
        The flows' start times are spread evenly (with jitter) over this period.
    random_state : int or None, default=0
        Seed.  The rows are the same for any ``n_partitions`` and in memory.
    overwrite : bool, default=False
        Replace an existing ``path``.

    Returns
    -------
    FlowsData
        ``(flows,)``: a DataFrame with columns ``timestamp`` (datetime64[us]),
        ``src_ip``, ``dst_ip`` (str, dotted quads), ``src_port``,
        ``dst_port`` (int64), ``protocol`` (str: tcp, udp), ``bytes_out``,
        ``bytes_in``, ``packets_out``, ``packets_in`` (int64; out = from
        source to destination), ``duration`` (float64 seconds, may be 0) and
        ``label`` (str: ``normal`` or an anomaly type), in time order.  With
        ``path``, the folder's path.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        A bad count, fraction or anomaly type.

    Notes
    -----
    Files are written into a temporary folder beside ``path`` and renamed
    into place once complete.  Memory is that of one partition.
    """
    n_flows = check_count("n_flows", n_flows)
    seed = check_seed(random_state)
    if not isinstance(hard, (bool, np.bool_)):
        raise TypeError(f"hard must be True or False; got {hard!r}.")
    hard = bool(hard)
    if anomaly_fraction is None:
        anomaly_fraction = HARD_ANOMALY_FRACTION if hard else 0.01
    if (
        isinstance(anomaly_fraction, bool)
        or not isinstance(anomaly_fraction, (int, float))
        or not 0 <= anomaly_fraction <= 0.5
    ):
        raise ValueError(
            f"anomaly_fraction must be a float in [0, 0.5]; got {anomaly_fraction!r}."
        )
    mix = dict((HARD_ANOMALIES if hard else ANOMALIES) if anomaly_mix is None else anomaly_mix)
    unknown = sorted(set(mix) - set(ANOMALIES))
    if (
        unknown
        or not mix
        or any(not isinstance(w, (int, float)) or w < 0 for w in mix.values())
        or sum(mix.values()) <= 0
    ):
        raise ValueError(
            f"anomaly_mix must map anomaly types {list(ANOMALIES)} to non-negative weights "
            f"that are not all zero; got {anomaly_mix!r}."
        )
    weights = np.array([float(mix.get(k, 0.0)) for k in ANOMALIES])
    first_time = pd.Timestamp(start)
    span = pd.Timedelta(period)
    if span <= pd.Timedelta(0):
        raise ValueError(f"period must be positive; got {period!r}.")
    if n_partitions is None:
        n_partitions = -(-n_flows // 1_000_000)
    n_partitions = min(check_count("n_partitions", n_partitions), n_flows)
    pools = _pools(seed)
    step_us = span / pd.Timedelta(microseconds=1) / n_flows

    def make_block(
        block: int, first: int, count: int
    ) -> tuple[pd.DataFrame, np.ndarray]:
        return _block(
            seed,
            block,
            first,
            count,
            float(anomaly_fraction),
            weights / weights.sum(),
            pools,
            first_time,
            step_us,
            hard,
        )

    def part(a: int, b: int) -> pd.DataFrame:
        return rows_between(a, b, n_flows, FLOWS_PER_BLOCK, make_block)

    if path is None:
        return FlowsData(part(0, n_flows))
    params = {
        "generator": "make_flows",
        "n_flows": n_flows,
        "anomaly_fraction": anomaly_fraction,
        "anomaly_mix": dict(zip(ANOMALIES, weights.tolist())),
        "hard": hard,
        "n_partitions": n_partitions,
        "start": first_time.isoformat(),
        "period": str(span),
        "random_state": seed,
    }
    with atomic_directory(path, overwrite=overwrite) as folder:
        for i, (a, b) in enumerate(partition_bounds(n_flows, n_partitions)):
            write_part(part(a, b), folder, i)
        write_params(folder, params)
    return FlowsData(os.fspath(path))


def _ips(values: np.ndarray) -> np.ndarray:
    return np.array([str(ipaddress.IPv4Address(int(v))) for v in values], dtype=object)


def _pools(seed: int) -> dict[str, np.ndarray]:
    """Address pools shared by all blocks: hosts, servers, scanners, drop sites."""
    rng = block_rng(seed, POOL_STREAM, FLOWS_STREAM)
    internal = int(ipaddress.IPv4Address("10.0.0.0"))
    hosts = internal + rng.choice(2**16, 1200, replace=False)

    def public(count: int) -> np.ndarray:
        first_octet = rng.choice(
            np.r_[11:100, 101:127, 128:172, 173:192, 193:224], count
        )
        return first_octet.astype(np.int64) * 2**24 + rng.integers(0, 2**24, count)

    pools = {
        "hosts": _ips(hosts[:1000]),
        "servers": _ips(hosts[1000:]),
        "external": _ips(public(3000)),
        "scanners": _ips(public(8)),
        "drops": _ips(public(12)),
    }
    # hard=True only (drawn after the others, so they stay as they were): internal hosts first.
    pools["hard_scanners"] = np.concatenate(
        [pools["hosts"][:_HARD_INTERNAL_SCANNERS], _ips(public(HARD_SCANNERS - _HARD_INTERNAL_SCANNERS))])
    return pools


def _log_uniform(
    rng: np.random.Generator, low: float, high: float, size: int
) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), size))


def _around(
    rng: np.random.Generator, median: float, width: float, size: int
) -> np.ndarray:
    """Bounded spread around ``median``: log-triangular over ``median * e**±width``."""
    return median * np.exp(rng.triangular(-width, 0.0, width, size))


def _packets(bytes_: np.ndarray, per_packet: np.ndarray) -> np.ndarray:
    return np.maximum(1, np.ceil(bytes_ / per_packet)).astype(np.int64)


def _web(rng: np.random.Generator, m: int) -> _Kind:
    bytes_in = _around(rng, 40e3, 1.6, m)
    bytes_out = bytes_in * _around(rng, 0.04, 0.5, m)
    packets_in = _packets(bytes_in, rng.uniform(1200, 1460, m))
    packets_out = _packets(bytes_out, rng.uniform(400, 700, m)) + packets_in // 2
    port = np.where(rng.uniform(size=m) < 0.8, 443, 80)
    return _Kind(
        bytes_out,
        bytes_in,
        packets_out,
        packets_in,
        _around(rng, 1.5, 1.2, m),
        np.full(m, _TCP),
        port,
        rng.integers(0, 1000, m),
        rng.integers(0, 3000, m),
        ("hosts", "external"),
    )


def _dns(rng: np.random.Generator, m: int) -> _Kind:
    bytes_out = rng.uniform(60, 100, m)
    bytes_in = rng.uniform(120, 400, m)
    ones = np.ones(m, dtype=np.int64)
    return _Kind(
        bytes_out,
        bytes_in,
        ones,
        ones.copy(),
        _around(rng, 0.02, 0.8, m),
        np.full(m, _UDP),
        np.full(m, 53),
        rng.integers(0, 1000, m),
        rng.integers(0, 2, m),
        ("hosts", "servers"),
    )


def _ssh(rng: np.random.Generator, m: int) -> _Kind:
    bytes_out = _around(rng, 60e3, 1.2, m)
    bytes_in = bytes_out * _around(rng, 1.5, 0.5, m)
    packets_out = _packets(bytes_out, rng.uniform(90, 160, m))
    packets_in = _packets(bytes_in, rng.uniform(90, 160, m))
    return _Kind(
        bytes_out,
        bytes_in,
        packets_out,
        packets_in,
        _around(rng, 300, 1.0, m),
        np.full(m, _TCP),
        np.full(m, 22),
        rng.integers(0, 1000, m),
        rng.integers(2, 200, m),
        ("hosts", "servers"),
    )


def _streaming(rng: np.random.Generator, m: int) -> _Kind:
    bytes_in = _around(rng, 150e6, 1.0, m)
    bytes_out = bytes_in * _around(rng, 0.02, 0.4, m)
    packets_in = _packets(bytes_in, rng.uniform(1350, 1460, m))
    packets_out = packets_in // 2 + _packets(bytes_out, rng.uniform(1000, 1460, m))
    return _Kind(
        bytes_out,
        bytes_in,
        packets_out,
        packets_in,
        _around(rng, 900, 0.7, m),
        np.full(m, _TCP),
        np.full(m, 443),
        rng.integers(0, 1000, m),
        rng.integers(0, 300, m),
        ("hosts", "external"),
    )


def _interactive(rng: np.random.Generator, m: int) -> _Kind:
    """Remote shells and desktops kept open: minutes to hours, small packets (keystrokes, screen updates) both ways."""
    duration = _log_uniform(rng, 600, 28_800, m)
    rate = _log_uniform(rng, 20, 2_000, m)  # bytes a second, from the user
    bytes_out = duration * rate
    bytes_in = bytes_out * _around(rng, 2.0, 1.0, m)
    packets_out = _packets(bytes_out, rng.uniform(60, 140, m))
    packets_in = _packets(bytes_in, rng.uniform(80, 400, m))
    port = np.where(rng.uniform(size=m) < 0.6, 22, 3389)
    return _Kind(
        bytes_out,
        bytes_in,
        packets_out,
        packets_in,
        duration,
        np.full(m, _TCP),
        port,
        rng.integers(0, 1000, m),
        rng.integers(2, 200, m),
        ("hosts", "servers"),
    )


def _exfiltration(rng: np.random.Generator, m: int) -> _Kind:
    bytes_out = _log_uniform(rng, 3e8, 3e10, m)
    bytes_in = bytes_out * _log_uniform(rng, 3e-4, 3e-2, m)
    packets_out = _packets(bytes_out, rng.uniform(900, 1460, m))
    packets_in = _packets(bytes_in, rng.uniform(60, 300, m))
    port = rng.choice([443, 22, 8443, 53], m)
    return _Kind(
        bytes_out,
        bytes_in,
        packets_out,
        packets_in,
        _log_uniform(rng, 1800, 36_000, m),
        np.full(m, _TCP),
        port,
        rng.integers(0, 1000, m),
        rng.integers(0, 12, m),
        ("hosts", "drops"),
    )


def _scan(rng: np.random.Generator, m: int) -> _Kind:
    packets_out = rng.integers(1, 4, m)
    answered = rng.uniform(size=m) < 0.3  # a reset now and then
    packets_in = answered.astype(np.int64)
    bytes_out = packets_out * rng.uniform(40, 80, m)
    bytes_in = np.where(answered, rng.uniform(40, 60, m), 0.0)
    duration = np.where(rng.uniform(size=m) < 0.2, 0.0, _log_uniform(rng, 1e-4, 5.0, m))
    return _Kind(
        bytes_out,
        bytes_in,
        packets_out,
        packets_in,
        duration,
        np.full(m, _TCP),
        rng.integers(1, 65536, m),
        rng.integers(0, 8, m),
        rng.integers(0, 1000, m),
        ("scanners", "hosts"),
    )


def _hard_scan(rng: np.random.Generator, m: int) -> _Kind:
    """Scans from a few hosts that fan out: even-numbered scanners sweep every port of four targets,
    odd-numbered ones a few ports over all internal hosts."""
    made = _scan(rng, m)
    scanner = rng.choice(HARD_SCANNERS, size=m, p=np.linspace(2.0, 1.0, HARD_SCANNERS) / np.linspace(
        2.0, 1.0, HARD_SCANNERS).sum())
    vertical = scanner % 2 == 0
    targets = 1000 + (scanner * 7 + rng.integers(0, 4, m)) % 200  # four servers per scanner
    dst = np.where(vertical, targets, rng.integers(0, 1000, m))
    port = np.where(vertical, rng.integers(1, 65536, m), SWEPT_PORTS[rng.integers(0, len(SWEPT_PORTS), m)])
    return made._replace(dst_port=port, src=scanner, dst=dst, pools=("hard_scanners", "internal"))


def _burst(rng: np.random.Generator, m: int) -> _Kind:
    packets = _log_uniform(rng, 3e3, 3e5, m)
    duration = _log_uniform(rng, 0.05, 5.0, m)
    packets_out = np.ceil(packets).astype(np.int64)
    bytes_out = packets_out * rng.uniform(60, 1400, m)
    packets_in = np.ceil(packets * _log_uniform(rng, 1e-3, 1.0, m)).astype(np.int64)
    bytes_in = packets_in * rng.uniform(60, 1400, m)
    protocol = rng.integers(0, 2, m)
    return _Kind(
        bytes_out,
        bytes_in,
        packets_out,
        packets_in,
        duration,
        protocol,
        rng.choice([80, 443, 53, 123], m),
        rng.integers(0, 3000, m),
        rng.integers(0, 200, m),
        ("external", "servers"),
    )


_MAKERS: dict[str, Callable[[np.random.Generator, int], _Kind]] = {
    "web": _web,
    "dns": _dns,
    "ssh": _ssh,
    "streaming": _streaming,
    "exfiltration": _exfiltration,
    "scan": _scan,
    "burst": _burst,
    "interactive": _interactive,
}
#: hard=True: the makers that differ.
_HARD_MAKERS = {**_MAKERS, "scan": _hard_scan}


def _addresses(pools: dict[str, np.ndarray], pool: str, index: np.ndarray) -> np.ndarray:
    """The addresses at ``index`` of a pool; ``"internal"``: hosts (0-999), then servers."""
    if pool == "internal":
        inside = np.concatenate([pools["hosts"], pools["servers"]])
        return inside[index % len(inside)]
    return pools[pool][index % len(pools[pool])]


def _block(
    seed: int,
    block: int,
    first: int,
    count: int,
    fraction: float,
    mix: np.ndarray,
    pools: dict[str, np.ndarray],
    start: pd.Timestamp,
    step_us: float,
    hard: bool = False,
) -> tuple[pd.DataFrame, np.ndarray]:
    """One block's flows (positions ``first`` to ``first + count``)."""
    rng = block_rng(seed, FLOWS_STREAM, block)
    service_shares = HARD_SERVICES if hard else SERVICES
    makers = _HARD_MAKERS if hard else _MAKERS
    # Anomalies per block by apportionment: floor(n * fraction) in all, whatever the partitioning.
    n_anomalies = int(
        np.floor((first + count) * fraction + 1e-9) - np.floor(first * fraction + 1e-9)
    )
    services = np.array(list(service_shares.values()))
    kinds = list(service_shares) + list(ANOMALIES)
    kind = rng.choice(len(services), size=count, p=services / services.sum())
    where = rng.choice(count, size=n_anomalies, replace=False)
    kind[where] = len(services) + rng.choice(len(mix), size=n_anomalies, p=mix)

    columns: dict[str, np.ndarray] = {}
    names = (
        "bytes_out",
        "bytes_in",
        "packets_out",
        "packets_in",
        "duration",
        "protocol",
        "dst_port",
    )
    empty = {
        n: np.zeros(
            count,
            dtype=np.float64
            if n in ("bytes_out", "bytes_in", "duration")
            else np.int64,
        )
        for n in names
    }
    src_ip = np.empty(count, dtype=object)
    dst_ip = np.empty(count, dtype=object)
    columns.update(empty)
    for code, name in enumerate(kinds):
        rows = np.flatnonzero(kind == code)
        made = makers[name](rng, rows.size)
        for n in names:
            columns[n][rows] = getattr(made, n)
        src_ip[rows] = _addresses(pools, made.pools[0], made.src)
        dst_ip[rows] = _addresses(pools, made.pools[1], made.dst)

    position = np.arange(first, first + count, dtype=np.int64)
    offset_us = np.floor((position + rng.uniform(size=count)) * step_us).astype(
        np.int64
    )
    labels = np.array(["normal"] * len(service_shares) + list(ANOMALIES), dtype=object)[kind]
    frame = pd.DataFrame(
        {
            "timestamp": np.datetime64(start.to_datetime64(), "us")
            + offset_us.astype("timedelta64[us]"),
            "src_ip": pd.array(src_ip, dtype="str"),
            "dst_ip": pd.array(dst_ip, dtype="str"),
            "src_port": rng.integers(1024, 65536, count),
            "dst_port": columns["dst_port"],
            "protocol": pd.array(PROTOCOLS[columns["protocol"]], dtype="str"),
            "bytes_out": np.round(columns["bytes_out"]).astype(np.int64),
            "bytes_in": np.round(columns["bytes_in"]).astype(np.int64),
            "packets_out": columns["packets_out"],
            "packets_in": columns["packets_in"],
            "duration": np.round(columns["duration"], 6),
            "label": pd.array(labels, dtype="str"),
        }
    )
    return frame, position
