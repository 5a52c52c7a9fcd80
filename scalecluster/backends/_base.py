"""The contract every backend fulfils.

Algorithms (KMeans, k-means||, ...) are written once against these few
operations.  A backend is stateless; the one for an input is found once by
:func:`scalecluster.backends.get_backend` and passed down.

Conventions shared by all operations (they trust their input: validation
happened at the door):

* ``X`` is a 2-D array of the backend's type, float32 or float64, finite.
* ``weights`` is a 1-D float64 array of the backend's type, aligned with ``X``.
* ``centers`` are small NumPy arrays on the host, float64, shape (k, d); the
  backend moves them where its data lives.  Small results come back to the
  host as NumPy; anything with one entry per row stays in the backend's type
  (and, on Dask, distributed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterator

import numpy as np


@dataclass
class Accumulated:
    """What one sweep over the data reduces to: O(k × d), on the host."""

    sums: np.ndarray  #: (k, d) float64, ``sum(w * x)`` per centre
    weight_sums: np.ndarray  #: (k,) float64, ``sum(w)`` per centre
    inertia: float  #: ``sum(w * ||x - nearest centre||^2)``

    @classmethod
    def total(cls, parts: "list[Accumulated]") -> "Accumulated":
        """The sum of several sweeps' results, added in the order given."""
        out = cls(parts[0].sums.copy(), parts[0].weight_sums.copy(), parts[0].inertia)
        for part in parts[1:]:
            out.sums += part.sums
            out.weight_sums += part.weight_sums
            out.inertia += part.inertia
        return out


@dataclass
class NearestState:
    """Per-row distance to, and index of, the nearest centre chosen so far.

    Used by the seeding algorithms (k-means++, k-means||).  ``rows`` belongs to
    the backend: the in-memory backends keep a pair of arrays
    ``(min_sq_dist, nearest)``; the Dask backend keeps one persisted task
    result per block, so that the per-row state never leaves the workers.
    """

    rows: Any
    potential: float  #: ``sum(w * min_sq_dist)``


class Backend(ABC):
    """Operations the algorithms need; see the module docstring for conventions."""

    #: Short name: "numpy", "cupy", "dask[numpy]", "dask[cupy]".
    name: str = "abstract"
    #: True when arrays are lazy (Dask): results come back only on compute.
    lazy: bool = False

    # --- moving data ---------------------------------------------------------
    @abstractmethod
    def to_host(self, a: Any) -> np.ndarray:
        """A small array (or scalar) as NumPy on the host."""
        ...

    @abstractmethod
    def from_host(self, a: np.ndarray) -> Any:
        """A small host array in the type of this backend's (chunk) arrays."""
        ...

    @abstractmethod
    def ones(self, X: Any) -> Any:
        """Unit weights aligned with the rows of ``X`` (float64)."""
        ...

    # --- the hot operations --------------------------------------------------
    @abstractmethod
    def accumulate(self, X: Any, weights: Any, centers: np.ndarray, want_inertia: bool = True) -> Accumulated:
        """One Lloyd E-step and the sums for the M-step.

        With ``want_inertia=False`` the backend may skip the inertia (report 0).
        """
        ...

    @contextmanager
    def sweeps(self, X: Any, weights: Any) -> Iterator[Callable[..., Accumulated]]:
        """Repeated :meth:`accumulate` calls over the same data, as a context.

        Yields ``sweep(centers, want_inertia=True)``.  A backend may keep state
        for the duration (the Dask backend keeps an actor on each worker).
        """
        yield partial(self.accumulate, X, weights)

    @abstractmethod
    def assign(self, X: Any, weights: Any, centers: np.ndarray) -> tuple[Any, Accumulated]:
        """Labels (int32, in the backend's type) and the sweep's sums."""
        ...

    @abstractmethod
    def labels(self, X: Any, centers: np.ndarray) -> Any:
        """Labels only (for ``predict``); lazy on Dask."""
        ...

    @abstractmethod
    def distances(self, X: Any, centers: np.ndarray) -> Any:
        """Euclidean distances, shape (n, k), in the backend's type."""
        ...

    @abstractmethod
    def farthest(self, X: Any, weights: Any, centers: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``m`` rows farthest from their nearest centre, farthest first.

        Returns host arrays: the rows (m, d) float64, their nearest centre (m,)
        and their weights (m,).
        """
        ...

    # --- seeding ---------------------------------------------------------------
    @abstractmethod
    def update_nearest(
        self, X: Any, weights: Any, state: NearestState | None, centers: np.ndarray, offset: int
    ) -> NearestState:
        """Lower each row's nearest distance with ``centers`` (numbered from ``offset``)."""
        ...

    @abstractmethod
    def sample_rows(
        self, X: Any, weights: Any, state: NearestState | None, size: int, rng: np.random.RandomState
    ) -> np.ndarray:
        """``size`` row indices drawn with replacement, with probability ∝ ``w * min_sq_dist``.

        This is D² sampling; with ``state=None`` the probability is ∝ ``w``.
        """
        ...

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
        ...

    @abstractmethod
    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        """Rows at global ``indices`` as a host float64 array."""
        ...

    @abstractmethod
    def weight_per_nearest(self, weights: Any, state: NearestState, n_centers: int) -> np.ndarray:
        """``sum(w)`` of the rows nearest to each of the ``n_centers`` centres (host, float64)."""
        ...

    @abstractmethod
    def describe(
        self, X: Any, weights: Any, need_variance: bool = True, persist: bool = True
    ) -> tuple[Any, Any, bool, float]:
        """Persist ``X`` and its weights and, in the same pass, check ``X`` and measure its spread.

        Returns ``(X, weights, all_finite, mean_variance)``: the (persisted)
        data and weights, whether every value of ``X`` is finite, and the mean
        over features of the per-feature variance (what ``tol`` is scaled by).
        On Dask this is the pass that loads the data: the NaN check costs no
        pass of its own.  With ``persist=False`` (data streamed, not held) the
        Dask backend measures only what is needed: the variance if asked for
        (one pass), and otherwise leaves the NaN check to the consumer.
        """
        ...
