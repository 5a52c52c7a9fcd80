"""Repeated sweeps that stay on the workers: one actor per worker.

A Lloyd iteration on Dask needs only (k × d) numbers from each worker, but a
graph per iteration costs a scheduler round trip for every task: on a small
cluster that is most of an iteration's time.  Here each worker gets one
actor that knows the keys of the blocks the worker holds; an iteration is one
direct call per actor, answered with the worker's partial sums.  The data is
never moved: the actor reads the persisted blocks from its worker's memory.

If anything goes wrong (a worker lost, a block moved), the caller falls back
to the ordinary graph, so this is only ever a faster path, never a different
answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._ops import Accumulated, KMeansOps


class BlockSweeper:
    """Lives on one worker as a Dask actor and sweeps the blocks it holds."""

    def __init__(self, chunk_ops: KMeansOps, keys: list[tuple[Any, Any]]) -> None:
        self.chunk = chunk_ops
        self.keys = keys

    def accumulate(self, centers: np.ndarray, want_inertia: bool) -> Accumulated:
        from distributed import get_worker

        from ._ops_dask import accumulate_blocks

        data = get_worker().data
        return accumulate_blocks(
            self.chunk, [data[x] for x, _ in self.keys], [data[w] for _, w in self.keys], centers, want_inertia
        )


class SweeperPool:
    """The actors for one persisted ``(X, weights)`` pair."""

    def __init__(self, client: Any, chunk_ops: KMeansOps, keys_by_worker: dict[str, list[tuple[Any, Any]]]) -> None:
        self._futures = [
            client.submit(BlockSweeper, chunk_ops, keys, workers=[address], allow_other_workers=False, actor=True)
            for address, keys in keys_by_worker.items()
        ]
        self._actors = [future.result() for future in self._futures]

    def accumulate(self, centers: np.ndarray, want_inertia: bool) -> Accumulated:
        calls = [actor.accumulate(centers, want_inertia) for actor in self._actors]
        return Accumulated.total([call.result() for call in calls])

    def close(self) -> None:
        for future in self._futures:
            future.release()
        self._futures, self._actors = [], []
