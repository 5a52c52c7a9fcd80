"""Dask DBSCAN with an empty chunk (first, in the middle, last) or an empty DataFrame partition.

A Dask array cut by a filter, or a DataFrame whose partition held no rows,
has blocks of 0 rows: every step of the slabs (the block summaries, the
split, the slabs, the labels sent back to their blocks) must take them.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SkDBSCAN

from scalecluster import DBSCAN
from tests.conftest import to_numpy

from ._data import assert_same_as_sklearn, blobs_with_noise, eps_for_neighbours

#: Row chunks of 900 rows with one empty chunk.
CHUNKS = {"first": (0, 300, 300, 300), "middle": (300, 300, 0, 300), "last": (300, 300, 300, 0)}

# path -> (features, DBSCAN parameters, weighted)
PATHS = {
    "grid": (2, {}, False),
    "grid-weighted": (3, {}, True),
    "tree": (10, {}, False),
    "manhattan": (3, {"metric": "manhattan"}, False),
    "brute-minkowski": (2, {"metric": "minkowski", "p": 3, "algorithm": "brute"}, True),
}


def _dask(a, chunks):
    import dask.array as da

    return da.from_array(a, chunks=(chunks,) + a.shape[1:])


@pytest.mark.parametrize("where", sorted(CHUNKS))
@pytest.mark.parametrize("path", sorted(PATHS))
def test_an_empty_chunk_on_every_path(path, where):
    d, params, weighted = PATHS[path]
    X = blobs_with_noise(860, d, seed=d)[:900]
    eps = eps_for_neighbours(X, 15)
    w = np.random.default_rng(d).integers(1, 3, len(X)).astype(float) if weighted else None
    reference = SkDBSCAN(eps=eps, min_samples=8, **params).fit(X, sample_weight=w)
    assert len(set(reference.labels_)) > 2
    chunks = CHUNKS[where]
    weights = None if w is None else _dask(w, chunks)
    ours = DBSCAN(eps=eps, min_samples=8, **params).fit(_dask(X, chunks), sample_weight=weights)
    assert ours.labels_.chunks[0] == chunks  # labels come back chunked like X, empty block included
    assert_same_as_sklearn(ours, reference)
    np.testing.assert_array_equal(to_numpy(ours.components_), X[reference.core_sample_indices_])


@pytest.mark.parametrize("where", sorted(CHUNKS))
def test_an_empty_chunk_beside_slabs_of_noise_only(where):
    """All noise: no slab has a local cluster, and one block has no rows at all."""
    X = np.random.default_rng(1).uniform(0, 1000, size=(900, 2))
    ours = DBSCAN(eps=1e-3, min_samples=3).fit(_dask(X, CHUNKS[where]))
    assert (ours.labels_.compute() == -1).all() and ours.core_sample_indices_.size == 0


def test_a_dataframe_with_an_empty_partition():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X = blobs_with_noise(860, 2, seed=4)[:900]
    eps = eps_for_neighbours(X, 15)
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b"]), npartitions=3)
    # The middle partition filtered to nothing (as a query on the data would).
    frame = frame.map_partitions(lambda part: part.iloc[:0] if part.index[0] == 300 else part)
    kept = np.r_[0:300, 600:900]
    ours = DBSCAN(eps=eps, min_samples=8).fit(frame)
    assert_same_as_sklearn(ours, SkDBSCAN(eps=eps, min_samples=8).fit(X[kept]))
