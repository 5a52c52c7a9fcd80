"""Peak resident memory of the current process, from /proc (Linux): for the
memory benchmarks, which run each fit in a fresh subprocess."""

from __future__ import annotations

import re


def resident(key: str = "VmRSS") -> int:
    """``VmRSS`` (now) or ``VmHWM`` (the peak since the last reset), in bytes."""
    with open("/proc/self/status") as fh:
        return int(re.search(key + r":\s+(\d+) kB", fh.read()).group(1)) * 1024


def reset_peak() -> int:
    """Reset the peak resident size (VmHWM) to the current size, and return that size."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return resident("VmRSS")


def peak() -> int:
    """The peak resident size since :func:`reset_peak`, in bytes."""
    return resident("VmHWM")
