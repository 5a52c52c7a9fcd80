"""Every metric on a Dask array with an empty chunk (first, in the middle, last), and a DataFrame with an empty partition."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from scalecluster.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    k_sweep,
    silhouette_samples,
    silhouette_score,
    suggest_eps,
)

X, Y = make_blobs(600, 3, centers=4, cluster_std=0.8, random_state=3)
CHUNKS = {"first": (0, 200, 200, 200), "middle": (200, 200, 0, 200), "last": (300, 300, 0)}


def _dask(a, where):
    import dask.array as da

    return da.from_array(a, chunks=(CHUNKS[where],) + a.shape[1:])


@pytest.mark.parametrize("where", sorted(CHUNKS))
@pytest.mark.parametrize("lazy_labels", [False, True])
def test_indices_and_exact_silhouette(where, lazy_labels):
    Xd = _dask(X, where)
    labels = _dask(Y, where) if lazy_labels else Y
    np.testing.assert_allclose(silhouette_samples(Xd, labels), skm.silhouette_samples(X, Y), rtol=1e-9, atol=1e-12)
    assert silhouette_score(Xd, labels) == pytest.approx(skm.silhouette_score(X, Y), rel=1e-9)
    assert davies_bouldin_score(Xd, labels) == pytest.approx(skm.davies_bouldin_score(X, Y), rel=1e-9)
    assert calinski_harabasz_score(Xd, labels) == pytest.approx(skm.calinski_harabasz_score(X, Y), rel=1e-9)


@pytest.mark.parametrize("where", sorted(CHUNKS))
@pytest.mark.parametrize("reference_size", [100, None])  # a stratified reference; all rows (4 × 100 ≥ n / 2)
def test_sampled_silhouette(where, reference_size):
    kwargs = {"sample_size": 100, "random_state": 0, "reference_size": reference_size, "return_interval": True}
    expected = silhouette_score(X, Y, **kwargs)
    ours = silhouette_score(_dask(X, where), _dask(Y, where), **kwargs)
    assert ours[0] == pytest.approx(expected[0], rel=1e-9)
    np.testing.assert_allclose(ours[1], expected[1], rtol=1e-9)


@pytest.mark.parametrize("where", sorted(CHUNKS))
def test_suggest_eps_and_k_sweep(where):
    Xd = _dask(X, where)
    expected = suggest_eps(X, min_samples=5, sample_size=200, random_state=0)
    ours = suggest_eps(Xd, min_samples=5, sample_size=200, random_state=0)
    np.testing.assert_allclose(ours.k_distances, expected.k_distances, rtol=1e-9)
    sweep = k_sweep(Xd, [3, 4, 5], sample_size=200, random_state=0)
    assert sweep.suggested_k == 4 and list(sweep.table["k"]) == [3, 4, 5]


def test_a_dataframe_with_an_empty_partition():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=3)
    frame = frame.map_partitions(lambda part: part.iloc[:0] if part.index[0] == 200 else part)
    kept = np.r_[0:200, 400:600]
    Xk, Yk = X[kept], Y[kept]
    assert silhouette_score(frame, Yk) == pytest.approx(skm.silhouette_score(Xk, Yk), rel=1e-9)
    assert davies_bouldin_score(frame, Yk) == pytest.approx(skm.davies_bouldin_score(Xk, Yk), rel=1e-9)
    assert calinski_harabasz_score(frame, Yk) == pytest.approx(skm.calinski_harabasz_score(Xk, Yk), rel=1e-9)
    assert silhouette_score(frame, Yk, sample_size=100, random_state=0) == pytest.approx(
        silhouette_score(Xk, Yk, sample_size=100, random_state=0), rel=1e-9
    )
