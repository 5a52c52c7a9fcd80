"""Global settings: the working-memory budget and the thread count.

Row blocks are sized from ``working_memory`` (MiB) rather than from a constant,
so the same code uses large blocks on a GPU with 80 GiB and small ones on a
laptop.  The settings live in a :class:`contextvars.ContextVar`, so
:func:`config_context` is safe to use from several threads at once.
"""

from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager
from typing import Any, Iterator

_DEFAULTS: dict[str, Any] = {
    # MiB that one row block's temporaries may take (as sklearn's working_memory).
    "working_memory": 256,
    # Threads for in-memory NumPy kernels; None means every core this process may use.
    "n_threads": None,
}

_config: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "scalecluster_config", default=_DEFAULTS
)


def get_config() -> dict[str, Any]:
    """Return a copy of the current settings.

    Returns
    -------
    config : dict
        ``{"working_memory": int, "n_threads": int or None}``.
    """
    return dict(_config.get())


def _checked(working_memory: Any, n_threads: Any) -> dict[str, Any]:
    new = get_config()
    if working_memory is not None:
        if isinstance(working_memory, bool) or not isinstance(working_memory, (int, float)) or not working_memory > 0:
            raise ValueError(
                f"The 'working_memory' setting must be a positive number of MiB. Got {working_memory!r} instead."
            )
        new["working_memory"] = working_memory
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
            raise ValueError(f"The 'n_threads' setting must be an int >= 1. Got {n_threads!r} instead.")
        new["n_threads"] = n_threads
    return new


def set_config(working_memory: float | None = None, n_threads: int | None = None) -> None:
    """Change settings for the rest of this context (thread or task).

    Parameters
    ----------
    working_memory : float, default=None
        Budget in MiB for the temporaries of one row block. ``None`` leaves it unchanged.
    n_threads : int, default=None
        Threads used by the in-memory NumPy kernels. ``None`` leaves it unchanged.
    """
    _config.set(_checked(working_memory, n_threads))


@contextmanager
def config_context(*, working_memory: float | None = None, n_threads: int | None = None) -> Iterator[None]:
    """Temporarily change settings inside a ``with`` block.

    Examples
    --------
    >>> from scalecluster import config_context
    >>> with config_context(working_memory=64):
    ...     pass
    """
    token = _config.set(_checked(working_memory, n_threads))
    try:
        yield
    finally:
        _config.reset(token)


def effective_n_threads() -> int:
    """Threads the in-memory kernels should use under the current settings."""
    n = _config.get()["n_threads"]
    if n is not None:
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: Cap for blocks of element-wise work (statistics, sampling): beyond this many
#: rows a block runs no faster, it only holds more memory.
ELEMENTWISE_MAX_ROWS = 1 << 16


def rows_per_block(bytes_per_row: float, n_rows: int, *, max_rows: int | None = None) -> int:
    """Rows in one block so that its temporaries fit the working-memory budget.

    Parameters
    ----------
    bytes_per_row : float
        Bytes of temporaries one row needs (e.g. ``k * itemsize`` for a distance row).
    n_rows : int
        Rows in the data; a block never exceeds it.
    max_rows : int, default=None
        A further cap, e.g. to leave enough blocks for every thread.
    """
    budget = _config.get()["working_memory"] * 2**20
    rows = int(budget // max(bytes_per_row, 1.0))
    if max_rows is not None:
        rows = min(rows, max_rows)
    return max(1, min(rows, max(n_rows, 1)))
