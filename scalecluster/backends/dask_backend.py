"""The Dask backend: blocks of NumPy or CuPy chunks, described and moved without gathering them.

A Dask array of NumPy chunks is a list of NumPy blocks; of CuPy chunks, of
CuPy blocks.  This module says where those blocks are (their row offsets and
tasks, and on a distributed cluster which worker holds each), moves small
arrays, gathers a few rows, and describes the data in the one pass that loads
it.  Algorithms map their in-memory kernels over the blocks themselves (e.g.
:mod:`scalecluster.cluster.kmeans._ops_dask`); the driver only ever holds
small, k × d-sized, results.

Inside a task the chunk backend runs single-threaded (:func:`single_threaded`):
Dask already runs one task per worker thread, and nesting thread pools would
oversubscribe the cores.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np

from .._config import config_context
from ._base import Backend
from ._stats import Summary


@dataclass
class Block:
    """One row block of the data: its global row offset and its tasks."""

    start: int
    stop: int
    X: Any  #: Delayed chunk
    weights: Any  #: Delayed chunk (or None)


def active_distributed_client() -> Any:
    """The ``distributed.Client`` that Dask computes with now, if any (never imports distributed)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:
        return None
    return client if dask.base.get_scheduler() == client.get else None


def single_threaded(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with the in-memory kernels limited to one thread (inside a Dask task)."""
    with config_context(n_threads=1):
        return fn(*args)


def _ones_for_rows(X: Any, backend: Backend) -> Any:
    return backend.ones(X)


def _chunk_take(backend: Backend, X: Any, local: np.ndarray) -> np.ndarray:
    return backend.take_rows(X, local)


def _chunk_stats(backend: Backend, X: Any, spread: bool) -> Summary:
    return single_threaded(backend.block_stats, X, spread)


class DaskBackend(Backend):
    """Dask arrays whose chunks belong to ``chunk_backend`` (NumPy or CuPy).

    Tasks are built with ``pure=False``: fresh names every time, so arguments
    are not hashed on every call, and two calls with equal arguments never
    share (and race for) a result on a distributed cluster.
    """

    lazy = True

    def __init__(self, chunk_backend: Backend) -> None:
        self._chunk = chunk_backend
        self.xp = chunk_backend.xp
        self.name = f"dask[{chunk_backend.name}]"

    @property
    def chunk(self) -> Backend:
        return self._chunk

    # --- moving data ---------------------------------------------------------
    def to_host(self, a: Any) -> np.ndarray:
        if isinstance(a, da.Array):
            a = a.compute()
        return self.chunk.to_host(a)

    def from_host(self, a: np.ndarray) -> Any:
        return self.chunk.from_host(a)

    def move_here(self, a: Any, what: str) -> Any:
        if isinstance(a, da.Array):
            meta = getattr(a, "_meta", None)
            if meta is not None and type(meta).__module__.split(".")[0] != type(self.xp.empty(0)).__module__.split(".")[0]:
                # Chunks of the other kind (NumPy beside CuPy or back): moved block by block.
                return a.map_blocks(self.chunk.move_here, what, dtype=a.dtype, meta=self.xp.empty((0,) * a.ndim, a.dtype))
            return a
        if hasattr(a, "to_dask_array"):  # a Dask Series or DataFrame column
            return self.move_here(a.to_dask_array(lengths=True), what)
        return da.from_array(self.chunk.move_here(a, what), chunks=-1)

    def ones(self, X: Any) -> Any:
        # Made from X's chunks, so each block of weights is born (and persisted)
        # where its rows live.
        meta = self.xp.ones(0, dtype=self.xp.float64)
        return X.map_blocks(_ones_for_rows, self.chunk, drop_axis=1, dtype=np.float64, meta=meta)

    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        blocks = self.blocks(X)
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

    # --- where the blocks are ----------------------------------------------------
    def blocks(self, X: Any, weights: Any = None) -> list[Block]:
        """The row blocks of ``X`` (and of ``weights``, chunked alike), with their offsets."""
        x_parts = X.to_delayed().ravel()
        w_parts = [None] * len(x_parts) if weights is None else weights.to_delayed().ravel()
        bounds = np.concatenate([[0], np.cumsum(X.chunks[0])]).tolist()
        return [Block(bounds[i], bounds[i + 1], x_parts[i], w_parts[i]) for i in range(len(x_parts))]

    def blocks_by_worker(self, client: Any, X: Any, weights: Any) -> dict[str, list[Block]] | None:
        """The blocks each worker holds (both X and its weights), or None if any is elsewhere."""
        from distributed import wait

        wait([X, weights])  # persisted chunks are computed asynchronously
        who_has = client.who_has([X, weights])
        groups: dict[str, list[Block]] = {}
        for b in self.blocks(X, weights):
            common = set(who_has.get(b.X.key, ())) & set(who_has.get(b.weights.key, ()))
            if not common:
                return None
            groups.setdefault(sorted(common)[0], []).append(b)
        return groups

    def block_groups(self, X: Any, weights: Any) -> list[list[Block]]:
        """Blocks grouped so that one task can sweep each group where it lives.

        On a distributed cluster every task costs a scheduler round of a few
        milliseconds, so one task per worker takes all the blocks that worker
        holds.  Other schedulers get one task per block.
        """
        client = active_distributed_client()
        by_worker = None if client is None else self.blocks_by_worker(client, X, weights)
        if by_worker is None:
            return [[b] for b in self.blocks(X, weights)]
        return list(by_worker.values())

    # --- describing data -------------------------------------------------------
    def block_stats(self, X: Any, spread: bool = True) -> Summary:
        stats = [dask.delayed(_chunk_stats, pure=False)(self.chunk, part, spread) for part in X.to_delayed().ravel()]
        return Summary.merge(list(dask.compute(*stats)))

    def describe(
        self, X: Any, weights: Any, need_variance: bool = True, persist: bool = True
    ) -> tuple[Any, Any, Summary | None]:
        if not persist:
            if not need_variance:
                return X, weights, None  # streamed: each chunk is checked as it arrives
            return X, weights, self.block_stats(X, spread=True)
        # One graph run loads (persists) the chunks and their weights and, in
        # the same pass, checks them for NaN/inf and measures their range and spread.
        parts = X.to_delayed().ravel()
        stats = [dask.delayed(_chunk_stats, pure=False)(self.chunk, part, need_variance) for part in parts]
        X, weights, *stats = dask.persist(X, weights, *stats)
        return X, weights, Summary.merge(list(dask.compute(*stats)))
