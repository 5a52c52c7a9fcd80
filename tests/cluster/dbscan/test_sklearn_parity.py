"""DBSCAN with scikit-learn's metrics, algorithms, sparse input and precomputed distances: its labels, exactly.

Every case runs scikit-learn's DBSCAN with the same parameters on the same data
and asks for the same core points and the same label for every point.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import distance
from sklearn.cluster import DBSCAN as SkDBSCAN
from sklearn.cluster import dbscan as sk_dbscan
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors

from scalecluster import config_context
from scalecluster.cluster.dbscan import DBSCAN, dbscan
from tests.conftest import to_backend

from ._data import assert_same_as_sklearn, blobs_with_noise, eps_for_neighbours

X3 = blobs_with_noise(500, 3, seed=11)
EPS3 = eps_for_neighbours(X3, 15)
_rng = np.random.default_rng(11)
WEIGHTS = _rng.uniform(0.5, 3.0, len(X3))
FEATURE_WEIGHTS = _rng.uniform(0.5, 2.0, 3)
COVARIANCE = np.cov(X3.T)


def _euclid(a, b):
    return float(np.sqrt(((a - b) ** 2).sum()))


# (metric, metric_params, p, algorithm, eps scale)
CASES = {
    "euclidean-brute": ("euclidean", None, None, "brute", 1.0),
    "euclidean-kd_tree": ("euclidean", None, None, "kd_tree", 1.0),
    "euclidean-ball_tree": ("euclidean", None, None, "ball_tree", 1.0),
    "minkowski-p3-params": ("minkowski", {"p": 3}, None, "auto", 1.0),
    "minkowski-p3-ball_tree": ("minkowski", None, 3, "ball_tree", 1.0),
    "minkowski-p1-brute": ("minkowski", None, 1, "brute", 1.0),
    "minkowski-weighted": ("minkowski", {"w": FEATURE_WEIGHTS}, 2, "auto", 1.0),
    "chebyshev-kd_tree": ("chebyshev", None, None, "kd_tree", 1.0),
    "cosine-auto": ("cosine", None, None, "auto", None),
    "correlation-brute": ("correlation", None, None, "brute", None),
    "canberra-auto": ("canberra", None, None, "auto", 0.6),
    "mahalanobis-ball_tree": ("mahalanobis", {"V": COVARIANCE}, None, "ball_tree", 0.35),
    "callable-ball_tree": (_euclid, None, None, "ball_tree", 1.0),
    "callable-brute": (distance.cityblock, None, None, "brute", 1.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_metrics_and_algorithms_give_sklearn_labels(case, weighted):
    metric, params, p, algorithm, scale = CASES[case]
    X = X3
    if scale is None:  # cosine-like: distances live in [0, 2]
        X, eps = X3 - X3.mean(axis=0) + 0.2, 0.02
    else:
        eps = EPS3 * scale
    w = WEIGHTS if weighted else None
    kwargs = {"eps": eps, "min_samples": 8, "metric": metric, "metric_params": params, "p": p, "algorithm": algorithm}
    reference = SkDBSCAN(**kwargs).fit(X, sample_weight=w)
    assert len(set(reference.labels_)) > 2, "the case must have clusters and noise"
    assert_same_as_sklearn(DBSCAN(**kwargs).fit(X, sample_weight=w), reference)


def test_minkowski_below_one_runs_the_brute_force_with_sklearn_warning():
    kwargs = {"eps": EPS3 * 2, "min_samples": 8, "metric": "minkowski", "p": 0.5}
    with pytest.warns(UserWarning, match="for 0 < p < 1, Minkowski metrics are not distance metrics"):
        ours = DBSCAN(**kwargs).fit(X3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SkDBSCAN(**kwargs).fit(X3)
    assert_same_as_sklearn(ours, reference)
    with pytest.raises(ValueError, match="algorithm='kd_tree' does not support 0 < p < 1.*algorithm='brute'"):
        DBSCAN(algorithm="kd_tree", **kwargs).fit(X3)


def test_p_in_metric_params_wins_with_sklearn_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alone = DBSCAN(eps=EPS3, min_samples=8, metric="minkowski", metric_params={"p": 1}).fit(X3)
    with pytest.warns(SyntaxWarning, match="Parameter p is found in metric_params"):
        both = DBSCAN(eps=EPS3, min_samples=8, metric="minkowski", metric_params={"p": 1}, p=3).fit(X3)
    manhattan = SkDBSCAN(eps=EPS3, min_samples=8, metric="manhattan").fit(X3)
    assert_same_as_sklearn(alone, manhattan)
    assert_same_as_sklearn(both, manhattan)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok"])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_sparse_input_gives_sklearn_labels(fmt, metric):
    X = np.where(np.abs(X3) > 2.5, X3, 0.0)  # a third of the entries are zeros
    eps = 0.05 if metric == "cosine" else EPS3
    reference = SkDBSCAN(eps=eps, min_samples=6, metric=metric).fit(sp.csr_matrix(X), sample_weight=WEIGHTS)
    assert len(set(reference.labels_)) > 2
    ours = DBSCAN(eps=eps, min_samples=6, metric=metric).fit(sp.csr_matrix(X).asformat(fmt), sample_weight=WEIGHTS)
    assert_same_as_sklearn(ours, reference)
    assert sp.issparse(ours.components_) and ours.components_.shape == (len(reference.core_sample_indices_), 3)
    np.testing.assert_array_equal(ours.components_.toarray(), X[reference.core_sample_indices_])
    # Sparse rows, dense rows: the same clustering (scikit-learn's test_dbscan_sparse).
    np.testing.assert_array_equal(ours.labels_, DBSCAN(eps=eps, min_samples=6, metric=metric).fit(X, sample_weight=WEIGHTS).labels_)


def test_sparse_without_core_points_has_empty_dense_components():
    X = sp.csr_matrix(np.eye(20))
    ours = DBSCAN(eps=0.5, min_samples=3).fit(X)
    assert (ours.labels_ == -1).all() and ours.core_sample_indices_.shape == (0,)
    assert isinstance(ours.components_, np.ndarray) and ours.components_.shape == (0, 20)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_precomputed_dense_matrix(dtype):
    D = pairwise_distances(X3).astype(dtype)
    reference = SkDBSCAN(eps=EPS3, min_samples=8, metric="precomputed").fit(D, sample_weight=WEIGHTS)
    ours = DBSCAN(eps=EPS3, min_samples=8, metric="precomputed").fit(D, sample_weight=WEIGHTS)
    assert_same_as_sklearn(ours, reference)
    # The same clustering as from the features.
    np.testing.assert_array_equal(
        DBSCAN(eps=EPS3, min_samples=8).fit(X3, sample_weight=WEIGHTS).labels_,
        DBSCAN(eps=EPS3, min_samples=8, metric="precomputed").fit(pairwise_distances(X3), sample_weight=WEIGHTS).labels_,
    )


@pytest.mark.parametrize("include_self", [False, True])
@pytest.mark.parametrize("radius_scale", [1.0, 2.5])  # a graph built with a larger radius is filtered to eps
@pytest.mark.parametrize("fmt", ["csr", "csc", "lil"])
def test_precomputed_sparse_graph(include_self, radius_scale, fmt):
    nn = NearestNeighbors(radius=EPS3 * radius_scale).fit(X3)
    graph = nn.radius_neighbors_graph(X3 if include_self else None, mode="distance").asformat(fmt)
    before = graph.copy()
    reference = sk_dbscan(graph.copy(), eps=EPS3, min_samples=8, metric="precomputed", sample_weight=WEIGHTS)
    ours = dbscan(graph, eps=EPS3, min_samples=8, metric="precomputed", sample_weight=WEIGHTS)
    np.testing.assert_array_equal(ours[0], reference[0])
    np.testing.assert_array_equal(ours[1], reference[1])
    assert graph.nnz == before.nnz and (graph != before).nnz == 0  # never modified in place
    dense = dbscan(pairwise_distances(X3), eps=EPS3, min_samples=8, metric="precomputed", sample_weight=WEIGHTS)
    np.testing.assert_array_equal(ours[1], dense[1])


def test_precomputed_sparse_diagonal_and_initial_empty_rows():
    """scikit-learn's cases: explicit diagonal entries beyond eps, rows with no stored entry."""
    ar = np.array(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0],
            [0.0, 0.0, 0.1, 0.1, 0.0, 0.0, 0.3],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1],
            [0.0, 0.0, 0.0, 0.0, 0.3, 0.1, 0.0],
        ]
    )
    np.testing.assert_array_equal(
        DBSCAN(eps=0.2, metric="precomputed", min_samples=2).fit(sp.csr_matrix(ar)).labels_, [-1, -1, 0, 0, 0, 1, 1]
    )
    far_self = sp.csr_matrix(ar)
    far_self.setdiag([0.5, 0, 0, 0, 0, 0, 0])  # point 0 is not even its own neighbour
    for min_samples in (1, 2):
        np.testing.assert_array_equal(
            DBSCAN(eps=0.2, metric="precomputed", min_samples=min_samples).fit(far_self).labels_,
            SkDBSCAN(eps=0.2, metric="precomputed", min_samples=min_samples).fit(far_self.copy()).labels_,
        )


def test_precomputed_refusals():
    with pytest.raises(ValueError, match="X must be a square matrix of distances.*got shape \\(5, 3\\)"):
        DBSCAN(metric="precomputed").fit(np.zeros((5, 3)))
    D = pairwise_distances(X3[:20])
    D[3, 4] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to precomputed distance matrix"):
        DBSCAN(metric="precomputed").fit(D)
    with pytest.raises(ValueError, match="'algorithm' parameter of DBSCAN must be 'auto' or 'brute' with metric='precomputed'"):
        DBSCAN(metric="precomputed", algorithm="kd_tree").fit(pairwise_distances(X3[:20]))
    with pytest.raises(TypeError, match="DBSCAN\\(metric='precomputed'\\) takes a NumPy array or SciPy sparse matrix.*Dask"):
        DBSCAN(metric="precomputed").fit(to_backend(pairwise_distances(X3[:20]), "dask", 10))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"metric": "cosine", "algorithm": "kd_tree"}, "algorithm='kd_tree' cannot use metric='cosine'"),
        ({"metric": _euclid, "algorithm": "kd_tree"}, "algorithm='kd_tree' cannot use metric=_euclid"),
        ({"metric": "cosine", "algorithm": "ball_tree"}, "algorithm='ball_tree' cannot use metric='cosine'"),
        ({"metric": "minkowski", "metric_params": {"w": np.ones(3)}, "algorithm": "kd_tree"}, "weighted Minkowski"),
        ({"metric": "cosine", "algorithm": "grid"}, "algorithm='grid' needs the Euclidean metric"),
    ],
)
def test_algorithm_and_metric_that_cannot_go_together(params, message):
    with pytest.raises(ValueError, match=message):
        DBSCAN(**params).fit(X3)


def test_dask_refuses_metrics_its_slabs_cannot_hold():
    X = to_backend(X3, "dask", 100)
    for metric, params in (("cosine", None), (_euclid, None), ("minkowski", {"w": FEATURE_WEIGHTS})):
        with pytest.raises(TypeError, match="DBSCAN on a Dask array supports the Minkowski family"):
            DBSCAN(metric=metric, metric_params=params).fit(X)
    reference = SkDBSCAN(eps=EPS3, min_samples=8, metric="minkowski", p=3).fit(X3)
    for algorithm in ("brute", "ball_tree"):
        assert_same_as_sklearn(DBSCAN(eps=EPS3, min_samples=8, metric="minkowski", p=3, algorithm=algorithm).fit(X), reference)


def test_dbscan_function_is_sklearns():
    core, labels = dbscan(X3, eps=EPS3, min_samples=8)  # metric="minkowski", p=2: Euclidean
    ref_core, ref_labels = sk_dbscan(X3, eps=EPS3, min_samples=8)
    np.testing.assert_array_equal(core, ref_core)
    np.testing.assert_array_equal(labels, ref_labels)
    core, labels = dbscan(X3.tolist(), EPS3, min_samples=8, metric="manhattan", algorithm="ball_tree", sample_weight=WEIGHTS)
    ref_core, ref_labels = sk_dbscan(X3, EPS3, min_samples=8, metric="manhattan", algorithm="ball_tree", sample_weight=WEIGHTS)
    np.testing.assert_array_equal(core, ref_core)
    np.testing.assert_array_equal(labels, ref_labels)
    core, labels = dbscan(to_backend(X3, "dask", 120), eps=EPS3, min_samples=8)  # Dask in, lazy labels out
    ref_core, ref_labels = sk_dbscan(X3, eps=EPS3, min_samples=8)
    assert hasattr(labels, "dask") and labels.chunks[0] == (120, 120, 120, 120, 45)
    np.testing.assert_array_equal(core, ref_core)
    np.testing.assert_array_equal(labels.compute(), ref_labels)


def test_n_jobs_sets_the_threads_of_the_fit(monkeypatch):
    from scalecluster._config import effective_n_threads
    from scalecluster.cluster.dbscan import _estimator

    seen = []
    real = _estimator.grid_dbscan
    monkeypatch.setattr(_estimator, "grid_dbscan", lambda *a: seen.append(effective_n_threads()) or real(*a))
    reference = SkDBSCAN(eps=EPS3, min_samples=8).fit(X3)
    for n_jobs in (1, 2, -1, None):
        assert_same_as_sklearn(DBSCAN(eps=EPS3, min_samples=8, n_jobs=n_jobs).fit(X3), reference)
    assert seen[:2] == [1, 2] and seen[2] >= 1
    with config_context(n_threads=1):
        DBSCAN(eps=EPS3, min_samples=8).fit(X3)
    assert seen[-1] == 1  # None keeps the setting


def _peak_mib(fn):
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak / 2**20


def test_brute_force_memory_is_bounded_when_every_point_is_a_neighbour():
    """Cosine at eps = 2: 3,000 neighbourhoods of 3,000 points (scikit-learn holds all 9M indices, 69 MiB)."""
    X = np.random.default_rng(0).normal(size=(3000, 4))
    DBSCAN(eps=2.0, min_samples=5, metric="cosine").fit(X[:50])  # compiles the union-find first (not data)
    with config_context(working_memory=2):
        ours, peak = _peak_mib(lambda: DBSCAN(eps=2.0, min_samples=5, metric="cosine").fit(X))
    assert (ours.labels_ == 0).all() and ours.core_sample_indices_.size == 3000
    assert peak < 16, peak


@pytest.mark.parametrize("sparse", [False, True])
def test_precomputed_memory_is_bounded_beyond_the_matrix_given(sparse):
    """Only the user's matrix is n × n: the chunks add a few MiB, whatever eps."""
    D = pairwise_distances(blobs_with_noise(2500, 2, seed=3))
    D = sp.csr_matrix(D) if sparse else D  # every entry stored: 6M neighbours
    est = DBSCAN(eps=1e3, min_samples=5, metric="precomputed")
    est.fit(D[:50, :50])  # compiles the union-find first (not data)
    with config_context(working_memory=2):
        (labels, core), peak = _peak_mib(lambda: est._host_dbscan(D, None, est._plan(D.shape[1])))
    assert (labels == 0).all() and core.all()
    assert peak < 16, peak  # the matrix itself: 48 MiB dense, 72 MiB sparse
    # fit adds components_: the core points' rows of the matrix, as in scikit-learn (here: all of it).
    with config_context(working_memory=2):
        ours, peak = _peak_mib(lambda: est.fit(D))
    comps = ours.components_
    kept = (comps.data.nbytes + comps.indices.nbytes + comps.indptr.nbytes if sparse else comps.nbytes) / 2**20
    assert peak - kept < 16, (peak, kept)
