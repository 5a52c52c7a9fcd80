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
