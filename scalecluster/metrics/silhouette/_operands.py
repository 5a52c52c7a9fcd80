"""What the silhouette's distance kernels read about the queries, and when they recompute a distance.

The kernels (:mod:`._kernels_cpu`, :mod:`._kernels_cuda`) compute
``||x - q||²`` through the centred expansion
``||x - s||² + ||q - s||² - 2 <x - s, q - s>`` in the data's dtype.  Its
rounding error is up to about ``(d + 3) · eps · (||x - s||² + ||q - s||²)``,
so a squared distance below that cannot be told from 0: the kernels flag the
pairs below twice the bound (:func:`exact_below`) and recompute them as the
sum of the squared differences of the centred coordinates.

The queries are centred here exactly as the kernels centre the rows — in the
data's dtype, ``fl(q - fl(s))`` — so that a row identical to a query has
bit-identical centred coordinates, and its recomputed distance is exactly 0
(scikit-learn's silhouette of a cluster of identical points is exactly 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def exact_below(d: int, dtype: Any) -> float:
    """``tol``: a squared distance below ``tol · (||x - s||² + ||q - s||²)`` is recomputed from the differences.

    Twice the worst-case rounding of the expansion with ``d`` features in ``dtype``.
    """
    return 2.0 * (d + 3) * float(np.finfo(dtype).eps)


def query_operands(queries: Any, shift: np.ndarray | None, dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(shift, -2 (q - shift)ᵀ as (d, s) C-contiguous, ||q - shift||²)``, in ``dtype``.

    ``shift`` defaults to the queries' mean.  ``q - shift`` is rounded in
    ``dtype`` from the queries and the shift both in ``dtype`` (as the kernels
    centre the rows); the norms are summed in float64 and rounded once.
    Scaling by -2 is exact.
    """
    dtype = np.dtype(dtype)
    q64 = np.ascontiguousarray(queries, dtype=np.float64)
    s64 = q64.mean(axis=0) if shift is None else np.asarray(shift, dtype=np.float64)
    shift_d = s64.astype(dtype)
    centred = q64.astype(dtype) - shift_d
    c64 = centred.astype(np.float64)
    norms = (c64 * c64).sum(axis=1).astype(dtype)
    return shift_d, np.ascontiguousarray((-2 * centred).T), norms
