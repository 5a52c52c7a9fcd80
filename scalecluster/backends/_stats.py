"""Per-feature spread of the data, block by block, merged exactly.

``tol`` is scaled by the mean per-feature variance.  Computing it with
``X.var(axis=0)`` would allocate a temporary as large as ``X``; instead each
row block gives its count, mean and sum of squared deviations, and the blocks
are merged with Chan et al.'s pairwise formula (exact, and stable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: (rows, mean per feature, sum of squared deviations per feature, all finite)
BlockStats = tuple[int, np.ndarray, np.ndarray, bool]


def block_stats(xp: Any, X: Any, to_host: Any) -> BlockStats:
    """Statistics of one row block (``xp`` is its array module)."""
    finite = bool(xp.isfinite(X).all())
    if not finite or X.shape[0] == 0:
        return X.shape[0], np.zeros(X.shape[1]), np.zeros(X.shape[1]), finite
    X64 = X.astype(xp.float64)
    mean = X64.mean(axis=0)
    m2 = ((X64 - mean) ** 2).sum(axis=0)
    return X.shape[0], to_host(mean), to_host(m2), finite


def merge_block_stats(parts: list[BlockStats]) -> BlockStats:
    """Merge the statistics of row blocks into those of all their rows."""
    d = len(parts[0][1]) if parts else 0
    if not all(p[3] for p in parts):
        return sum(p[0] for p in parts), np.zeros(d), np.zeros(d), False
    n, mean, m2 = 0, np.zeros(d), np.zeros(d)
    for count, block_mean, block_m2, _ in parts:
        if count == 0:
            continue
        total = n + count
        delta = block_mean - mean
        mean = mean + delta * (count / total)
        m2 = m2 + block_m2 + delta**2 * (n * count / total)
        n = total
    return n, mean, m2, True


def finite_and_mean_variance(stats: BlockStats) -> tuple[bool, float]:
    """Whether every value is finite, and the mean per-feature variance."""
    n, _, m2, finite = stats
    if not finite or n == 0:
        return finite, float("nan")
    return True, float((m2 / n).mean())
