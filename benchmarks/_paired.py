"""Two implementations timed back to back, round after round, and the ratios of their times.

The machine is shared, so the two run in alternation (the peer first) within one
pytest-benchmark round: each round's pair of times saw about the same load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


def paired_rounds(benchmark: Any, theirs: Callable[[int], Any], ours: Callable[[int], Any], rounds: Any) -> tuple:
    """Call ``theirs(r)`` then ``ours(r)`` for every ``r`` in ``rounds`` (an int or the seeds).

    Returns ``(t_theirs, v_theirs, t_ours, v_ours)``: the seconds as arrays and the
    returned values as lists, in round order.
    """
    seeds = range(rounds) if isinstance(rounds, int) else rounds
    theirs_out: list[tuple[float, Any]] = []
    ours_out: list[tuple[float, Any]] = []

    def run_rounds() -> None:
        theirs_out.clear()
        ours_out.clear()
        for r in seeds:
            for fn, out in ((theirs, theirs_out), (ours, ours_out)):
                start = time.perf_counter()
                value = fn(r)
                out.append((time.perf_counter() - start, value))

    benchmark.pedantic(run_rounds, rounds=1, iterations=1)
    return (
        np.array([t for t, _ in theirs_out]),
        [v for _, v in theirs_out],
        np.array([t for t, _ in ours_out]),
        [v for _, v in ours_out],
    )


def time_ratios(t_theirs: np.ndarray, t_ours: np.ndarray) -> dict[str, float]:
    """Medians of both and the time ratios (of the medians, and the median of the paired ratios)."""
    return {
        "sklearn_seconds_median": float(np.median(t_theirs)),
        "scalecluster_seconds_median": float(np.median(t_ours)),
        "time_ratio_of_medians": float(np.median(t_ours) / np.median(t_theirs)),
        "time_ratio_paired_median": float(np.median(t_ours / t_theirs)),
    }
