"""The one thread runner: work over ranges or items, results in order.

numba kernels release the GIL and scikit-learn's tree queries do too, so
threads are how every in-memory CPU path uses the cores.  One process-wide
pool (resized when the thread setting changes) serves them all, so nested
calls never multiply threads.  Results always come back in the order of the
inputs: sums added in a fixed order do not depend on scheduling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from .._config import effective_n_threads

T = TypeVar("T")
R = TypeVar("R")

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def thread_pool(n_threads: int) -> ThreadPoolExecutor:
    """The shared pool, with ``n_threads`` workers."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != n_threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(n_threads, thread_name_prefix="scalecluster")
            _pool_size = n_threads
        return _pool


def map_in_order(work: Callable[[T], R], items: Sequence[T], *, window: int | None = None) -> Iterator[R]:
    """``work(item)`` for every item on the shared pool, yielded in input order.

    With ``window``, at most that many items are in flight at once, so a
    consumer that reduces as it goes holds only a few results.  One thread (or
    one item) runs inline, with no pool at all.
    """
    n_threads = effective_n_threads()
    if n_threads == 1 or len(items) <= 1:
        yield from map(work, items)
        return
    pool = thread_pool(n_threads)
    if window is None and len(items) <= n_threads:
        # The calling thread takes the first item itself: it would only wait
        # otherwise, and one hand-off fewer is what a short call notices.
        futures = [pool.submit(work, item) for item in items[1:]]
        try:
            first = work(items[0])
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        yield first
        for future in futures:
            yield future.result()
        return
    if window is None:
        futures = [pool.submit(work, item) for item in items]
        for future in futures:
            yield future.result()
        return
    pending = [pool.submit(work, item) for item in items[:window]]
    for i in range(len(items)):
        result = pending[i].result()
        if i + window < len(items):
            pending.append(pool.submit(work, items[i + window]))
        pending[i] = None  # type: ignore[call-overload]
        yield result


def split_evenly(total: int, n_parts: int) -> list[tuple[int, int]]:
    """``n_parts`` contiguous ``(start, stop)`` ranges covering ``0 .. total``."""
    bounds = np.linspace(0, total, max(1, n_parts) + 1).astype(np.int64).tolist()
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def run_ranges(n: int, work: Callable[[int, int], R], *, min_per_thread: int = 1) -> list[R]:
    """``work(start, stop)`` over contiguous ranges of ``0 .. n``, one per thread; results in range order.

    ``min_per_thread``: below this many items per range, starting a thread costs
    more than it saves, so fewer ranges are made.
    """
    n_ranges = max(1, min(effective_n_threads(), n // max(1, min_per_thread)))
    return list(map_in_order(lambda r: work(*r), split_evenly(n, n_ranges)))


def run_weighted_ranges(starts: np.ndarray, work: Callable[[int, int], Any], *, n_ranges: int) -> None:
    """``work(c0, c1)`` over ranges of groups holding about equal numbers of items.

    ``starts`` (length groups + 1) is where each group's items start, as in a
    CSR pointer array; ranges cut between groups.
    """
    n_groups, n = starts.shape[0] - 1, int(starts[-1])
    if n_ranges <= 1:
        work(0, n_groups)
        return
    cuts = np.searchsorted(starts, np.linspace(0, n, n_ranges + 1)[1:-1])
    bounds = np.unique(np.concatenate(([0], cuts, [n_groups]))).tolist()
    for _ in map_in_order(lambda r: work(*r), list(zip(bounds[:-1], bounds[1:]))):
        pass
