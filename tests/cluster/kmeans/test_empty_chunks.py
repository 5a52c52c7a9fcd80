"""Dask arrays with empty chunks (and DataFrames with empty partitions), on every KMeans path.

An empty chunk holds no row: every result must equal the result for the same
rows without it (the same draws for the same seed), and outputs with a value
per row keep ``X``'s chunks, empty ones included, so that they stay aligned
with ``X`` partition by partition.  Each path is checked with an empty chunk
first, in the middle and last.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from scalecluster import KMeans, MiniBatchKMeans
from scalecluster.backends import get_backend
from scalecluster.cluster.kmeans import kmeans_plusplus
from scalecluster.cluster.kmeans._ops import kmeans_ops
from scalecluster.cluster.kmeans._seeding import kmeans_parallel
from tests.conftest import to_numpy

X_SMALL = make_blobs(600, 3, centers=4, random_state=0)[0]

#: chunk sizes with an empty chunk, and the same rows without it
LAYOUTS = {
    "first": (0, 300, 300),
    "middle": (300, 0, 300),
    "last": (300, 300, 0),
}


def _with_empty(where, X=X_SMALL):
    return da.from_array(X, chunks=(LAYOUTS[where], X.shape[1]))


def _without_empty(X=X_SMALL):
    return da.from_array(X, chunks=((300, 300), X.shape[1]))


WHERE = pytest.mark.parametrize("where", list(LAYOUTS))


def _same_fit(a, b):
    np.testing.assert_array_equal(to_numpy(a.cluster_centers_), to_numpy(b.cluster_centers_))
    assert a.inertia_ == b.inertia_
    np.testing.assert_array_equal(to_numpy(a.labels_), to_numpy(b.labels_))


@WHERE
def test_lloyd_sweeps_and_persist(where):
    """describe/persist, the sweeps' task graphs and the final pass: NumPy's fit, chunks kept."""
    init = X_SMALL[[0, 100, 200, 300]]
    ref = KMeans(4, init=init, tol=0).fit(X_SMALL)
    Xd = _with_empty(where)
    for persist in (True, False):
        ours = KMeans(4, init=init, tol=0, persist=persist).fit(Xd)
        assert ours.n_iter_ == ref.n_iter_
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-12)
        np.testing.assert_array_equal(to_numpy(ours.labels_), ref.labels_)
        assert ours.labels_.chunks == (LAYOUTS[where],)


@WHERE
@pytest.mark.parametrize("init", ["k-means||", "k-means++", "random"])
def test_seedings_draw_as_without_the_empty_chunk(where, init):
    """k-means|| (bernoulli draws, take_rows, candidate weights), k-means++ and random on Dask."""
    a = KMeans(4, init=init, n_init=1, random_state=3).fit(_with_empty(where))
    b = KMeans(4, init=init, n_init=1, random_state=3).fit(_without_empty())
    _same_fit(a, b)
    if init == "k-means||":  # chunk-independent draws: NumPy's candidates too
        ref = KMeans(4, random_state=3).fit(X_SMALL)
        assert a.init_candidates_ == ref.init_candidates_
        np.testing.assert_allclose(a.cluster_centers_, ref.cluster_centers_, rtol=1e-9)


@WHERE
def test_kmeans_parallel_and_sampling_ops(where):
    """The seeding operations themselves: D² sampling lands only on rows, weights per candidate add up."""
    Xd = _with_empty(where)
    backend = get_backend(Xd)
    ops = kmeans_ops(backend)
    weights = backend.ones(Xd)
    rng = np.random.RandomState(0)
    picks = ops.sample_rows(Xd, weights, None, 50, rng)
    assert picks.min() >= 0 and picks.max() < X_SMALL.shape[0]
    centers, info = kmeans_parallel(ops, Xd, weights, 4, np.random.RandomState(1), oversampling_factor=2.0, n_rounds=3)
    ref, ref_info = kmeans_parallel(
        kmeans_ops(get_backend(X_SMALL)), X_SMALL, np.ones(600), 4, np.random.RandomState(1),
        oversampling_factor=2.0, n_rounds=3,
    )
    assert info == ref_info
    np.testing.assert_allclose(centers, ref, rtol=1e-9)


class _TopOfTheRange:
    """A random state whose uniforms are all 1.0: every target is the total (the rounding edge)."""

    def uniform(self, size):
        return np.ones(size)


@WHERE
def test_a_draw_at_the_total_lands_on_the_last_row_with_mass(where):
    """Trailing rows (and chunks) without weight are never drawn, even when a target rounds up to the total."""
    w = np.ones(600)
    w[450:] = 0.0
    Xd = _with_empty(where)
    backend = get_backend(Xd)
    for ops, X, weights in [
        (kmeans_ops(backend), Xd, da.from_array(w, chunks=(LAYOUTS[where],))),
        (kmeans_ops(get_backend(X_SMALL)), X_SMALL, w),
    ]:
        np.testing.assert_array_equal(ops.sample_rows(X, weights, None, 3, _TopOfTheRange()), [449, 449, 449])


@WHERE
def test_empty_cluster_relocation_farthest(where):
    """An empty cluster takes the farthest row (``farthest`` over the blocks), as in memory."""
    init = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0], [1e3, 1e3, 1e3], [-1e3, -1e3, -1e3]])
    ref = KMeans(4, init=init).fit(X_SMALL)
    ours = KMeans(4, init=init).fit(_with_empty(where))
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-12)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)


@WHERE
def test_predict_transform_score(where):
    model = KMeans(4, random_state=0).fit(X_SMALL)
    Xd = _with_empty(where)
    labels, distances = model.predict(Xd), model.transform(Xd)
    assert labels.chunks == (LAYOUTS[where],)
    assert distances.chunks == (LAYOUTS[where], (4,))
    np.testing.assert_array_equal(to_numpy(labels), model.predict(X_SMALL))
    np.testing.assert_allclose(to_numpy(distances), model.transform(X_SMALL), rtol=1e-12)
    assert model.score(Xd) == pytest.approx(model.score(X_SMALL), rel=1e-12)


@WHERE
def test_kmeans_plusplus_function(where):
    a = kmeans_plusplus(_with_empty(where), 4, random_state=5)
    b = kmeans_plusplus(_without_empty(), 4, random_state=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(X_SMALL[a[1]], a[0])


@WHERE
def test_minibatch_streaming(where):
    """Streamed epochs skip empty chunks: the same steps as without them."""
    a = MiniBatchKMeans(4, batch_size=100, random_state=0).fit(_with_empty(where))
    b = MiniBatchKMeans(4, batch_size=100, random_state=0).fit(_without_empty())
    assert a.n_steps_ == b.n_steps_
    _same_fit(a, b)
    assert a.labels_.chunks == (LAYOUTS[where],)


@WHERE
def test_minibatch_partial_fit(where):
    """partial_fit over the chunks: an empty chunk is no step; an array with one is one batch."""
    Xd = _with_empty(where)
    a, b = MiniBatchKMeans(4, random_state=0), MiniBatchKMeans(4, random_state=0)
    for block in Xd.blocks:
        a.partial_fit(block)
    for block in _without_empty().blocks:
        b.partial_fit(block)
    assert a.n_steps_ == b.n_steps_ == 2
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    whole = MiniBatchKMeans(4, random_state=0).partial_fit(Xd)
    np.testing.assert_array_equal(whole.cluster_centers_, MiniBatchKMeans(4, random_state=0).partial_fit(X_SMALL).cluster_centers_)


def test_empty_dask_chunk_first_call_and_feature_check():
    model = MiniBatchKMeans(4, random_state=0)
    empty = _with_empty("first").blocks[0]
    model.partial_fit(empty)  # nothing to learn from yet
    assert not hasattr(model, "cluster_centers_")
    model.partial_fit(X_SMALL)
    with pytest.raises(ValueError, match="X has 2 features, but MiniBatchKMeans is expecting 3"):
        model.partial_fit(da.zeros((0, 2), chunks=(1, 2)))


@pytest.mark.parametrize("empty_partition", [0, 1, 3])
def test_dataframe_with_an_empty_partition(empty_partition):
    import dask.dataframe as dd
    import pandas as pd

    frame = pd.DataFrame(X_SMALL, columns=["a", "b", "c"])
    frame["part"] = np.repeat(np.arange(4), 150)
    ddf = dd.from_pandas(frame, npartitions=4)
    ddf = ddf[ddf.part != empty_partition][["a", "b", "c"]]
    kept = frame[frame.part != empty_partition][["a", "b", "c"]].to_numpy()
    model = KMeans(4, random_state=0).fit(ddf)
    ref = KMeans(4, random_state=0).fit(kept)
    np.testing.assert_allclose(model.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    assert len(model.labels_.chunks[0]) == 4 and 0 in model.labels_.chunks[0]  # aligned with the partitions
    mini = MiniBatchKMeans(4, batch_size=100, random_state=0).fit(ddf)
    assert np.isfinite(mini.inertia_)


@WHERE
def test_distributed_actors_skip_empty_blocks(where):
    """The per-worker actors of the Lloyd sweeps, with a worker holding an empty block."""
    from distributed import Client, LocalCluster

    init = X_SMALL[[0, 100, 200, 300]]
    ref = KMeans(4, init=init, tol=0).fit(X_SMALL)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            Xd = client.persist(_with_empty(where))
            ours = KMeans(4, init=init, tol=0).fit(Xd)
            labels = to_numpy(ours.labels_)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-12)
    np.testing.assert_array_equal(labels, ref.labels_)
