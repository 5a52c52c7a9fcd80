"""The KMeans operations on Dask: the chunks' operations mapped over blocks.

A Dask array of NumPy chunks runs the NumPy kernels inside each task; one of
CuPy chunks runs the CuPy ones (the chunk operations come from the same
table, :func:`._ops.kmeans_ops`).  The driver holds only small (k × d) state:
every sweep is one graph whose per-block results are (k × d)-sized, added up
on the driver in block order (so the result does not depend on scheduling).
On a distributed cluster, Lloyd's repeated sweeps go through one actor per
worker instead (:mod:`._dask_sweepers`).

Per-row state of the seedings (distance to the nearest centre) stays on the
workers: it is kept as one persisted task result per block.

Empty blocks (a Dask array with a zero-row chunk, a DataFrame with an empty
partition) are left out of every reduction, draw and per-row state here: they
hold no row, so no task is built for them.  Only the outputs with one value
per row (``labels``, ``distances``) keep them, so that the output's chunks
stay aligned with ``X``'s.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import dask
import numpy as np

from ...backends import Backend
from ...backends.dask_backend import Block, active_distributed_client, single_threaded
from ._ops import Accumulated, KMeansOps, NearestState, kmeans_ops

logger = logging.getLogger(__name__)


def _checked(ops: KMeansOps, X: Any, centers: np.ndarray) -> Any:
    """``X`` after the checks a lazy input could not get at the door (NaN/inf, overflowing range).

    They run inside the task that reads the block anyway, so they cost no pass
    over the data; the error surfaces when the result is computed.
    """
    ops.backend.block_stats(X, spread=False).check(X.dtype, points=centers)
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


class DaskOps(KMeansOps):
    """KMeans over a Dask array, block by block, with the chunks' own operations."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.chunk = kmeans_ops(backend.chunk)

    def _blocks(self, X: Any, weights: Any) -> list[Block]:
        """The non-empty row blocks of ``X`` and its weights."""
        return _nonempty(self.backend.blocks(X, weights))

    def _groups(self, X: Any, weights: Any) -> list[list[Block]]:
        """:meth:`~scalecluster.backends.dask_backend.DaskBackend.block_groups` without empty blocks or groups."""
        groups = [_nonempty(g) for g in self.backend.block_groups(X, weights)]
        return [g for g in groups if g]

    # --- Lloyd ---------------------------------------------------------------
    @contextmanager
    def sweeps(self, X: Any, weights: Any) -> Iterator[Callable[..., Accumulated]]:
        """Repeated sweeps through one actor per worker (see :mod:`._dask_sweepers`).

        Falls back to one graph per sweep without a distributed client, when a
        block is not where expected, or if an actor call fails.
        """
        client = active_distributed_client()
        by_worker = None if client is None else self.backend.blocks_by_worker(client, X, weights)
        if by_worker is not None:
            by_worker = {w: _nonempty(blocks) for w, blocks in by_worker.items()}
            by_worker = {w: blocks for w, blocks in by_worker.items() if blocks}  # no actor for empty blocks only
        # Where the blocks live is asked once, not on every fallback sweep.
        groups = [[b] for b in self._blocks(X, weights)] if by_worker is None else list(by_worker.values())
        pool = None
        if by_worker is not None:
            from ._dask_sweepers import SweeperPool

            keys = {w: [(b.X.key, b.weights.key) for b in blocks] for w, blocks in by_worker.items()}
            try:
                pool = SweeperPool(client, self.chunk, keys)
            except Exception as error:  # actors are an optimisation: never fail a fit for them
                logger.info("Dask actors unavailable (%s); sweeping with task graphs.", error)

        def sweep(centers: np.ndarray, want_inertia: bool = True) -> Accumulated:
            nonlocal pool
            if pool is not None:
                try:
                    return pool.accumulate(centers, want_inertia)
                except Exception as error:
                    logger.info("Dask actor sweep failed (%s); falling back to task graphs.", error)
                    pool.close()
                    pool = None
            return self._accumulate_groups(groups, centers, want_inertia)

        try:
            yield sweep
        finally:
            if pool is not None:
                pool.close()

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
        # The labels stay lazy; the sums take one pass (of data the fit has checked).
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

    # --- seeding -----------------------------------------------------------------
    def update_nearest(
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
        blocks = self._blocks(X, weights)
        states = [None] * len(blocks) if state is None else state.rows
        totals = np.array(
            dask.compute(*[dask.delayed(_chunk_total)(self.chunk, b.weights, s) for b, s in zip(blocks, states)])
        )
        cumulative = np.cumsum(totals)
        targets = rng.uniform(size=size) * cumulative[-1]
        # A target rounded up to the total falls in the last block that has any mass.
        last = int(np.flatnonzero(totals > 0)[-1]) if np.any(totals > 0) else len(blocks) - 1
        which = np.minimum(np.searchsorted(cumulative, targets, side="right"), last)
        tasks, owners = [], []
        for i in np.unique(which):
            local = targets[which == i] - (cumulative[i - 1] if i > 0 else 0.0)
            tasks.append(dask.delayed(_chunk_sample)(self.chunk, blocks[i].weights, states[i], local))
            owners.append(i)
        picks = np.empty(size, dtype=np.int64)
        for i, local_picks in zip(owners, dask.compute(*tasks)):
            picks[which == i] = local_picks + blocks[i].start
        return picks

    def bernoulli_rows(
        self, X: Any, weights: Any, state: NearestState, scale: float, seed: int, stream: int, row_offset: int = 0
    ) -> np.ndarray:
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
        w_parts = [w for w, size in zip(weights.to_delayed().ravel(), weights.chunks[0]) if size]
        fn = dask.delayed(_chunk_weight_per_nearest, pure=False)
        parts = dask.compute(*[fn(self.chunk, w, s, n_centers) for w, s in zip(w_parts, state.rows)])
        return np.sum(parts, axis=0)
