"""The Dask backend: the in-memory backend of the chunks, mapped over blocks.

A Dask array of NumPy chunks runs the NumPy kernels inside each task; one of
CuPy chunks runs the CuPy ones.  The driver holds only small (k × d) state:
every sweep is one graph whose per-block results are (k × d)-sized, added up
on the driver in block order (so the result does not depend on scheduling).

Per-row state of the seeding algorithms (distance to the nearest centre) stays
on the workers: it is kept as one persisted task result per block.

Inside a task the chunk backend runs single-threaded: Dask already runs one
task per worker thread, and nesting thread pools would oversubscribe cores.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import dask
import dask.array as da
import numpy as np

from .._config import config_context
from ._base import Accumulated, Backend, NearestState
from ._stats import finite_and_mean_variance, merge_block_stats

logger = logging.getLogger(__name__)


@dataclass
class _Block:
    """One row block of the data: its global row offset and its tasks."""

    start: int
    stop: int
    X: Any  # Delayed chunk
    weights: Any  # Delayed chunk


def _active_distributed_client() -> Any:
    """The ``distributed.Client`` that Dask computes with now, if any (never imports distributed)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:
        return None
    return client if dask.base.get_scheduler() == client.get else None


def _single_threaded(fn: Any, *args: Any) -> Any:
    with config_context(n_threads=1):
        return fn(*args)


def _ones_for_rows(X: Any, backend: Backend) -> Any:
    return backend.ones(X)


def _accumulate_blocks(backend: Backend, Xs: list, ws: list, centers: np.ndarray, want_inertia: bool) -> Accumulated:
    return Accumulated.total(
        [_single_threaded(backend.accumulate, X, w, centers, want_inertia) for X, w in zip(Xs, ws)]
    )


def _labels_chunk(X: Any, centers: np.ndarray, backend: Backend) -> Any:
    return _single_threaded(backend.labels, X, centers)


def _distances_chunk(X: Any, centers: np.ndarray, backend: Backend) -> Any:
    return _single_threaded(backend.distances, X, centers)


def _update_nearest_chunk(backend: Backend, X: Any, w: Any, previous: Any, centers: np.ndarray, offset: int) -> tuple:
    # Copy: the chunk backend updates in place, and a persisted block may be
    # read again (k-means++ evaluates several trials against the same state).
    state = None if previous is None else NearestState((previous[0].copy(), previous[1].copy()), 0.0)
    new = _single_threaded(backend.update_nearest, X, w, state, centers, offset)
    return new.rows[0], new.rows[1], new.potential


def _chunk_total(backend: Backend, w: Any, state: Any) -> float:
    values = w if state is None else w * state[0]
    return float(backend.to_host(values.sum()))


def _chunk_sample(backend: Backend, w: Any, state: Any, targets: np.ndarray) -> np.ndarray:
    xp = backend.xp
    values = w if state is None else w * state[0]
    cumulative = xp.cumsum(values)
    picks = backend.to_host(xp.searchsorted(cumulative, xp.asarray(targets), side="right"))
    return np.minimum(picks, len(values) - 1)


def _chunk_bernoulli(
    backend: Backend, X: Any, w: Any, state: Any, scale: float, seed: int, stream: int, start: int
) -> np.ndarray:
    return backend.bernoulli_rows(X, w, NearestState(state[:2], 0.0), scale, seed, stream, row_offset=start)


def _chunk_take(backend: Backend, X: Any, local: np.ndarray) -> np.ndarray:
    return backend.take_rows(X, local)


def _chunk_weight_per_nearest(backend: Backend, w: Any, state: Any, n: int) -> np.ndarray:
    return backend.to_host(backend.xp.bincount(state[1], weights=w, minlength=n)).astype(np.float64)


def _chunk_stats(backend: Backend, X: Any) -> tuple:
    return _single_threaded(backend.block_stats, X)


def _chunk_farthest(backend: Backend, X: Any, w: Any, centers: np.ndarray, m: int) -> tuple:
    return _single_threaded(backend.farthest, X, w, centers, m)


class DaskBackend(Backend):
    """Dask arrays whose chunks belong to ``chunk_backend`` (NumPy or CuPy).

    Tasks are built with ``pure=False``: fresh names every time, so arguments
    are not hashed on every iteration, and two calls with equal arguments never
    share (and race for) a result on a distributed cluster.
    """

    lazy = True

    def __init__(self, chunk_backend: Backend) -> None:
        self.chunk = chunk_backend
        self.xp = chunk_backend.xp
        self.name = f"dask[{chunk_backend.name}]"

    # --- moving data ---------------------------------------------------------
    def to_host(self, a: Any) -> np.ndarray:
        if isinstance(a, da.Array):
            a = a.compute()
        return self.chunk.to_host(a)

    def from_host(self, a: np.ndarray) -> Any:
        return self.chunk.from_host(a)

    def ones(self, X: Any) -> Any:
        # Made from X's chunks, so each block of weights is born (and persisted)
        # where its rows live.
        meta = self.xp.ones(0, dtype=self.xp.float64)
        return X.map_blocks(_ones_for_rows, self.chunk, drop_axis=1, dtype=np.float64, meta=meta)

    def _blocks(self, X: Any, weights: Any) -> list[_Block]:
        x_parts = X.to_delayed().ravel()
        w_parts = weights.to_delayed().ravel()
        bounds = np.concatenate([[0], np.cumsum(X.chunks[0])]).tolist()
        return [
            _Block(bounds[i], bounds[i + 1], x_parts[i], w_parts[i]) for i in range(len(x_parts))
        ]

    # --- the hot operations --------------------------------------------------
    def _blocks_by_worker(self, client: Any, X: Any, weights: Any) -> dict[str, list[_Block]] | None:
        """The blocks each worker holds (both X and its weights), or None if any is elsewhere."""
        from distributed import wait

        wait([X, weights])  # persisted chunks are computed asynchronously
        who_has = client.who_has([X, weights])
        groups: dict[str, list[_Block]] = {}
        for b in self._blocks(X, weights):
            common = set(who_has.get(b.X.key, ())) & set(who_has.get(b.weights.key, ()))
            if not common:
                return None
            groups.setdefault(sorted(common)[0], []).append(b)
        return groups

    def _block_groups(self, X: Any, weights: Any) -> list[list[_Block]]:
        """Blocks grouped so that one task sweeps each group where it lives.

        On a distributed cluster every task costs a scheduler round of a few
        milliseconds, so one task per worker sweeps all the blocks that worker
        holds.  Other schedulers run one task per block.
        """
        client = _active_distributed_client()
        by_worker = None if client is None else self._blocks_by_worker(client, X, weights)
        if by_worker is None:
            return [[b] for b in self._blocks(X, weights)]
        return list(by_worker.values())

    @contextmanager
    def sweeps(self, X: Any, weights: Any) -> Iterator[Callable[..., Accumulated]]:
        """Repeated sweeps through one actor per worker (see :mod:`._dask_sweepers`).

        Falls back to one graph per sweep without a distributed client, when a
        block is not where expected, or if an actor call fails.
        """
        client = _active_distributed_client()
        by_worker = None if client is None else self._blocks_by_worker(client, X, weights)
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
        return self._accumulate_groups(self._block_groups(X, weights), centers, want_inertia)

    def _accumulate_groups(self, groups: list[list[_Block]], centers: np.ndarray, want_inertia: bool) -> Accumulated:
        """One graph: a task per group of blocks, each returning (k × d) sums."""
        fn = dask.delayed(_accumulate_blocks, pure=False)
        parts = dask.compute(
            *[fn(self.chunk, [b.X for b in g], [b.weights for b in g], centers, want_inertia) for g in groups]
        )
        return Accumulated.total(list(parts))

    def assign(self, X: Any, weights: Any, centers: np.ndarray) -> tuple[Any, Accumulated]:
        # The labels stay lazy; the sums take one pass.
        return self.labels(X, centers), self.accumulate(X, weights, centers)

    def labels(self, X: Any, centers: np.ndarray) -> Any:
        meta = self.xp.empty((0,), dtype=np.int32)
        return X.map_blocks(_labels_chunk, centers, self.chunk, drop_axis=1, dtype=np.int32, meta=meta)

    def distances(self, X: Any, centers: np.ndarray) -> Any:
        k = centers.shape[0]
        meta = self.xp.empty((0, 0), dtype=X.dtype)
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
        which = np.minimum(np.searchsorted(cumulative, targets, side="right"), len(blocks) - 1)
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

    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        blocks = self._blocks(X, self.ones(X))
        bounds = np.array([b.start for b in blocks] + [blocks[-1].stop])
        owner = np.searchsorted(bounds, indices, side="right") - 1
        tasks, wanted = [], []
        for i in np.unique(owner):
            positions = np.nonzero(owner == i)[0]
            tasks.append(dask.delayed(_chunk_take)(self.chunk, blocks[i].X, indices[positions] - blocks[i].start))
            wanted.append(positions)
        out = np.empty((len(indices), X.shape[1]), dtype=np.float64)
        for positions, rows in zip(wanted, dask.compute(*tasks)):
            out[positions] = rows
        return out

    def weight_per_nearest(self, weights: Any, state: NearestState, n_centers: int) -> np.ndarray:
        w_parts = weights.to_delayed().ravel()
        fn = dask.delayed(_chunk_weight_per_nearest, pure=False)
        parts = dask.compute(*[fn(self.chunk, w, s, n_centers) for w, s in zip(w_parts, state.rows)])
        return np.sum(parts, axis=0)

    def describe(
        self, X: Any, weights: Any, need_variance: bool = True, persist: bool = True
    ) -> tuple[Any, Any, bool, float]:
        stats = [dask.delayed(_chunk_stats, pure=False)(self.chunk, part) for part in X.to_delayed().ravel()]
        if not persist:
            if not need_variance:
                return X, weights, True, float("nan")
            finite, variance = finite_and_mean_variance(merge_block_stats(list(dask.compute(*stats))))
            return X, weights, finite, variance
        # One graph run loads (persists) the chunks and their weights and, in
        # the same pass, checks them for NaN/inf and measures their spread.
        X, weights, *stats = dask.persist(X, weights, *stats)
        finite, variance = finite_and_mean_variance(merge_block_stats(list(dask.compute(*stats))))
        return X, weights, finite, variance
