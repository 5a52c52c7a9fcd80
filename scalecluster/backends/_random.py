"""Per-row random numbers that do not depend on how rows are chunked.

k-means|| keeps each row with some probability.  For the NumPy and the Dask
backend to keep the *same* rows for the same seed, whatever the chunking, the
uniform draw of row ``i`` must be a function of ``(seed, stream, i)`` only.
Rows are grouped in fixed virtual blocks of ``_VIRTUAL_BLOCK`` rows; block
``b`` of stream ``s`` is drawn from a counter-based Philox generator keyed by
the seed with counter ``(0, 0, b, s)``, so any row range can be produced
without drawing the rows before it.
"""

from __future__ import annotations

import numpy as np

_VIRTUAL_BLOCK = 1 << 16


def row_uniforms(seed: int, stream: int, start: int, stop: int) -> np.ndarray:
    """Uniform [0, 1) draws for global rows ``start .. stop - 1``.

    Parameters
    ----------
    seed : int
        The fit's seed (0 <= seed < 2**63).
    stream : int
        Which independent stream (e.g. the k-means|| round).
    start, stop : int
        Global row range.

    Returns
    -------
    u : ndarray of shape (stop - start,), float64
    """
    out = np.empty(stop - start, dtype=np.float64)
    if stop <= start:
        return out
    first, last = start // _VIRTUAL_BLOCK, (stop - 1) // _VIRTUAL_BLOCK
    for block in range(first, last + 1):
        lo = max(start, block * _VIRTUAL_BLOCK)
        hi = min(stop, (block + 1) * _VIRTUAL_BLOCK)
        # Only the draws wanted: Philox makes 4 at a time from its counter, so
        # skipping to draw ``skip`` of the block is ``skip // 4`` counter steps
        # and ``skip % 4`` draws thrown away (a chunk that starts mid-block
        # does not draw the part before it).
        skip = lo - block * _VIRTUAL_BLOCK
        bit_generator = np.random.Philox(key=seed, counter=[0, 0, block, stream])
        if skip >= 4:
            bit_generator.advance(skip // 4)
        generator = np.random.Generator(bit_generator)
        if skip % 4:
            generator.random(skip % 4)
        out[lo - start : hi - start] = generator.random(hi - lo)
    return out
