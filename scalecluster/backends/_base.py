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

from ._stats import BlockStats


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
    def take_rows(self, X: Any, indices: np.ndarray) -> np.ndarray:
        """Rows at global ``indices`` as a host float64 array of shape (len(indices), d)."""

    # --- describing data -------------------------------------------------------
    @abstractmethod
    def block_stats(self, X: Any) -> BlockStats:
        """Count, mean, squared deviations and finiteness of in-memory ``X`` (host results)."""

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
        Dask backend still checks every value in the one pass it makes.
        """
