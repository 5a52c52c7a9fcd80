import numpy as np

from scalecluster.backends._random import _VIRTUAL_BLOCK, row_uniforms


def test_any_range_equals_the_slice_of_the_whole():
    whole = row_uniforms(3, 1, 0, 3 * _VIRTUAL_BLOCK + 17)
    for start, stop in [(0, 10), (5, _VIRTUAL_BLOCK + 5), (_VIRTUAL_BLOCK - 1, 2 * _VIRTUAL_BLOCK + 3), (100, 100)]:
        np.testing.assert_array_equal(row_uniforms(3, 1, start, stop), whole[start:stop])


def test_streams_and_seeds_differ_and_are_uniform():
    a, b, c = row_uniforms(3, 1, 0, 10000), row_uniforms(3, 2, 0, 10000), row_uniforms(4, 1, 0, 10000)
    assert not np.allclose(a, b) and not np.allclose(a, c)
    assert 0.0 <= a.min() and a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.02


def test_a_range_starting_mid_block_skips_to_its_draws():
    """Draws of virtual block b are Philox(key=seed, counter=(0, 0, b, stream)) in order; a range
    that starts inside a block skips ahead to its own draws (every offset modulo Philox's 4 per step)."""
    block, seed, stream = 2, 11, 4
    reference = np.random.Generator(np.random.Philox(key=seed, counter=[0, 0, block, stream])).random(_VIRTUAL_BLOCK)
    base = block * _VIRTUAL_BLOCK
    for skip in [0, 1, 2, 3, 4, 5, 6, 7, 1001, _VIRTUAL_BLOCK - 3]:
        for length in [1, 3, 50]:
            stop = min(base + skip + length, base + _VIRTUAL_BLOCK)
            np.testing.assert_array_equal(row_uniforms(seed, stream, base + skip, stop), reference[skip : stop - base])
