"""Davies–Bouldin, Calinski–Harabasz, and choosing k and eps, against scikit-learn, across backends."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from scalecluster.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from tests.conftest import to_backend

from ._data import CHUNK, DATASETS, IDS, _labels_for


@pytest.mark.parametrize("name, X, y", DATASETS, ids=IDS)
def test_davies_bouldin_and_calinski_harabasz_equal_sklearn(backend_name, name, X, y):
    Xb, yb = to_backend(X, backend_name, CHUNK), _labels_for(backend_name, y)
    assert davies_bouldin_score(Xb, yb) == pytest.approx(skm.davies_bouldin_score(X, y), rel=1e-9)
    assert calinski_harabasz_score(Xb, yb) == pytest.approx(skm.calinski_harabasz_score(X, y), rel=1e-9)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.zeros(50), "Number of labels is 1"),
        (np.arange(50), "Number of labels is 50"),
        (np.zeros(49), "inconsistent numbers of samples"),
        (np.zeros((50, 2)), "1-dimensional"),
    ],
)
def test_bad_labels(backend_name, labels, message):
    X = to_backend(np.random.RandomState(0).normal(size=(50, 2)), backend_name, 20)
    lab = labels if backend_name == "dask" or labels.ndim != 1 else _labels_for(backend_name, labels)
    for fn in (silhouette_score, davies_bouldin_score, calinski_harabasz_score):
        with pytest.raises(ValueError, match=message):
            fn(X, lab)


# --------------------------------------------------------- choosing k and eps
def test_k_sweep_picks_the_true_k(backend_name):
    from scalecluster.metrics import k_sweep

    X, _ = make_blobs(1500, 3, centers=4, cluster_std=0.6, random_state=5)
    sweep = k_sweep(to_backend(X, backend_name, 400), range(2, 8), sample_size=300, random_state=0)
    assert sweep.suggested_k == 4
    assert list(sweep.table["k"]) == list(range(2, 8))
    assert {"inertia", "silhouette", "silhouette_low", "davies_bouldin", "calinski_harabasz"} <= set(sweep.table)
    assert sweep.table["inertia"].is_monotonic_decreasing
    assert sweep.rule == "highest mean silhouette"


def test_k_sweep_bad_arguments():
    from scalecluster.metrics import k_sweep

    X, _ = make_blobs(50, 2, random_state=0)
    for ks, message in [([1, 2], "at least 2"), ([], "at least 2"), ([2, 50], "below n_samples")]:
        with pytest.raises(ValueError, match=message):
            k_sweep(X, ks)
    with pytest.raises(ValueError, match="Unknown metrics"):
        k_sweep(X, [2, 3], metrics=("elbow",))


def test_suggest_eps_lets_dbscan_recover_blobs(backend_name):
    from sklearn.cluster import DBSCAN
    from sklearn.metrics import adjusted_rand_score

    from scalecluster.metrics import suggest_eps

    X, y = make_blobs(1200, 2, centers=[[0, 0], [8, 8], [-8, 8]], cluster_std=0.7, random_state=0)
    suggestion = suggest_eps(to_backend(X, backend_name, 300), min_samples=5, sample_size=600, random_state=0)
    labels = DBSCAN(eps=suggestion.eps, min_samples=5).fit_predict(X)
    core = labels != -1
    assert core.mean() > 0.9
    assert adjusted_rand_score(y[core], labels[core]) > 0.99
    assert np.all(np.diff(suggestion.k_distances) >= 0)


@pytest.mark.parametrize("n_features", [3, 20])  # the KD-tree path, then the brute-force one
def test_k_distances_equal_sklearn_neighbours(n_features):
    from sklearn.neighbors import NearestNeighbors

    from scalecluster.metrics import suggest_eps

    X, _ = make_blobs(400, n_features, random_state=0)
    ours = suggest_eps(X, min_samples=4, sample_size=None).k_distances
    dist, _ = NearestNeighbors(n_neighbors=4).fit(X).kneighbors(X)
    np.testing.assert_allclose(ours, np.sort(dist[:, 3]), rtol=1e-7, atol=1e-9)


def test_plots_draw_their_panels(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from scalecluster.metrics import k_sweep, suggest_eps

    X, _ = make_blobs(600, 2, centers=3, random_state=0)
    axes = k_sweep(X, [2, 3, 4], sample_size=200).plot()
    assert [ax.get_title() for ax in axes] == ["inertia", "silhouette", "davies bouldin"]
    ax = suggest_eps(X, 5, sample_size=300).plot()
    ax.figure.savefig(tmp_path / "k_distance.png")
    assert (tmp_path / "k_distance.png").stat().st_size > 0

