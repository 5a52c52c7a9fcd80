"""The thread runner (:mod:`scalecluster._common.parallel`): every item once, results in order."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from scalecluster import config_context
from scalecluster._common.parallel import map_in_order, run_ranges, run_weighted_ranges, split_evenly


@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("window", [None, 2])
def test_map_in_order_keeps_the_order(n_threads, window):
    with config_context(n_threads=n_threads):
        out = list(map_in_order(lambda x: x * x, list(range(20)), window=window))
    assert out == [x * x for x in range(20)]


def test_window_bounds_the_items_in_flight():
    running, most = 0, 0
    lock = threading.Lock()
    gate = threading.Event()

    def work(x):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        gate.wait(0.01)
        with lock:
            running -= 1
        return x

    with config_context(n_threads=4):
        assert list(map_in_order(work, list(range(12)), window=2)) == list(range(12))
    assert most <= 2


def test_ranges_cover_everything_once():
    assert split_evenly(10, 3) == [(0, 3), (3, 6), (6, 10)]
    with config_context(n_threads=4):
        parts = run_ranges(100, lambda a, b: (a, b), min_per_thread=10)
    assert parts[0][0] == 0 and parts[-1][1] == 100
    assert all(p[1] == q[0] for p, q in zip(parts, parts[1:]))


def test_weighted_ranges_cut_between_groups():
    starts = np.array([0, 1, 2, 50, 51, 100])  # five groups, two heavy ones
    seen = []
    lock = threading.Lock()

    def work(c0, c1):
        with lock:
            seen.append((c0, c1))

    with config_context(n_threads=2):
        run_weighted_ranges(starts, work, n_ranges=2)
    covered = sorted(seen)
    assert covered[0][0] == 0 and covered[-1][1] == 5
    assert all(p[1] == q[0] for p, q in zip(covered, covered[1:]))
