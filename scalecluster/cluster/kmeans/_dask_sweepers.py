"""Work that stays on the workers: one actor per worker, for a whole fit.

A Lloyd iteration on Dask needs only (k × d) numbers from each worker, but a
graph per iteration costs a scheduler round trip for every task: on a small
cluster that is most of an iteration's time.  Here each worker gets one
actor that knows the keys of the blocks the worker holds; an iteration is one
direct call per actor, answered with the worker's partial sums.  The data is
never moved: the actor reads the persisted blocks from its worker's memory.

The same actors run the k-means|| seeding (:class:`~._ops_dask.DaskOps`):
each keeps the per-row distance to the nearest candidate of the blocks it
holds, and one call per round lowers it with the last round's rows and draws
the next round's.  The draw needs the potential φ of all the data, which no
worker knows before the others answer; each worker's own part of it is a
lower bound, so a worker returns the rows kept with its own (larger) scale,
with their draws, weights and distances, and the driver keeps exactly those
that the global scale keeps (:meth:`~._ops_generic.GenericOps.bernoulli_candidates`).
About ``ell`` rows per worker travel, instead of a second round trip.

Every call computes what the task graph would compute, block by block with
the same functions, and the driver adds the per-block results in block
order: the answer is the same to the bit.  If anything goes wrong (a worker
lost, a block moved), the caller falls back to the ordinary graph (replaying
the seeding's updates, see :class:`~._ops_dask.DaskOps`), so this is only
ever a faster path, never a different answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._ops import Accumulated, KMeansOps


class StaleState(RuntimeError):
    """An actor was asked to continue from seeding state it no longer holds."""


class BlockSweeper:
    """Lives on one worker as a Dask actor, sweeps the blocks it holds and keeps their seeding state.

    ``keys``: the ``(X, weights)`` keys of the worker's blocks; ``starts``:
    their global row offsets (the draws are keyed by global row).
    """

    def __init__(self, chunk_ops: KMeansOps, keys: list[tuple[Any, Any]], starts: list[int] | None = None) -> None:
        self.chunk = chunk_ops
        self.keys = keys
        self.starts = list(starts) if starts is not None else [0] * len(keys)
        self._nearest: list[tuple[Any, Any]] | None = None
        self._potentials: list[float] = []
        self._generation = -1

    def _blocks(self) -> tuple[list[Any], list[Any]]:
        from distributed import get_worker

        data = get_worker().data
        return [data[x] for x, _ in self.keys], [data[w] for _, w in self.keys]

    # --- Lloyd -------------------------------------------------------------------
    def accumulate(self, centers: np.ndarray, want_inertia: bool) -> Accumulated:
        from ._ops_dask import accumulate_blocks

        Xs, ws = self._blocks()
        return accumulate_blocks(self.chunk, Xs, ws, centers, want_inertia)

    # --- seeding -----------------------------------------------------------------
    def totals(self) -> list[float]:
        """``sum(w)`` of each block (what D² sampling with no state draws in proportion to)."""
        from ._ops_dask import _chunk_total

        _, ws = self._blocks()
        return [_chunk_total(self.chunk, w, None) for w in ws]

    def sample(self, wanted: list[tuple[int, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For ``(block, local targets)`` pairs: the rows drawn (local indices) and their values."""
        from ...backends.dask_backend import _chunk_take
        from ._ops_dask import _chunk_sample

        Xs, ws = self._blocks()
        out = []
        for i, targets in wanted:
            picks = _chunk_sample(self.chunk, ws[i], None, targets)
            out.append((picks, _chunk_take(self.chunk.backend, Xs[i], picks)))
        return out

    def nearest_then_draw(
        self, centers: np.ndarray | None, offset: int, generation: int, draw: Any, limit: int
    ) -> dict:
        """Lower the distances with ``centers`` (numbered from ``offset``), then draw with this worker's bound.

        ``generation`` numbers the state this call leaves (0: a new seeding;
        ``centers=None``: the state it reads, unchanged).  Returns the blocks'
        potentials and, with ``draw``, the candidate rows: ``(index, rows, u,
        w, d2)`` per block, or ``None`` when more than ``limit`` rows qualify
        (the driver then asks :meth:`draw` for the exact rows).
        """
        from ...backends.dask_backend import single_threaded
        from ._ops import NearestState

        Xs, ws = self._blocks()
        if centers is not None:
            if generation == 0:
                previous: list[Any] = [None] * len(Xs)
            elif self._generation == generation - 1 and self._nearest is not None:
                previous = [NearestState(rows, 0.0) for rows in self._nearest]
            else:
                raise StaleState(f"state {self._generation} held, {generation - 1} expected")
            # In place: nobody else reads this state (the graph path copies, as its blocks may be read again).
            states = [
                single_threaded(self.chunk.update_nearest, X, w, p, centers, offset)
                for X, w, p in zip(Xs, ws, previous)
            ]
            self._nearest = [s.rows for s in states]
            self._potentials = [s.potential for s in states]
            self._generation = generation
        elif self._generation != generation:
            raise StaleState(f"state {self._generation} held, {generation} expected")
        out: dict = {"potentials": list(self._potentials), "candidates": []}
        if draw is None:
            return out
        bound = sum(self._potentials)  # in block order: never more than the global sum (see the module docstring)
        # Kept at the global scale: u < scale w d² with u >= 0, so w > 0 and d² > 0 (a bound of 0 scales nothing).
        scale = draw.ell / bound if bound > 0 else np.inf
        candidates, count = [], 0
        for X, w, rows, start in zip(Xs, ws, self._nearest, self.starts):
            found = single_threaded(
                self.chunk.bernoulli_candidates, X, w, NearestState(rows, 0.0), scale, draw.seed, draw.stream, start
            )
            count += len(found[0])
            if count > limit:
                out["candidates"] = None
                return out
            candidates.append(found)
        out["candidates"] = [
            (index, self._take(X, index - start), u, w, d2)
            for X, start, (index, u, w, d2) in zip(Xs, self.starts, candidates)
        ]
        return out

    def draw(self, scale: float, which: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """The rows kept at ``scale`` exactly (``which``: the round's draw), and their values, per block."""
        from ...backends.dask_backend import single_threaded
        from ._ops import NearestState

        Xs, ws = self._blocks()
        out = []
        for X, w, rows, start in zip(Xs, ws, self._nearest or [], self.starts):
            index = single_threaded(
                self.chunk.bernoulli_rows, X, w, NearestState(rows, 0.0), scale, which.seed, which.stream, start
            )
            out.append((index, self._take(X, index - start)))
        return out

    def weight_per_nearest(self, n_centers: int) -> list[np.ndarray]:
        """``sum(w)`` of the rows nearest to each centre, per block."""
        from ._ops_dask import _chunk_weight_per_nearest

        _, ws = self._blocks()
        return [_chunk_weight_per_nearest(self.chunk, w, rows, n_centers) for w, rows in zip(ws, self._nearest or [])]

    def _take(self, X: Any, local: np.ndarray) -> np.ndarray:
        from ...backends.dask_backend import _chunk_take

        if local.shape[0] == 0:
            return np.empty((0, X.shape[1]))
        return _chunk_take(self.chunk.backend, X, local)


class SweeperPool:
    """The actors for one persisted ``(X, weights)`` pair.

    ``positions``: for each actor, the global positions (among the non-empty
    blocks) of the blocks it holds, so per-block answers are put back in
    block order.
    """

    def __init__(
        self,
        client: Any,
        chunk_ops: KMeansOps,
        keys_by_worker: dict[str, list[tuple[Any, Any]]],
        starts_by_worker: dict[str, list[int]] | None = None,
        positions: list[list[int]] | None = None,
    ) -> None:
        starts_by_worker = starts_by_worker or {}
        self._futures = [
            client.submit(
                BlockSweeper, chunk_ops, keys, starts_by_worker.get(address),
                workers=[address], allow_other_workers=False, actor=True,
            )
            for address, keys in keys_by_worker.items()
        ]
        self._actors = [future.result() for future in self._futures]
        self.positions = positions or []

    def accumulate(self, centers: np.ndarray, want_inertia: bool) -> Accumulated:
        """One Lloyd sweep: each actor's sums, added in actor order."""
        return self._total(centers, want_inertia)

    def final_sums(self, centers: np.ndarray) -> Accumulated:
        """The pass after the last iteration (with the inertia): the same call as a sweep."""
        return self._total(centers, True)

    def _total(self, centers: np.ndarray, want_inertia: bool) -> Accumulated:
        calls = [actor.accumulate(centers, want_inertia) for actor in self._actors]
        return Accumulated.total([call.result() for call in calls])

    def call(self, method: str, *args: Any) -> list[Any]:
        """``method(*args)`` on every actor at once; the answers in actor order."""
        calls = [getattr(actor, method)(*args) for actor in self._actors]
        return [call.result() for call in calls]

    def call_each(self, method: str, args: list[tuple]) -> list[Any]:
        """``method(*args[i])`` on actor ``i`` (skipped where ``args[i]`` is None); answers in actor order."""
        calls = [None if a is None else getattr(actor, method)(*a) for actor, a in zip(self._actors, args)]
        return [None if call is None else call.result() for call in calls]

    def in_block_order(self, per_actor: list[list[Any]]) -> list[Any]:
        """Per-block answers of every actor, in global block order."""
        n = sum(len(p) for p in self.positions)
        out: list[Any] = [None] * n
        for positions, answers in zip(self.positions, per_actor):
            for position, answer in zip(positions, answers):
                out[position] = answer
        return out

    def close(self) -> None:
        for future in self._futures:
            future.release()
        self._futures, self._actors = [], []
