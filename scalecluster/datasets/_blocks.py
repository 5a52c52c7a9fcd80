"""Rows made in fixed-size blocks, each from its own random stream.

Every generator cuts its rows (customers, flows) into blocks of a fixed size;
block ``b`` is drawn from ``numpy.random.default_rng([seed, stream, b])``.  A
row's values therefore depend only on the seed and the row's position, never
on how the rows are grouped into output files: writing 1 or 100 partitions,
or generating in memory, gives the same rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd

#: Random streams, one per generator (and one for a generator's shared pools).
TRANSACTIONS_STREAM = 0
FLOWS_STREAM = 1
POOL_STREAM = 2
#: Transactions' optional draws (blurred behaviours, messy rows): separate, so the plain rows never change.
TRANSACTIONS_EXTRA_STREAM = 3


def check_seed(random_state: int | None) -> int:
    """An int seed (a fresh one from the OS when ``random_state`` is None)."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if (
        isinstance(random_state, bool)
        or not isinstance(random_state, (int, np.integer))
        or random_state < 0
    ):
        raise ValueError(
            f"random_state must be a non-negative int or None; got {random_state!r}."
        )
    return int(random_state)


def check_count(name: str, value: int, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum``, or a ValueError naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < minimum
    ):
        raise ValueError(f"{name} must be an int of at least {minimum}; got {value!r}.")
    return int(value)


def block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    """The random generator of one block."""
    return np.random.default_rng([seed, stream, block])


def partition_bounds(n_rows: int, n_partitions: int) -> list[tuple[int, int]]:
    """``n_partitions`` contiguous, near-equal ``[start, stop)`` row ranges."""
    edges = np.linspace(0, n_rows, n_partitions + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def rows_between(
    start: int,
    stop: int,
    n_total: int,
    block_size: int,
    make_block: Callable[[int, int, int], tuple[pd.DataFrame, np.ndarray]],
) -> pd.DataFrame:
    """The rows of entities ``start`` to ``stop`` (customers, flows), in order.

    ``make_block(b, first, count)`` builds block ``b``, entities ``first`` to
    ``first + count`` (``count`` is the block size except for the dataset's
    last block), and returns its rows and each row's entity index.  Blocks
    that straddle the range are built whole and cut.
    """
    frames = []
    for block in range(start // block_size, -(-stop // block_size)):
        first = block * block_size
        frame, position = make_block(block, first, min(block_size, n_total - first))
        if first < start or first + block_size > stop:
            frame = frame[(position >= start) & (position < stop)]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
