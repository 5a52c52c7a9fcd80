"""The KMeans operations on Dask: the chunks' operations mapped over blocks.

A Dask array of NumPy chunks runs the NumPy kernels inside each task; one of
CuPy chunks runs the CuPy ones (the chunk operations come from the same
table, :func:`._ops.kmeans_ops`).  The driver holds only small (k × d) state:
every sweep is one graph whose per-block results are (k × d)-sized, added up
on the driver in block order (so the result does not depend on scheduling).

On a distributed cluster a fit (:meth:`DaskOps.resident`) asks once where the
blocks are and starts one actor per worker (:mod:`._dask_sweepers`); the
k-means|| seeding (one call per round: lower the distances, draw the next
round's rows, send them back), every Lloyd sweep and the final pass go
through those actors, with the same per-block functions and the same order
of additions as the graphs, so the answer is the same to the bit.  Without a
distributed client, or if an actor call fails, task graphs do the same work.

Per-row state of the seedings (distance to the nearest centre) stays on the
workers: in the actors, or as one persisted task result per block.

Empty blocks (a Dask array with a zero-row chunk, a DataFrame with an empty
partition) are left out of every reduction, draw and per-row state here: they
hold no row, so no task is built for them.  Only the outputs with one value
per row (``labels``, ``distances``) keep them, so that the output's chunks
stay aligned with ``X``'s.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import dask
import numpy as np

from ...backends import Backend
from ...backends.dask_backend import Block, active_distributed_client, single_threaded
from ._ops import Accumulated, BernoulliDraw, KMeansOps, NearestState, kmeans_ops

logger = logging.getLogger(__name__)


def _checked(ops: KMeansOps, X: Any, centers: np.ndarray) -> Any:
    """``X`` after the checks a lazy input could not get at the door (NaN/inf, overflowing range).

    They run inside the task that reads the block anyway, so they cost no pass
    over the data; the error surfaces when the result is computed.
    """
    ops.backend.check_range(X, points=centers)
    return X


def accumulate_blocks(
    ops: KMeansOps, Xs: list, ws: list, centers: np.ndarray, want_inertia: bool, check: bool = False
) -> Accumulated:
    """The sums of several in-memory blocks, added in block order (one task, or one actor call).

    ``check``: for data not checked by a fit (``score``), NaN/inf and range checks on each block.
    Empty blocks add nothing (a worker may hold only empty ones: its sums are zeros).
    """
    parts = [
        single_threaded(ops.accumulate, _checked(ops, X, centers) if check else X, w, centers, want_inertia)
        for X, w in zip(Xs, ws)
        if X.shape[0]
    ]
    if not parts:
        k, d = centers.shape
        return Accumulated(np.zeros((k, d)), np.zeros(k), 0.0)
    return Accumulated.total(parts)


def _labels_chunk(X: Any, centers: np.ndarray, ops: KMeansOps) -> Any:
    if X.shape[0] == 0:  # an empty chunk: no kernel launch
        return ops.backend.xp.empty(0, dtype=np.int32)
    return single_threaded(ops.labels, _checked(ops, X, centers), centers)


def _distances_chunk(X: Any, centers: np.ndarray, ops: KMeansOps) -> Any:
    if X.shape[0] == 0:
        return ops.backend.xp.empty((0, centers.shape[0]), dtype=X.dtype)
    return single_threaded(ops.distances, _checked(ops, X, centers), centers)


def _update_nearest_chunk(ops: KMeansOps, X: Any, w: Any, previous: Any, centers: np.ndarray, offset: int) -> tuple:
    # Copy: the chunk operations update in place, and a persisted block may be
    # read again (k-means++ evaluates several trials against the same state).
    state = None if previous is None else NearestState((previous[0].copy(), previous[1].copy()), 0.0)
    new = single_threaded(ops.update_nearest, X, w, state, centers, offset)
    return new.rows[0], new.rows[1], new.potential


def _chunk_total(ops: KMeansOps, w: Any, state: Any) -> float:
    values = w if state is None else w * state[0]
    return float(ops.backend.to_host(values.sum()))


def _chunk_sample(ops: KMeansOps, w: Any, state: Any, targets: np.ndarray) -> np.ndarray:
    xp = ops.backend.xp
    values = w if state is None else w * state[0]
    cumulative = xp.cumsum(values)
    picks = ops.backend.to_host(xp.searchsorted(cumulative, xp.asarray(targets), side="right"))
    over = picks >= len(values)
    if over.any():  # a target rounded up to the total: the last row with any mass
        positive = xp.nonzero(values > 0)[0]
        picks[over] = int(positive[-1]) if positive.size else len(values) - 1
    return picks


def _chunk_bernoulli(
    ops: KMeansOps, X: Any, w: Any, state: Any, scale: float, seed: int, stream: int, start: int
) -> np.ndarray:
    return ops.bernoulli_rows(X, w, NearestState(state[:2], 0.0), scale, seed, stream, row_offset=start)


def _chunk_weight_per_nearest(ops: KMeansOps, w: Any, state: Any, n: int) -> np.ndarray:
    return ops.backend.to_host(ops.backend.xp.bincount(state[1], weights=w, minlength=n)).astype(np.float64)


def _chunk_farthest(ops: KMeansOps, X: Any, w: Any, centers: np.ndarray, m: int) -> tuple:
    return single_threaded(ops.farthest, X, w, centers, m)


def _nonempty(blocks: list[Block]) -> list[Block]:
    """The blocks that hold rows (see the module docstring)."""
    return [b for b in blocks if b.stop > b.start]


@dataclass
class _Held:
    """What :meth:`DaskOps.resident` keeps for one fit: where the blocks are, and the actors beside them."""

    X: Any
    weights: Any
    blocks: list[Block]  #: non-empty, in block order
    groups: list[list[Block]]  #: per worker where known, else one block each (the graph fallback)
    pool: Any = None  #: a :class:`~._dask_sweepers.SweeperPool`, or None
    totals: np.ndarray | None = None  #: ``sum(w)`` per block, once asked

    def matches(self, X: Any, weights: Any) -> bool:
        return X.name == self.X.name and weights is not None and weights.name == self.weights.name


@dataclass(frozen=True)
class _ActorNearest:
    """``NearestState.rows`` of a seeding whose per-row state the actors hold.

    ``history`` lists the updates that made it, ``(centers, offset)`` in
    order: replayed through task graphs, they give the same state to the bit
    (the same functions on the same blocks), should the actors be lost.
    """

    held: _Held
    generation: int
    history: tuple


class DaskOps(KMeansOps):
    """KMeans over a Dask array, block by block, with the chunks' own operations."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.chunk = kmeans_ops(backend.chunk)
        self._held: _Held | None = None

    def _blocks(self, X: Any, weights: Any) -> list[Block]:
        """The non-empty row blocks of ``X`` and its weights."""
        return _nonempty(self.backend.blocks(X, weights))

    def _groups(self, X: Any, weights: Any) -> list[list[Block]]:
        """:meth:`~scalecluster.backends.dask_backend.DaskBackend.block_groups` without empty blocks or groups."""
        held = self._held_for(X, weights)
        if held is not None:
            return held.groups
        groups = [_nonempty(g) for g in self.backend.block_groups(X, weights)]
        return [g for g in groups if g]

    # --- actors beside the data -------------------------------------------------
    def _hold(self, X: Any, weights: Any) -> _Held:
        """Where the blocks are (asked once: ``wait`` and ``who_has``) and, on a cluster, one actor per worker."""
        blocks = self._blocks(X, weights)
        client = active_distributed_client()
        by_worker = None if client is None else self.backend.blocks_by_worker(client, X, weights)
        if by_worker is not None:
            by_worker = {w: _nonempty(b) for w, b in by_worker.items()}
            by_worker = {w: b for w, b in by_worker.items() if b}  # no actor for empty blocks only
        if by_worker is None:
            return _Held(X, weights, blocks, [[b] for b in blocks])
        held = _Held(X, weights, blocks, list(by_worker.values()))
        from ._dask_sweepers import SweeperPool

        position = {b.start: i for i, b in enumerate(blocks)}
        try:
            held.pool = SweeperPool(
                client,
                self.chunk,
                {w: [(b.X.key, b.weights.key) for b in bs] for w, bs in by_worker.items()},
                {w: [b.start for b in bs] for w, bs in by_worker.items()},
                [[position[b.start] for b in bs] for bs in by_worker.values()],
            )
        except Exception as error:  # actors are an optimisation: never fail a fit for them
            logger.info("Dask actors unavailable (%s); working with task graphs.", error)
        return held

    def _release(self, held: _Held) -> None:
        if held.pool is not None:
            held.pool.close()
            held.pool = None

    def _lose(self, held: _Held, error: Exception) -> None:
        """An actor call failed: the rest of the fit uses task graphs."""
        logger.info("Dask actor call failed (%s); falling back to task graphs.", error)
        self._release(held)

    def _held_for(self, X: Any, weights: Any) -> _Held | None:
        held = self._held
        return held if held is not None and held.matches(X, weights) else None

    def _pool_for(self, X: Any, weights: Any) -> tuple[_Held | None, Any]:
        held = self._held_for(X, weights)
        return held, (None if held is None else held.pool)

    @contextmanager
    def resident(self, X: Any, weights: Any) -> Iterator[None]:
        """Find the blocks and start the actors once, for the seeding, the sweeps and the final pass of a fit."""
        if self._held is not None:  # nested: the outer context holds them
            yield
            return
        held = self._hold(X, weights)
        self._held = held
        try:
            yield
        finally:
            self._held = None
            self._release(held)

    # --- Lloyd ---------------------------------------------------------------
    @contextmanager
    def sweeps(self, X: Any, weights: Any) -> Iterator[Callable[..., Accumulated]]:
        """Repeated sweeps through one actor per worker (see :mod:`._dask_sweepers`).

        Inside :meth:`resident` the actors of the fit serve; otherwise they are
        started here.  Falls back to one graph per sweep without a distributed
        client, when a block is not where expected, or if an actor call fails.
        """
        held = self._held_for(X, weights)
        own = held is None
        if own:
            held = self._hold(X, weights)
        assert held is not None

        def sweep(centers: np.ndarray, want_inertia: bool = True) -> Accumulated:
            if held.pool is not None:
                try:
                    return held.pool.accumulate(centers, want_inertia)
                except Exception as error:
                    self._lose(held, error)
            return self._accumulate_groups(held.groups, centers, want_inertia)

        try:
            yield sweep
        finally:
            if own:
                self._release(held)

    def accumulate(self, X: Any, weights: Any, centers: np.ndarray, want_inertia: bool = True) -> Accumulated:
        """One sweep of data that may not have been checked (``score``): each block is checked in its task."""
        return self._accumulate_groups(self._groups(X, weights), centers, want_inertia, check=True)

    def _accumulate_groups(
        self, groups: list[list[Block]], centers: np.ndarray, want_inertia: bool, check: bool = False
    ) -> Accumulated:
        """One graph: a task per group of blocks, each returning (k × d) sums."""
        fn = dask.delayed(accumulate_blocks, pure=False)
        parts = dask.compute(
            *[fn(self.chunk, [b.X for b in g], [b.weights for b in g], centers, want_inertia, check) for g in groups]
        )
        return Accumulated.total(list(parts))

    def assign(self, X: Any, weights: Any, centers: np.ndarray) -> tuple[Any, Accumulated]:
        # The labels stay lazy; the sums take one pass (of data the fit has checked),
        # through the fit's actors when it has them.
        held, pool = self._pool_for(X, weights)
        if held is not None and pool is not None:
            try:
                return self.labels(X, centers), pool.final_sums(centers)
            except Exception as error:
                self._lose(held, error)
        return self.labels(X, centers), self._accumulate_groups(self._groups(X, weights), centers, True)

    def labels(self, X: Any, centers: np.ndarray) -> Any:
        meta = self.backend.xp.empty((0,), dtype=np.int32)
        return X.map_blocks(_labels_chunk, centers, self.chunk, drop_axis=1, dtype=np.int32, meta=meta)

    def distances(self, X: Any, centers: np.ndarray) -> Any:
        k = centers.shape[0]
        meta = self.backend.xp.empty((0, 0), dtype=X.dtype)
        return X.map_blocks(_distances_chunk, centers, self.chunk, chunks=(X.chunks[0], (k,)), dtype=X.dtype, meta=meta)

    def farthest(self, X: Any, weights: Any, centers: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fn = dask.delayed(_chunk_farthest, pure=False)
        blocks = self._blocks(X, weights)
        parts = dask.compute(*[fn(self.chunk, b.X, b.weights, centers, m) for b in blocks])
        rows = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        w = np.concatenate([p[2] for p in parts])
        # Rank the per-block candidates by their distance to the nearest centre.
        diff = rows - centers[labels]
        order = np.argsort(-(diff**2).sum(axis=1), kind="stable")[:m]
        return rows[order], labels[order], w[order]

    # --- seeding: task graphs -------------------------------------------------------
    def _graph_state(self, state: NearestState | None) -> NearestState | None:
        """The state as persisted blocks: an actors' state is rebuilt by replaying its updates."""
        if state is None or not isinstance(state.rows, _ActorNearest):
            return state
        held = state.rows.held
        replayed = None
        for centers, offset in state.rows.history:
            replayed = self._update_nearest_graph(held.X, held.weights, replayed, centers, offset)
        assert replayed is not None
        return replayed

    def update_nearest(
        self, X: Any, weights: Any, state: NearestState | None, centers: np.ndarray, offset: int
    ) -> NearestState:
        return self._update_nearest_graph(X, weights, self._graph_state(state), centers, offset)

    def _update_nearest_graph(
        self, X: Any, weights: Any, state: NearestState | None, centers: np.ndarray, offset: int
    ) -> NearestState:
        fn = dask.delayed(_update_nearest_chunk, pure=False, nout=3)
        blocks = self._blocks(X, weights)
        previous = [None] * len(blocks) if state is None else state.rows
        results = [fn(self.chunk, b.X, b.weights, p, centers, offset) for b, p in zip(blocks, previous)]
        persisted = dask.persist(*results)
        potentials = dask.compute(*[r[2] for r in persisted])
        # The per-block (min_sq_dist, nearest) pairs stay on the workers.
        return NearestState(list(persisted), float(sum(potentials)))

    def copy_state(self, state: NearestState) -> NearestState:
        return state  # Dask updates build new blocks and never change old ones

    def sample_rows(
        self, X: Any, weights: Any, state: NearestState | None, size: int, rng: np.random.RandomState
    ) -> np.ndarray:
        state = self._graph_state(state)
        blocks = self._blocks(X, weights)
        states = [None] * len(blocks) if state is None else state.rows
        totals = np.array(
            dask.compute(*[dask.delayed(_chunk_total)(self.chunk, b.weights, s) for b, s in zip(blocks, states)])
        )
        which, wanted = _sample_plan(totals, size, rng)
        tasks = [dask.delayed(_chunk_sample)(self.chunk, blocks[i].weights, states[i], local) for i, local in wanted]
        picks = np.empty(size, dtype=np.int64)
        for (i, _), local_picks in zip(wanted, dask.compute(*tasks)):
            picks[which == i] = local_picks + blocks[i].start
        return picks

    def bernoulli_rows(
        self, X: Any, weights: Any, state: NearestState, scale: float, seed: int, stream: int, row_offset: int = 0
    ) -> np.ndarray:
        state = self._graph_state(state)
        blocks = self._blocks(X, weights)
        fn = dask.delayed(_chunk_bernoulli, pure=False)
        parts = dask.compute(
            *[
                fn(self.chunk, b.X, b.weights, s, scale, seed, stream, row_offset + b.start)
                for b, s in zip(blocks, state.rows)
            ]
        )
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def weight_per_nearest(self, weights: Any, state: NearestState, n_centers: int) -> np.ndarray:
        if isinstance(state.rows, _ActorNearest) and state.rows.held.pool is not None:
            held = state.rows.held
            try:
                parts = held.pool.in_block_order(held.pool.call("weight_per_nearest", n_centers))
                return np.sum(parts, axis=0)
            except Exception as error:
                self._lose(held, error)
        state = self._graph_state(state)
        w_parts = [w for w, size in zip(weights.to_delayed().ravel(), weights.chunks[0]) if size]
        fn = dask.delayed(_chunk_weight_per_nearest, pure=False)
        parts = dask.compute(*[fn(self.chunk, w, s, n_centers) for w, s in zip(w_parts, state.rows)])
        return np.sum(parts, axis=0)

    # --- seeding: through the fit's actors (one round trip per step) -----------
    def sample_rows_and_values(
        self, X: Any, weights: Any, size: int, rng: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        held, pool = self._pool_for(X, weights)
        if held is None or pool is None:
            return super().sample_rows_and_values(X, weights, size, rng)
        try:
            if held.totals is None:
                held.totals = np.array(pool.in_block_order(pool.call("totals")))
        except Exception as error:
            self._lose(held, error)
            return super().sample_rows_and_values(X, weights, size, rng)
        totals = held.totals
        which, wanted = _sample_plan(totals, size, rng)  # the random draws: made once, whatever answers
        picks, rows = np.empty(size, dtype=np.int64), np.empty((size, X.shape[1]))
        try:
            targets = dict(wanted)
            asked = [[(j, targets[p]) for j, p in enumerate(positions) if p in targets] for positions in pool.positions]
            answers = pool.call_each("sample", [(a,) if a else None for a in asked])
            for positions, mine, answer in zip(pool.positions, asked, answers):
                for (j, _), (local_picks, values) in zip(mine, answer or []):
                    i = positions[j]
                    picks[which == i] = local_picks + held.blocks[i].start
                    rows[which == i] = values
            return picks, rows
        except Exception as error:
            self._lose(held, error)
        tasks = [dask.delayed(_chunk_sample)(self.chunk, held.blocks[i].weights, None, t) for i, t in wanted]
        for (i, _), local_picks in zip(wanted, dask.compute(*tasks)):
            picks[which == i] = local_picks + held.blocks[i].start
        return picks, self.take_rows(X, picks)

    def nearest_then_draw(
        self,
        X: Any,
        weights: Any,
        state: NearestState | None,
        centers: np.ndarray | None,
        offset: int,
        draw: BernoulliDraw | None,
    ) -> tuple[NearestState, np.ndarray, np.ndarray]:
        """One actor call per worker: lower the distances, then draw (see :mod:`._dask_sweepers`).

        Without actors, the operations in turn through task graphs (a state the
        actors held is replayed first).
        """
        held, pool = self._pool_for(X, weights)
        actors_hold = state is None or isinstance(state.rows, _ActorNearest)
        if held is None or pool is None or not actors_hold:
            return super().nearest_then_draw(X, weights, self._graph_state(state), centers, offset, draw)
        assert held is not None
        d = X.shape[1]
        if centers is None:
            assert state is not None
            generation, history = state.rows.generation, state.rows.history
        else:
            generation = 0 if state is None else state.rows.generation + 1
            history = (() if state is None else state.rows.history) + ((np.asarray(centers), offset),)
        try:
            limit = _candidate_limit(draw.ell) if draw is not None else 0
            answers = pool.call("nearest_then_draw", centers, offset, generation, draw, limit)
            potential = float(sum(pool.in_block_order([a["potentials"] for a in answers])))
            new_state = NearestState(_ActorNearest(held, generation, history), potential)
            if draw is None or potential <= 0:
                return new_state, np.empty(0, dtype=np.int64), np.empty((0, d))
            scale = draw.ell / potential
            if any(a["candidates"] is None for a in answers):  # more rows than expected qualified: ask for the exact ones
                parts = pool.in_block_order(pool.call("draw", scale, draw))
            else:
                parts = []
                for index, rows, u, w, d2 in pool.in_block_order([a["candidates"] for a in answers]):
                    keep = u < scale * w * d2  # what bernoulli_rows computes, at the global scale
                    parts.append((index[keep], rows[keep]))
            chosen = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, dtype=np.int64)
            rows = np.concatenate([p[1] for p in parts]) if parts else np.empty((0, d))
            return new_state, chosen, rows.reshape(-1, d)
        except Exception as error:
            self._lose(held, error)
        return super().nearest_then_draw(X, weights, self._graph_state(state), centers, offset, draw)


def _candidate_limit(ell: float) -> int:
    """Candidate rows one worker may send with its answer (about ``ell`` are expected; beyond this, ask again)."""
    return int(4 * ell) + 256


def _sample_plan(
    totals: np.ndarray, size: int, rng: np.random.RandomState
) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """D² sampling across blocks with block totals ``totals``: ``size`` targets drawn.

    Returns the block each draw falls in, and ``(block, local targets)`` for
    every block drawn from (in block order; a block's targets in draw order).
    """
    cumulative = np.cumsum(totals)
    targets = rng.uniform(size=size) * cumulative[-1]
    # A target rounded up to the total falls in the last block that has any mass.
    last = int(np.flatnonzero(totals > 0)[-1]) if np.any(totals > 0) else len(totals) - 1
    which = np.minimum(np.searchsorted(cumulative, targets, side="right"), last)
    return which, [(int(i), targets[which == i] - (cumulative[i - 1] if i > 0 else 0.0)) for i in np.unique(which)]
