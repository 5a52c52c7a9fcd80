"""What Lloyd, the seedings and MiniBatchKMeans ask of the data, and the table that picks the kernels.

The algorithms in this folder are written once against :class:`KMeansOps`.
:func:`kmeans_ops` picks the implementation for the data's backend, once, at
the top of a fit (as scikit-learn binds ``lloyd_iter`` once in
``_kmeans_single_lloyd``):

=============  ==============================================================
backend        operations
=============  ==============================================================
numpy          :mod:`._ops_cpu` — the numba tile kernels of :mod:`._kernels_cpu`
               for dense rows, SciPy's sparse products for CSR
cupy           :mod:`._ops_cuda` — the fused CUDA kernel of :mod:`._kernels_cuda`
dask[...]      :mod:`._ops_dask` — the chunks' operations mapped over blocks
anything else  :mod:`._ops_generic` — any array module with NumPy's API
=============  ==============================================================

Conventions: ``centers`` are small float64 NumPy arrays on the host, shape
(k, d); the operations move them where the data lives.  Sums come back to the
host; anything with one value per row stays in the backend's type.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Callable, Iterator

import numpy as np

from ...backends import Backend


@dataclass
class Accumulated:
    """What one sweep over the data reduces to: O(k × d), on the host."""

    sums: np.ndarray  #: (k, d) float64, ``sum(w * x)`` per centre
    weight_sums: np.ndarray  #: (k,) float64, ``sum(w)`` per centre
    inertia: float  #: ``sum(w * ||x - nearest centre||^2)``
    #: Rows whose nearest centre changed since the previous sweep of the same
    #: :meth:`KMeansOps.sweeps` context, when the operations track it (None otherwise).
    n_changed: int | None = None

    @classmethod
    def total(cls, parts: "list[Accumulated]") -> "Accumulated":
        """The sum of several sweeps' results, added in the order given."""
        out = cls(parts[0].sums.copy(), parts[0].weight_sums.copy(), parts[0].inertia, parts[0].n_changed)
        for part in parts[1:]:
            out.sums += part.sums
            out.weight_sums += part.weight_sums
            out.inertia += part.inertia
            out.n_changed = None if out.n_changed is None or part.n_changed is None else out.n_changed + part.n_changed
        return out


@dataclass
class NearestState:
    """Per-row distance to, and index of, the nearest centre chosen so far.

    Used by the seedings (k-means++, k-means||).  ``rows`` belongs to the
    operations: in memory a pair of arrays ``(min_sq_dist, nearest)``; on Dask
    one persisted task result per block, so the per-row state never leaves
    the workers.
    """

    rows: Any
    potential: float  #: ``sum(w * min_sq_dist)``


class KMeansOps(ABC):
    """The KMeans operations over the data of one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # --- Lloyd ---------------------------------------------------------------
    @abstractmethod
    def accumulate(self, X: Any, weights: Any, centers: np.ndarray, want_inertia: bool = True) -> Accumulated:
        """One Lloyd E-step and the sums for the M-step (``want_inertia=False`` may report 0)."""

    @contextmanager
    def sweeps(self, X: Any, weights: Any) -> Iterator[Callable[..., Accumulated]]:
        """Repeated :meth:`accumulate` calls over the same data, as a context.

        Yields ``sweep(centers, want_inertia=True)``.  An implementation may
        keep state for the duration (the Dask one keeps an actor per worker).
        """
        yield partial(self.accumulate, X, weights)

    @abstractmethod
    def assign(self, X: Any, weights: Any, centers: np.ndarray) -> tuple[Any, Accumulated]:
        """Labels (int32, in the backend's type) and the sweep's sums."""

    @abstractmethod
    def labels(self, X: Any, centers: np.ndarray) -> Any:
        """Labels only (for ``predict``); lazy on Dask."""

    @abstractmethod
    def distances(self, X: Any, centers: np.ndarray) -> Any:
        """Euclidean distances, shape (n, k), in the backend's type (the output of ``transform``)."""

    @abstractmethod
    def farthest(self, X: Any, weights: Any, centers: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``m`` rows farthest from their nearest centre, farthest first.

        Returns host arrays: the rows (m, d) float64, their nearest centre (m,)
        and their weights (m,).
        """

    # --- seeding -----------------------------------------------------------------
    @abstractmethod
    def update_nearest(
        self, X: Any, weights: Any, state: NearestState | None, centers: np.ndarray, offset: int
    ) -> NearestState:
        """Lower each row's nearest distance with ``centers`` (numbered from ``offset``)."""

    def copy_state(self, state: NearestState) -> NearestState:
        """A copy of the per-row state that :meth:`update_nearest` may then change in place."""
        return NearestState((state.rows[0].copy(), state.rows[1].copy()), state.potential)

    @abstractmethod
    def sample_rows(
        self, X: Any, weights: Any, state: NearestState | None, size: int, rng: np.random.RandomState
    ) -> np.ndarray:
        """``size`` row indices drawn with replacement, with probability ∝ ``w * min_sq_dist``.

        This is D² sampling; with ``state=None`` the probability is ∝ ``w``.
        """

    @abstractmethod
    def bernoulli_rows(
        self, X: Any, weights: Any, state: NearestState, scale: float, seed: int, stream: int, row_offset: int = 0
    ) -> np.ndarray:
        """Indices of rows kept independently with probability ``min(1, scale * w * min_sq_dist)``.

        ``row_offset`` is the global index of the first row of ``X`` (for a
        chunk of a larger array): it keys the draws and is added to the result.
        The uniforms come from :func:`scalecluster.backends._random.row_uniforms`,
        keyed by ``(seed, stream)`` and the global row index, so the draw does
        not depend on how the rows are split into chunks.
        """

    @abstractmethod
    def weight_per_nearest(self, weights: Any, state: NearestState, n_centers: int) -> np.ndarray:
        """``sum(w)`` of the rows nearest to each of the ``n_centers`` centres (host, float64)."""

    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        """Rows at global ``indices`` as a host float64 array."""
        return self.backend.take_rows(X, indices)

    # --- composite steps (one round trip each where the backend can fuse them) ---
    def sample_rows_and_values(
        self, X: Any, weights: Any, size: int, rng: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        """``sample_rows(X, weights, None, size, rng)`` and those rows (host float64)."""
        index = self.sample_rows(X, weights, None, size, rng)
        return index, self.take_rows(X, index)

    def nearest_then_draw(
        self,
        X: Any,
        weights: Any,
        state: NearestState | None,
        centers: np.ndarray | None,
        offset: int,
        draw: BernoulliDraw | None,
    ) -> tuple[NearestState, np.ndarray, np.ndarray]:
        """One k-means|| step: :meth:`update_nearest`, then the next round's :meth:`bernoulli_rows`.

        ``centers=None`` leaves the state as it is.  With ``draw`` and a positive
        potential, the rows kept with probability ``min(1, draw.ell * w * d² / φ)``
        (``φ`` the potential after the update) and their values; otherwise none.
        Returns ``(state, indices, rows)``: exactly what the three operations in
        turn give; a backend may answer in fewer round trips.
        """
        if centers is not None:
            state = self.update_nearest(X, weights, state, centers, offset)
        assert state is not None
        if draw is None or state.potential <= 0:
            return state, np.empty(0, dtype=np.int64), np.empty((0, X.shape[1]))
        chosen = self.bernoulli_rows(X, weights, state, draw.ell / state.potential, draw.seed, draw.stream)
        rows = self.take_rows(X, chosen) if chosen.size else np.empty((0, X.shape[1]))
        return state, chosen, rows

    @contextmanager
    def resident(self, X: Any, weights: Any) -> Iterator[None]:
        """A context over which ``X`` and ``weights`` stay as they are (a whole fit).

        The operations may keep helpers beside the data for its duration (the
        Dask ones: one actor per worker, for the seeding, every Lloyd sweep
        and the final pass); elsewhere it does nothing.
        """
        yield


@dataclass(frozen=True)
class BernoulliDraw:
    """A k-means|| round's draw: ``ell`` expected rows, from stream ``stream`` of ``seed`` (see :meth:`KMeansOps.bernoulli_rows`)."""

    ell: float
    seed: int
    stream: int


#: backend name -> "module:class" of its operations (module relative to this package).
_TABLE = {
    "numpy": "._ops_cpu:CpuOps",
    "cupy": "._ops_cuda:CudaOps",
    "dask[numpy]": "._ops_dask:DaskOps",
    "dask[cupy]": "._ops_dask:DaskOps",
}
_GENERIC = "._ops_generic:GenericOps"


@lru_cache(maxsize=None)
def _ops_class(name: str) -> type:
    module, cls = _TABLE.get(name, _GENERIC).split(":")
    return getattr(importlib.import_module(module, __package__), cls)


def kmeans_ops(backend: Backend) -> KMeansOps:
    """The KMeans operations for ``backend`` (its kernels imported on first use)."""
    return _ops_class(backend.name)(backend)
