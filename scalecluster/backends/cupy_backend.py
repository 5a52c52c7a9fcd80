"""The CuPy backend: in-memory arrays on one GPU.

Importing this module imports CuPy; :func:`scalecluster.backends.get_backend`
only does so when it is handed a CuPy array.
"""

from __future__ import annotations

from typing import Any

import cupy
import numpy as np

from ._array import ArrayBackend


class CupyBackend(ArrayBackend):
    """In-memory CuPy arrays on one GPU."""

    def __init__(self) -> None:
        super().__init__(cupy, "cupy")

    def to_host(self, a: Any) -> np.ndarray:
        return cupy.asnumpy(a)
