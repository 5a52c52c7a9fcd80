"""A time window as people write it (``1h``, ``15min``, ``90 s``, ``1d``), read with the standard library only.

The command line checks ``--window`` here before it imports pandas, so an
unparseable window is answered at once; the anomaly job reads ``window=``
with the same function.
"""

from __future__ import annotations

import datetime
import re

#: Units of a window, by the names people write, in seconds.
UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]+)\s*$")


def parse_window(value: object) -> int:
    """A window's length in whole seconds: ``"1h"`` -> 3600, ``"15min"`` -> 900, ``datetime.timedelta`` and an
    int (seconds) as they are.

    Raises
    ------
    ValueError
        Text that is not a number and a unit (s, min, h, d, w), or a window that is not at least one second.
    """
    if isinstance(value, int) and not isinstance(value, bool):  # seconds, as the command line passes them on
        seconds = float(value)
    elif isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif hasattr(value, "total_seconds") and not isinstance(value, str):  # pandas.Timedelta
        seconds = float(value.total_seconds())
    else:
        match = _WINDOW.match(str(value)) if isinstance(value, str) else None
        unit = match.group(2).lower() if match else None
        if match is None or unit not in UNITS:
            raise ValueError(
                f"window must be a length of time like 1h, 15min, 30s or 1d (a number and a unit: s, min, h, d, w); "
                f"got {value!r}."
            )
        seconds = float(match.group(1)) * UNITS[unit]
    if not seconds >= 1 or seconds != int(seconds):
        raise ValueError(f"window must be a whole number of seconds, at least 1 s; got {value!r}.")
    return int(seconds)


def window_text(seconds: int) -> str:
    """``3600`` -> ``1h``, ``900`` -> ``15min``, ``90`` -> ``90s``."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
