"""What one pass over the data tells: finiteness, per-feature spread and range, merged exactly.

``tol`` is scaled by the mean per-feature variance.  Computing it with
``X.var(axis=0)`` would allocate a temporary as large as ``X``; instead each
row block gives its count, mean and sum of squared deviations, and the blocks
are merged with Chan et al.'s pairwise formula (exact, and stable).  The same
pass records each feature's range, which says whether squared distances
would overflow the data's dtype (values near 1e300 in float64, or 1e19 in
float32): a distance kernel fed such data returns a silently wrong nearest
centre, so it is refused at the door (:meth:`Summary.check`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Summary:
    """Statistics of rows of the data (a block, or all of it after :meth:`merge`)."""

    count: int
    finite: bool
    low: np.ndarray | None = None  #: (d,) per-feature minimum (None: not measured)
    high: np.ndarray | None = None  #: (d,) per-feature maximum
    mean: np.ndarray | None = None  #: (d,) per-feature mean (None: not measured)
    m2: np.ndarray | None = None  #: (d,) per-feature sum of squared deviations

    @classmethod
    def of_block(cls, xp: Any, X: Any, to_host: Any, *, spread: bool = True) -> "Summary":
        """One in-memory row block (``xp`` is its array module); ``spread=False`` skips mean and m2."""
        finite = bool(xp.isfinite(X).all())
        if not finite or X.shape[0] == 0:
            return cls(X.shape[0], finite)
        low = to_host(_per_column(xp, X, "min")).astype(np.float64)
        high = to_host(_per_column(xp, X, "max")).astype(np.float64)
        if not spread:
            return cls(X.shape[0], True, low, high)
        X64 = X.astype(xp.float64)
        # Overflowing spreads (values near 1e300) are what check() refuses; no warning here.
        with np.errstate(over="ignore", invalid="ignore"):
            mean = X64.mean(axis=0)
            m2 = ((X64 - mean) ** 2).sum(axis=0)
        return cls(X.shape[0], True, low, high, to_host(mean), to_host(m2))

    @classmethod
    def merge(cls, parts: "list[Summary]") -> "Summary":
        """The statistics of all the rows of ``parts`` (exact pairwise merge of the spreads)."""
        count = sum(p.count for p in parts)
        if not all(p.finite for p in parts):
            return cls(count, False)
        measured = [p for p in parts if p.count and p.low is not None]
        if not measured:
            return cls(count, True)
        low = np.min([p.low for p in measured], axis=0)
        high = np.max([p.high for p in measured], axis=0)
        if any(p.mean is None for p in measured):
            return cls(count, True, low, high)
        n, mean, m2 = 0, np.zeros_like(low), np.zeros_like(low)
        with np.errstate(over="ignore", invalid="ignore"):
            for p in measured:
                total = n + p.count
                delta = p.mean - mean
                mean = mean + delta * (p.count / total)
                m2 = m2 + p.m2 + delta**2 * (n * p.count / total)
                n = total
        return cls(count, True, low, high, mean, m2)

    @property
    def mean_variance(self) -> float:
        """Mean over features of the per-feature variance (NaN if not measured)."""
        if not self.finite or self.m2 is None or self.count == 0:
            return float("nan")
        return float((self.m2 / self.count).mean())

    def check(self, dtype: Any, what: str = "X", points: np.ndarray | None = None) -> None:
        """Raise ``ValueError`` for NaN/inf, or for a range whose squared distances overflow ``dtype``.

        ``points`` (e.g. fitted centres) widen the range: distances from the
        rows to them must not overflow either.
        """
        if not self.finite:
            raise ValueError(f"Input {what} contains NaN or infinity.")
        low, high = self.low, self.high
        if points is not None and low is not None and len(points):
            low = np.minimum(low, np.min(points, axis=0))
            high = np.maximum(high, np.max(points, axis=0))
        check_range(low, high, dtype, what)


#: Rows folded side by side for :func:`_per_column` (a reduction's inner loop as long as 64 rows).
_FOLD = 64


def _per_column(xp: Any, X: Any, which: str) -> Any:
    """``X.min(axis=0)`` or ``X.max(axis=0)`` (``which``) of a block, the same values 10–20× faster.

    Reducing over rows runs the inner loop once per row, only ``d`` long; with
    ``_FOLD`` rows laid side by side (a view of a C-contiguous block) it runs
    ``_FOLD`` times longer and as many times less often, then the ``_FOLD``
    partial answers are reduced.  Minima and maxima do not depend on the
    order they are taken in.
    """
    n, d = X.shape
    m = n - n % _FOLD
    if m == 0 or not X.flags.c_contiguous:
        return getattr(X, which)(axis=0)
    part = getattr(X[:m].reshape(m // _FOLD, _FOLD * d), which)(axis=0).reshape(_FOLD, d)
    if m < n:
        part = xp.concatenate([part, X[m:]])
    return getattr(part, which)(axis=0)


def check_range(low: np.ndarray | None, high: np.ndarray | None, dtype: Any, what: str = "X") -> None:
    """Refuse data whose squared distances would overflow ``dtype``.

    Distances are computed through ``||x - s||² - 2 <x - s, c - s>`` in the
    data's dtype; with every feature within ``[low, high]``, no term exceeds
    about ``4 d max(high - low)²``.  Beyond the dtype's largest value the
    nearest centre is silently wrong (inf - inf), so this is an error.
    """
    if low is None or high is None or low.size == 0:
        return
    spread = np.asarray(high, dtype=np.float64) - np.asarray(low, dtype=np.float64)
    with np.errstate(over="ignore"):
        bound = 4.0 * spread.size * np.float64(spread.max()) ** 2 if np.isfinite(spread).all() else np.inf
    largest = float(np.finfo(dtype).max)
    if bound < largest:
        return
    column = int(np.argmax(spread))
    raise ValueError(
        f"{what} spans too wide a range to measure distances in {np.dtype(dtype).name}: column {column} "
        f"goes from {low[column]:.3g} to {high[column]:.3g}, so squared distances would overflow "
        f"(largest {np.dtype(dtype).name} is {largest:.3g}). Rescale {what} first (e.g. standardise "
        "each column, or divide by a power of ten)."
        + (" In float32, converting to float64 also helps." if np.dtype(dtype) == np.float32 else "")
    )
