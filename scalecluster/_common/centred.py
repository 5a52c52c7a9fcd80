"""Squared distances through the centred expansion, prepared once per set of points.

Every distance kernel here (KMeans on CPU, GPU and the generic path, the
silhouette's distance sums, the k-distance curve) computes
``||x - p||² = ||x - s||² + ||p - s||² - 2 <x - s, p - s>`` with a shift ``s``
(by default the mean of the points ``p``): scikit-learn's GEMM expansion, but
centred, so that a large common offset in the data does not cancel the
precision away.  What depends on the points alone — the shift, the centred
points, their squared norms, and the ``-2 (p - s)ᵀ`` operand the kernels
multiply with — is computed here, once, in float64 on the host, and cast to
the data's dtype by whoever needs it.  Scaling by -2 is exact in binary
floating point, so ``norms + (x - s) @ (-2 (p - s))ᵀ`` equals
``norms - 2 (x - s) @ (p - s)ᵀ`` bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CentredPoints:
    """A small set of points (centres or queries) ready for the distance expansion."""

    points: np.ndarray  #: (m, d) float64
    shift: np.ndarray  #: (d,) float64
    centred: np.ndarray  #: (m, d) float64, ``points - shift``
    norms: np.ndarray  #: (m,) float64, ``||points - shift||²``

    @classmethod
    def of(cls, points: Any, shift: np.ndarray | None = None) -> "CentredPoints":
        """Prepare ``points`` (host array-like), shifted by their mean unless ``shift`` is given."""
        p64 = np.ascontiguousarray(points, dtype=np.float64)
        s = p64.mean(axis=0) if shift is None else np.asarray(shift, dtype=np.float64)
        centred = p64 - s
        return cls(p64, s, centred, (centred**2).sum(axis=1))

    @property
    def k(self) -> int:
        return self.points.shape[0]

    def kernel_operands(self, dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(shift, -2 (p - s)ᵀ as (d, m) C-contiguous, norms)`` in ``dtype``: what the tile kernels read."""
        return (
            self.shift.astype(dtype),
            np.ascontiguousarray((-2.0 * self.centred).T, dtype=dtype),
            self.norms.astype(dtype),
        )
