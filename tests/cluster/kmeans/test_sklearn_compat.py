"""What a user switching from scikit-learn (or dask-ml) relies on, checked in scikit-learn's terms.

Each test runs scikit-learn on the same data and compares: ``algorithm="elkan"``
and ``copy_x``, a callable ``init``, the ``verbose`` messages, ``n_iter_`` with
fewer distinct points than clusters, the ``init_size`` warning, the dtype of
``transform``, and the default seeding's quality against scikit-learn's
best of ten k-means++ starts.
"""

from __future__ import annotations

import re
import warnings

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SKKMeans
from sklearn.cluster import MiniBatchKMeans as SKMiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from scalecluster import KMeans, MiniBatchKMeans
from tests.conftest import to_backend, to_numpy

X_TOY = np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]])
X_BLOBS = make_blobs(2000, 5, centers=6, random_state=1)[0]


@pytest.fixture(autouse=True, scope="module")
def _one_openmp_thread():
    """scikit-learn's OpenMP threads spin when the cores are shared (a busy CI machine): one is steadier.

    Its results do not depend on the thread count (its own test_result_equal_in_diff_n_threads);
    this library's kernels do not use OpenMP.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _numbers_masked(text):
    """Printed lines with every number replaced (the last digits of sums differ between kernels)."""
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", text).splitlines()


# ------------------------------------------------------------ elkan, copy_x
@pytest.mark.parametrize("container", [np.array, sp.csr_matrix])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elkan_gives_lloyds_result_as_in_sklearn(container, dtype):
    """scikit-learn's own toy check (test_kmeans_results), for both names."""
    X = container(X_TOY.astype(dtype))
    init = np.array([[0, 0], [1, 1]], dtype=dtype)
    for algorithm in ("lloyd", "elkan"):
        ours = KMeans(2, init=init, algorithm=algorithm).fit(X, sample_weight=[3, 1, 1, 3])
        ref = SKKMeans(2, init=init, n_init=1, algorithm=algorithm).fit(X, sample_weight=[3, 1, 1, 3])
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_allclose(ours.cluster_centers_, [[0.125, 0], [0.875, 1]])
        assert ours.inertia_ == pytest.approx(0.375)
        assert ours.n_iter_ == ref.n_iter_ == 2


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_elkan_equals_lloyd(backend_name):
    X = to_backend(X_BLOBS, backend_name)
    a = KMeans(6, algorithm="lloyd", random_state=0).fit(X)
    b = KMeans(6, algorithm="elkan", random_state=0).fit(X)
    np.testing.assert_array_equal(to_numpy(a.cluster_centers_), to_numpy(b.cluster_centers_))
    np.testing.assert_array_equal(to_numpy(a.labels_), to_numpy(b.labels_))
    assert a.n_iter_ == b.n_iter_


def test_elkan_with_one_cluster_warns_as_sklearn():
    with pytest.warns(RuntimeWarning, match="algorithm='elkan' doesn't make sense for a single cluster"):
        KMeans(1, algorithm="elkan").fit(X_BLOBS)


@pytest.mark.parametrize("copy_x", [True, False])
def test_copy_x_is_accepted_and_x_is_never_modified(copy_x):
    X = X_BLOBS.copy()
    ours = KMeans(6, init="k-means++", copy_x=copy_x, random_state=0).fit(X)
    np.testing.assert_array_equal(X, X_BLOBS)
    ref = SKKMeans(6, copy_x=copy_x, random_state=0).fit(X_BLOBS)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    assert "copy_x" not in MiniBatchKMeans().get_params()  # as in scikit-learn


# ---------------------------------------------------------- callable init
def _first_rows(X, n_clusters, random_state):
    assert isinstance(random_state, np.random.RandomState)
    # A copy: scikit-learn iterates in the returned array, and a view would change its X.
    return X[:n_clusters].copy()


def test_callable_init_matches_sklearn():
    """A callable computed from X gives scikit-learn's result (n_init="auto" is 10, as there)."""
    ours = KMeans(6, init=_first_rows).fit(X_BLOBS)
    ref = SKKMeans(6, init=_first_rows).fit(X_BLOBS)
    assert ours._n_init == ref._n_init == 10
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert MiniBatchKMeans(6, init=_first_rows).fit(X_BLOBS)._n_init == 3


def test_callable_init_gets_the_dask_array_and_its_result_is_moved_to_the_host():
    seen = []

    def init(X, n_clusters, random_state):
        seen.append(type(X))
        return X[:n_clusters]  # lazy: computed by the fit

    ours = KMeans(6, init=init, n_init=1).fit(to_backend(X_BLOBS, "dask", 500))
    assert seen == [da.Array]
    ref = KMeans(6, init=X_BLOBS[:6]).fit(X_BLOBS)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)


def test_callable_init_on_sparse_input_and_in_minibatches():
    X = sp.csr_matrix(X_BLOBS)
    ours = KMeans(6, init=lambda X, k, random_state: X[:k], n_init=1).fit(X)  # a sparse result is densified
    ref = KMeans(6, init=X_BLOBS[:6]).fit(X_BLOBS)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    mini = MiniBatchKMeans(6, init=_first_rows, n_init=1, random_state=0).fit(X_BLOBS)
    mini_ref = SKMiniBatchKMeans(6, init=_first_rows, n_init=1, random_state=0).fit(X_BLOBS)
    np.testing.assert_allclose(mini.cluster_centers_, mini_ref.cluster_centers_, rtol=1e-9)


@pytest.mark.parametrize(
    "init, message",
    [
        (lambda X, k, random_state: X[:2], r"The shape of the initial centers \(2, 5\) does not match the number of clusters 6"),
        (lambda X, k, random_state: X[:6, :2], r"The shape of the initial centers \(6, 2\) does not match the number of features of the data 5"),
    ],
)
def test_callable_init_with_a_wrong_shape(init, message):
    with pytest.raises(ValueError, match=message):
        KMeans(6, init=init, n_init=1).fit(X_BLOBS)


# ---------------------------------------------------------------- verbose
@pytest.mark.parametrize("tol", [1e-2, 0])
def test_kmeans_verbose_prints_sklearns_messages(tol, capsys):
    """The same lines as scikit-learn, iteration for iteration (numbers aside)."""
    X = np.random.RandomState(0).normal(size=(5000, 10))
    params = {"n_clusters": 3, "random_state": 42, "init": "random", "n_init": 1, "tol": tol, "verbose": 1}
    SKKMeans(**params).fit(X)
    expected = capsys.readouterr().out
    KMeans(**params).fit(X)
    out = capsys.readouterr().out
    assert re.search(r"Initialization complete", out)
    assert re.search(r"Iteration [0-9]+, inertia", out)
    assert re.search(r"strict convergence" if tol == 0 else r"center shift .* within tolerance", out)
    assert _numbers_masked(out) == _numbers_masked(expected)
    assert out.splitlines()[-1] == expected.splitlines()[-1] or tol > 0  # the iteration it stopped at


def test_verbose_true_is_accepted(capsys):
    KMeans(3, verbose=True, random_state=0).fit(to_backend(X_BLOBS, "dask", 500))
    assert "Initialization complete" in capsys.readouterr().out


def test_minibatch_verbose_prints_sklearns_messages(capsys):
    X = np.random.RandomState(0).normal(size=(3000, 4))
    params = {"n_clusters": 3, "random_state": 42, "verbose": 1, "init": "k-means++", "batch_size": 100}
    SKMiniBatchKMeans(**params).fit(X)
    expected = capsys.readouterr().out
    MiniBatchKMeans(**params).fit(X)
    out = capsys.readouterr().out
    assert _numbers_masked(out) == _numbers_masked(expected)
    assert "Converged (lack of improvement in inertia) at step" in out
    MiniBatchKMeans(**{**params, "tol": 1e-2, "max_no_improvement": None}).fit(X)
    assert "Converged (small centers change) at step" in capsys.readouterr().out


def test_minibatch_verbose_reports_reassignments(capsys):
    X = np.vstack([np.random.RandomState(0).normal(size=(2000, 2)), [[50.0, 50.0]]])
    init = np.array([[0.0, 0.0], [1.0, 1.0], [50.0, 50.0]])
    MiniBatchKMeans(3, init=init, batch_size=50, random_state=0, verbose=1, reassignment_ratio=0.5).fit(X)
    assert re.search(r"\[MiniBatchKMeans\] Reassigning [0-9]+ cluster centers\.", capsys.readouterr().out)


# ------------------------------------------------------- duplicates, n_iter_
@pytest.mark.parametrize("backend_name", ["numpy", "sparse", "dask"])
def test_relocating_with_duplicates_stops_at_once(backend_name):
    """scikit-learn's test_relocating_with_duplicates: 4 distinct points, 5 clusters, one iteration."""
    X = np.array([[0, 0], [1, 1], [1, 1], [1, 0], [0, 1]], dtype=float)
    data = sp.csr_matrix(X) if backend_name == "sparse" else to_backend(X, backend_name, 2)
    ours = KMeans(5, init=X)
    with pytest.warns(ConvergenceWarning, match=r"Number of distinct clusters \(4\) found smaller than n_clusters \(5\)"):
        ours.fit(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SKKMeans(5, init=X).fit(X)
    assert ours.n_iter_ == ref.n_iter_ == 1
    np.testing.assert_array_equal(to_numpy(ours.cluster_centers_), ref.cluster_centers_)
    np.testing.assert_array_equal(to_numpy(ours.labels_), ref.labels_)


def test_an_empty_centre_on_coincident_points_joins_the_heaviest_cluster():
    """Every point on a centre, one centre far away: nothing to relocate; as scikit-learn, it moves."""
    X = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    init = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = KMeans(3, init=init).fit(X)
        ref = SKKMeans(3, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.cluster_centers_, ref.cluster_centers_)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.inertia_ == ref.inertia_ == 0.0


# ------------------------------------------------------------- init_size
def test_minibatch_init_size_below_n_clusters_warns_as_sklearn():
    with pytest.warns(RuntimeWarning, match=r"init_size=10 should be larger than n_clusters=20"):
        ours = MiniBatchKMeans(20, init_size=10, random_state=0).fit(X_BLOBS)
    with pytest.warns(RuntimeWarning, match=r"init_size.* should be larger than n_clusters"):
        MiniBatchKMeans(20, init_size=10, random_state=0).partial_fit(X_BLOBS)
    assert ours._init_size == 60  # 3 * n_clusters, as scikit-learn


@pytest.mark.parametrize(
    "params, expected",
    [({"batch_size": 5}, 15), ({"batch_size": 1}, 30), ({"batch_size": 5, "init_size": 10**6}, 300)],
)
def test_minibatch_init_size_resolves_as_sklearn(params, expected):
    """3 * batch_size, or 3 * n_clusters when that is fewer than n_clusters; never more than n."""
    X = X_BLOBS[:300]
    ours = MiniBatchKMeans(10, n_init=1, max_iter=1, random_state=0, **params).fit(X)
    ref = SKMiniBatchKMeans(10, n_init=1, max_iter=1, random_state=0, **params).fit(X)
    assert ours._init_size == ref._init_size == expected


def test_minibatch_with_the_new_init_size_follows_sklearn():
    """batch 2 for 5 clusters: init_size 6 (it was 15), so the seeding draws what scikit-learn draws."""
    X = X_BLOBS[:500]
    ours = MiniBatchKMeans(5, init="k-means++", batch_size=2, max_iter=2, random_state=3).fit(X)
    ref = SKMiniBatchKMeans(5, init="k-means++", batch_size=2, max_iter=2, random_state=3).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)


# ------------------------------------------------------------ transform dtype
@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
@pytest.mark.parametrize("fit_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("data_dtype", [np.float32, np.float64])
def test_transform_dtype_follows_sklearn(backend_name, fit_dtype, data_dtype):
    """dask-ml's TestKMeans::test_dtypes: float32 only when both the data and the model are."""
    X = np.random.RandomState(0).uniform(size=(100, 2))
    ref = SKKMeans(3, random_state=0).fit(X.astype(fit_dtype))
    ours = KMeans(3, random_state=0).fit(to_backend(X.astype(fit_dtype), backend_name))
    out = ours.transform(to_backend(X.astype(data_dtype), backend_name))
    expected = ref.transform(X.astype(data_dtype))
    assert ours.cluster_centers_.dtype == ref.cluster_centers_.dtype
    assert ours.labels_.dtype == ref.labels_.dtype
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(to_numpy(out), ours.transform(X.astype(fit_dtype)), rtol=1e-6)


def test_transform_of_the_centres_has_a_zero_diagonal():
    """scikit-learn's test_transform: each centre is at distance 0 from itself, exactly."""
    for model in (KMeans(4, random_state=0), MiniBatchKMeans(4, random_state=0)):
        model.fit(X_BLOBS.astype(np.float32))
        np.testing.assert_array_equal(np.diag(model.transform(model.cluster_centers_)), np.zeros(4))


# ------------------------------------------------------------ default quality
#: (n, features, clusters, data seed): blobs where one k-means++ start often
#: lands in a poor local minimum (two centres in one blob, one for two).
QUALITY_SETTINGS = [(10_000, 5, 32, 102), (10_000, 2, 12, 7), (8_000, 3, 20, 11)]


def test_default_kmeans_within_one_percent_of_sklearn_best_of_ten():
    """The default KMeans(k) (one k-means|| start) against scikit-learn's n_init=10 k-means++.

    Measured over 10 seeds here: 0.993, 0.983 and 1.007 on average (one
    recluster trial, as before: 1.049, 1.022 and 1.054).
    """
    ratios = []
    for n, d, k, data_seed in QUALITY_SETTINGS:
        X = make_blobs(n, d, centers=k, random_state=data_seed)[0]
        for seed in range(10):
            ours = KMeans(k, random_state=seed).fit(X).inertia_
            ratios.append(ours / SKKMeans(k, n_init=10, random_state=seed).fit(X).inertia_)
    assert np.mean(ratios) <= 1.01, np.round(ratios, 3)


def test_default_minibatch_at_least_as_good_as_sklearn():
    """MiniBatchKMeans' default against scikit-learn's (10 seeds: 0.98 on average; 1.05 before)."""
    X = make_blobs(20_000, 4, centers=12, random_state=5)[0]
    ours = [MiniBatchKMeans(12, batch_size=512, random_state=s).fit(X).inertia_ for s in range(10)]
    ref = [SKMiniBatchKMeans(12, batch_size=512, random_state=s).fit(X).inertia_ for s in range(10)]
    assert np.mean(np.divide(ours, ref)) <= 1.0, np.round(np.divide(ours, ref), 3)


def test_recluster_trials_stay_within_a_few_passes_over_the_data():
    from scalecluster.cluster.kmeans._seeding import RECLUSTER_TRIALS, recluster_trials

    assert recluster_trials(321, 32, 5, 50_000) == RECLUSTER_TRIALS  # the usual case: all of them
    assert recluster_trials(10_001, 1000, 10, 1_000_000) == RECLUSTER_TRIALS
    assert recluster_trials(10_001, 1000, 10, 100_000) == 1  # large k, few rows: one, as before
    assert recluster_trials(2_561, 256, 16, 100_000) == 4
