"""The contract every backend fulfils: find the data's kind, describe it, move it.

A backend knows nothing of any algorithm.  It says what the data is (its
array module, whether it is lazy, the in-memory backend of its chunks),
moves small arrays between the host and the data's device, and describes the
data in one pass (finite? spread?).  Algorithms pick their own kernels for a
backend from a small table in their folder (e.g.
:mod:`scalecluster.cluster.kmeans._ops`); see DESIGN.md.

Conventions (the operations trust their input: validation happened at the door):

* ``X`` is a 2-D array of the backend's type, float32 or float64.
* ``weights`` is a 1-D float64 array of the backend's type, aligned with ``X``.
* Small results come back to the host as NumPy; anything with one entry per
  row stays in the backend's type (and, on Dask, distributed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ._stats import Summary


class Backend(ABC):
    """What algorithms may ask of the backend of their input (see the module docstring)."""

    #: Short name: "numpy", "cupy", "dask[numpy]", "dask[cupy]"; the key of the algorithms' kernel tables.
    name: str = "abstract"
    #: True when arrays are lazy (Dask): results come back only on compute.
    lazy: bool = False
    #: The array module of the data (of its chunks, on Dask): ``numpy`` or ``cupy``.
    xp: Any = None

    @property
    def chunk(self) -> "Backend":
        """The in-memory backend of one block of the data (itself when in memory)."""
        return self

    # --- moving data ---------------------------------------------------------
    @abstractmethod
    def to_host(self, a: Any) -> np.ndarray:
        """A small array (or scalar) as NumPy on the host."""

    @abstractmethod
    def from_host(self, a: np.ndarray) -> Any:
        """A small host array in the type of this backend's (chunk) arrays."""

    @abstractmethod
    def ones(self, X: Any) -> Any:
        """Unit weights aligned with the rows of ``X`` (float64)."""

    @abstractmethod
    def move_here(self, a: Any, what: str) -> Any:
        """An input given beside the data (weights, labels), as an array of this backend.

        As cuML does, inputs follow ``X``: NumPy beside CuPy moves to the GPU,
        NumPy or CuPy beside a Dask array becomes a Dask array of the same
        chunk type, CuPy beside NumPy comes to the host.  A Dask array beside
        in-memory data is refused (``TypeError`` naming ``what``): computing it
        would load a whole distributed array without being asked.
        """

    @abstractmethod
    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        """Rows at global ``indices`` as a host float64 array of shape (len(indices), d)."""

    # --- describing data -------------------------------------------------------
    @abstractmethod
    def block_stats(self, X: Any, spread: bool = True) -> Summary:
        """:class:`~._stats.Summary` of in-memory ``X`` (finite? range; mean and m2 with ``spread``)."""

    def check_range(self, X: Any, what: str = "X", points: np.ndarray | None = None) -> None:
        """Raise ``ValueError`` for NaN/inf in in-memory ``X``, or squared distances that overflow its dtype.

        What :meth:`~._stats.Summary.check` says of :meth:`block_stats`;
        in-memory backends answer most inputs from two whole-array reductions.
        """
        self.block_stats(X, spread=False).check(X.dtype, what, points)

    @abstractmethod
    def describe(
        self, X: Any, weights: Any, need_variance: bool = True, persist: bool = True
    ) -> tuple[Any, Any, Summary | None]:
        """Persist ``X`` and its weights and, in the same pass, check ``X`` and measure it.

        Returns ``(X, weights, summary)``: the (persisted) data and weights,
        and the :class:`~._stats.Summary` of ``X`` (finiteness, per-feature
        range, and with ``need_variance`` the spread ``tol`` is scaled by).
        On Dask this is the pass that loads the data: the checks cost no pass
        of their own.  With ``persist=False`` and no variance needed (data
        streamed, not held), the Dask backend makes no pass and returns
        ``None``: whoever streams the chunks checks each one as it arrives.
        """
