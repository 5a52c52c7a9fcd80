"""KMeans against scikit-learn, across backends."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import load_digits, load_iris, load_wine, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from scalecluster import KMeans
from tests.conftest import to_backend, to_numpy


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=3000, n_features=5, centers=6, cluster_std=1.5, random_state=42)
    return X, y


def _same_init(X, k, seed=0):
    rng = np.random.RandomState(seed)
    return X[rng.choice(X.shape[0], k, replace=False)].copy()


# --------------------------------------------------------------- exactness
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_explicit_init_matches_sklearn(backend_name, blobs, dtype):
    X = blobs[0].astype(dtype)
    init = _same_init(X, 6)
    ref = SKKMeans(n_clusters=6, init=init, n_init=1, max_iter=100, tol=1e-4).fit(X)
    ours = KMeans(n_clusters=6, init=init, n_init=1, max_iter=100, tol=1e-4).fit(to_backend(X, backend_name))
    rtol = 1e-6 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(to_numpy(ours.cluster_centers_), ref.cluster_centers_, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(to_numpy(ours.labels_), ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=rtol)
    assert ours.n_iter_ == ref.n_iter_
    assert to_numpy(ours.cluster_centers_).dtype == dtype


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_seeding_matches_sklearn(blobs, init, seed):
    """On NumPy, the same random_state gives scikit-learn's own seeding."""
    X = blobs[0]
    ref = SKKMeans(n_clusters=6, init=init, n_init=2, random_state=seed).fit(X)
    ours = KMeans(n_clusters=6, init=init, n_init=2, random_state=seed).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    assert ours.n_iter_ == ref.n_iter_


def test_sample_weight_matches_sklearn(backend_name, blobs):
    X = blobs[0]
    w = np.random.RandomState(0).uniform(0.1, 3.0, X.shape[0])
    init = _same_init(X, 6)
    ref = SKKMeans(n_clusters=6, init=init, n_init=1).fit(X, sample_weight=w)
    sw = w if backend_name == "dask" else to_backend(w, backend_name.replace("dask-", ""))
    ours = KMeans(n_clusters=6, init=init).fit(to_backend(X, backend_name), sample_weight=sw)
    np.testing.assert_allclose(to_numpy(ours.cluster_centers_), ref.cluster_centers_, rtol=1e-6)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


def test_sparse_csr_matches_sklearn():
    rng = np.random.RandomState(0)
    X = sp.random(500, 40, density=0.1, format="csr", random_state=rng)
    init = X[:5].toarray()
    ref = SKKMeans(n_clusters=5, init=init, n_init=1).fit(X)
    ours = KMeans(n_clusters=5, init=init).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-6)
    # The default k-means|| seeding also runs on CSR.
    assert KMeans(n_clusters=5, random_state=0).fit(X).cluster_centers_.shape == (5, 40)


def test_predict_transform_score_match_sklearn(backend_name, blobs):
    X = blobs[0]
    init = _same_init(X, 6)
    ref = SKKMeans(n_clusters=6, init=init, n_init=1).fit(X)
    ours = KMeans(n_clusters=6, init=init).fit(to_backend(X, backend_name))
    Xb = to_backend(X[:500], backend_name)
    np.testing.assert_array_equal(to_numpy(ours.predict(Xb)), ref.predict(X[:500]))
    np.testing.assert_allclose(to_numpy(ours.transform(Xb)), ref.transform(X[:500]), rtol=1e-6)
    assert ours.score(Xb) == pytest.approx(ref.score(X[:500]), rel=1e-6)
    np.testing.assert_array_equal(to_numpy(KMeans(n_clusters=6, init=init).fit_predict(Xb)), ref.fit(X[:500]).labels_)


def test_output_mirrors_input(backend_name, blobs):
    X = to_backend(blobs[0].astype(np.float32), backend_name)
    km = KMeans(n_clusters=4, random_state=0).fit(X)
    if backend_name.startswith("dask"):
        assert isinstance(km.labels_, da.Array)  # lazy
        assert isinstance(km.predict(X), da.Array)
        chunk_module = "cupy" if backend_name == "dask-cupy" else "numpy"
        assert type(km.cluster_centers_).__module__.startswith(chunk_module)
    else:
        assert type(km.labels_).__module__.split(".")[0] == backend_name
        assert type(km.cluster_centers_).__module__.split(".")[0] == backend_name
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(X).dtype == np.float32


# ----------------------------------------------------------- k-means|| quality
def _scaled(loader):
    return StandardScaler().fit_transform(loader().data)


@pytest.mark.parametrize(
    "name, X, k",
    [
        ("blobs", make_blobs(5000, 8, centers=10, random_state=3)[0], 10),
        ("iris", _scaled(load_iris), 3),
        ("wine", _scaled(load_wine), 3),
        ("digits", _scaled(load_digits), 10),
    ],
)
def test_kmeans_parallel_quality_against_sklearn_kmeanspp(name, X, k):
    """Final inertia within 1% of scikit-learn's k-means++ with the same n_init (mean over seeds)."""
    seeds = range(5)
    ours = np.mean([KMeans(n_clusters=k, n_init=3, random_state=s).fit(X).inertia_ for s in seeds])
    ref = np.mean([SKKMeans(n_clusters=k, init="k-means++", n_init=3, random_state=s).fit(X).inertia_ for s in seeds])
    assert ours <= ref * 1.01, (name, ours, ref)


def test_kmeans_parallel_rounds_and_candidates():
    X = make_blobs(20000, 4, centers=8, random_state=0)[0]
    for factor, rounds in [(2.0, 5), (4.0, 3)]:
        km = KMeans(n_clusters=8, oversampling_factor=factor, init_max_iter=rounds, max_iter=1, random_state=0).fit(X)
        assert km.init_rounds_ == rounds
        expected = 1 + factor * 8 * rounds  # ℓ = factor·k expected draws per round
        # The count is a sum of independent Bernoulli draws: allow 4 standard deviations.
        assert abs(km.init_candidates_ - expected) <= 4 * np.sqrt(expected), (km.init_candidates_, expected)


def test_kmeans_parallel_seeding_draws_by_distance():
    """A far, tiny cluster is found by D²-weighted sampling (uniform draws would miss it)."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (20000, 2)), rng.normal(1000, 1, (5, 2))])
    km = KMeans(n_clusters=2, max_iter=1, random_state=0).fit(X)
    assert np.sort(km.cluster_centers_[:, 0])[1] > 900


# ------------------------------------------------------------------ Dask
@pytest.mark.parametrize("init", ["k-means||", "k-means++", "random"])
def test_dask_equals_numpy_for_same_seed(blobs, init):
    X = blobs[0]
    ref = KMeans(n_clusters=6, init=init, random_state=7).fit(X)
    for chunk_rows in (250, 1000, 3000):
        ours = KMeans(n_clusters=6, init=init, random_state=7).fit(to_backend(X, "dask", chunk_rows))
        assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
        if init == "k-means||":  # chunk-independent draws: the same candidates
            assert ours.init_candidates_ == ref.init_candidates_
            np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
        assert adjusted_rand_score(to_numpy(ours.labels_), ref.labels_) == 1.0


class _CountingScheduler:
    """A Dask scheduler that counts graph executions (then runs them synchronously)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, dsk, keys, **kwargs):
        self.calls += 1
        return dask.get(dsk, keys, **kwargs)


def test_dask_one_compute_per_lloyd_iteration(blobs):
    X = blobs[0]
    Xd = to_backend(X, "dask", 500)
    counter = _CountingScheduler()
    with dask.config.set(scheduler=counter):
        km = KMeans(n_clusters=6, init=_same_init(X, 6), tol=0, max_iter=20).fit(Xd)
    # 1 run loading the data with the NaN/variance check, then 1 per iteration,
    # then 1 for the final inertia (+1 fetching the already computed stats).
    assert counter.calls <= km.n_iter_ + 3, (counter.calls, km.n_iter_)
    assert isinstance(km.labels_, da.Array)


def test_dask_kmeans_parallel_compute_count(blobs):
    counter = _CountingScheduler()
    with dask.config.set(scheduler=counter):
        km = KMeans(n_clusters=6, max_iter=1, init_max_iter=5, random_state=0).fit(to_backend(blobs[0], "dask", 500))
    # Load + check (2); first centre: draw, fetch, first distances (5); per round:
    # draw, fetch the kept rows, lower the distances (persist + potential) (4);
    # candidate weights (1); then Lloyd: one per iteration and the final pass.
    assert counter.calls <= 2 + 5 + 4 * km.init_rounds_ + 1 + km.n_iter_ + 1


def test_dask_dataframe_input_keeps_feature_names(blobs):
    import dask.dataframe as dd
    import pandas as pd

    frame = pd.DataFrame(blobs[0], columns=[f"f{i}" for i in range(5)])
    km = KMeans(n_clusters=3, random_state=0).fit(dd.from_pandas(frame, npartitions=3))
    assert list(km.feature_names_in_) == list(frame.columns)
    assert KMeans(n_clusters=3, random_state=0).fit(frame).feature_names_in_.tolist() == list(frame.columns)


# ---------------------------------------------------------------- edge cases
def test_empty_cluster_is_relocated(backend_name):
    X = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [10.0, 10.0], [10.1, 10.0], [50.0, 50.0]])
    init = np.array([[0.0, 0.0], [10.0, 10.0], [1000.0, 1000.0]])  # the third attracts nothing
    ref = SKKMeans(n_clusters=3, init=init, n_init=1).fit(X)
    ours = KMeans(n_clusters=3, init=init).fit(to_backend(X, backend_name))
    centers = to_numpy(ours.cluster_centers_)
    assert np.isfinite(centers).all()
    np.testing.assert_allclose(np.sort(centers, axis=0), np.sort(ref.cluster_centers_, axis=0))
    assert ours.inertia_ == pytest.approx(ref.inertia_)


def test_duplicate_points_warn_fewer_distinct_clusters():
    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0)
    with pytest.warns(ConvergenceWarning, match="Number of distinct clusters"):
        KMeans(n_clusters=3, random_state=0).fit(X)


def test_k_equals_n_and_single_cluster(backend_name):
    X = np.random.RandomState(0).normal(size=(7, 3))
    km = KMeans(n_clusters=7, random_state=0).fit(to_backend(X, backend_name))
    assert km.inertia_ == pytest.approx(0.0, abs=1e-12)
    km = KMeans(n_clusters=1).fit(to_backend(X, backend_name))
    np.testing.assert_allclose(to_numpy(km.cluster_centers_)[0], X.mean(axis=0))


def test_integer_input_becomes_float64():
    X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    km = KMeans(n_clusters=2, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float64
    assert sorted(km.cluster_centers_.tolist()) == [[1.0, 2.0], [10.0, 2.0]]


def test_large_offset_keeps_precision():
    """Centred distances: a huge common offset does not blur float32 assignments."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 0.1, (200, 2)), rng.normal(1, 0.1, (200, 2))]) + 1e4
    X32 = X.astype(np.float32)
    init = np.array([[1e4, 1e4], [1e4 + 1, 1e4 + 1]])
    ref = SKKMeans(n_clusters=2, init=init, n_init=1).fit(X)
    ours = KMeans(n_clusters=2, init=init).fit(X32)
    assert adjusted_rand_score(ours.labels_, ref.labels_) == 1.0


def test_distributed_fit_sweeps_through_worker_actors(blobs, monkeypatch):
    """On a distributed cluster Lloyd sweeps go through one actor per worker; same answer."""
    from distributed import Client, LocalCluster

    from scalecluster.cluster.kmeans import _dask_sweepers

    calls = []
    original = _dask_sweepers.SweeperPool.accumulate
    monkeypatch.setattr(
        _dask_sweepers.SweeperPool, "accumulate", lambda self, *a: calls.append(1) or original(self, *a)
    )
    X = blobs[0]
    init = _same_init(X, 6)
    ref = KMeans(n_clusters=6, init=init, tol=0).fit(X)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            Xd = client.persist(to_backend(X, "dask", 400))
            ours = KMeans(n_clusters=6, init=init, tol=0).fit(Xd)
            labels = to_numpy(ours.labels_)
    assert len(calls) == ours.n_iter_
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    np.testing.assert_array_equal(labels, ref.labels_)


def _distributed_fits(X, params, chunk_rows=400):
    """The same fit on a 2-worker cluster: seeded through task graphs (the operations one at a
    time, as :class:`~scalecluster.cluster.kmeans._ops.KMeansOps` composes them), then as it runs."""
    from distributed import Client, LocalCluster

    from scalecluster.cluster.kmeans._ops import KMeansOps
    from scalecluster.cluster.kmeans._ops_dask import DaskOps

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        Xd = client.persist(to_backend(X, "dask", chunk_rows))
        with pytest.MonkeyPatch.context() as graphs_only:
            for name in ("nearest_then_draw", "sample_rows_and_values"):
                graphs_only.setattr(DaskOps, name, getattr(KMeansOps, name))
            graphs = KMeans(**params).fit(Xd)
            graphs.labels_ = to_numpy(graphs.labels_)
        ours = KMeans(**params).fit(Xd)
        labels = to_numpy(ours.labels_)
    return graphs, ours, labels


def _assert_same_fit(a, b, b_labels):
    """Two fits that must agree to the bit: the same candidates, centres, inertia and labels."""
    assert (a.init_rounds_, a.init_candidates_, a.n_iter_) == (b.init_rounds_, b.init_candidates_, b.n_iter_)
    np.testing.assert_array_equal(to_numpy(a.cluster_centers_), to_numpy(b.cluster_centers_))
    assert a.inertia_ == b.inertia_
    np.testing.assert_array_equal(to_numpy(a.labels_), b_labels)


def test_distributed_kmeans_parallel_runs_through_the_actors(blobs, monkeypatch):
    """On a cluster each k-means|| round is one call per actor (lower the distances, draw the next
    round); the answer equals the task graphs' to the bit, and NumPy's."""
    from scalecluster.cluster.kmeans import _dask_sweepers

    methods = []
    original = _dask_sweepers.SweeperPool.call
    monkeypatch.setattr(
        _dask_sweepers.SweeperPool, "call", lambda self, m, *a: methods.append(m) or original(self, m, *a)
    )
    X = blobs[0]
    params = {"n_clusters": 6, "random_state": 3, "tol": 0}
    graphs, ours, labels = _distributed_fits(X, params)
    _assert_same_fit(graphs, ours, labels)
    ref = KMeans(**params).fit(X)
    assert ours.init_candidates_ == ref.init_candidates_
    np.testing.assert_allclose(to_numpy(ours.cluster_centers_), ref.cluster_centers_, rtol=1e-9)
    # The first centre's distances, then one call per round that found rows; the candidates' weights.
    assert 2 <= methods.count("nearest_then_draw") <= ours.init_rounds_ + 1
    assert methods.count("weight_per_nearest") == 1 and "draw" not in methods


def test_distributed_seeding_survives_losing_the_actors(blobs, monkeypatch):
    """An actor call that fails mid-seeding: the updates so far are replayed through task graphs, same answer."""
    from scalecluster.cluster.kmeans import _dask_sweepers

    calls = []
    original = _dask_sweepers.BlockSweeper.nearest_then_draw

    def flaky(self, *args):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("worker lost")
        return original(self, *args)

    monkeypatch.setattr(_dask_sweepers.BlockSweeper, "nearest_then_draw", flaky)
    graphs, ours, labels = _distributed_fits(blobs[0], {"n_clusters": 6, "random_state": 5, "tol": 0})
    assert len(calls) >= 5
    _assert_same_fit(graphs, ours, labels)


def test_distributed_seeding_asks_again_when_many_rows_qualify(blobs, monkeypatch):
    """More candidate rows than a worker may send with its answer: the exact rows are asked for, same answer."""
    from scalecluster.cluster.kmeans import _dask_sweepers, _ops_dask

    methods = []
    original = _dask_sweepers.SweeperPool.call
    monkeypatch.setattr(
        _dask_sweepers.SweeperPool, "call", lambda self, m, *a: methods.append(m) or original(self, m, *a)
    )
    monkeypatch.setattr(_ops_dask, "_candidate_limit", lambda ell: 0)
    graphs, ours, labels = _distributed_fits(blobs[0], {"n_clusters": 6, "random_state": 1, "tol": 0})
    assert "draw" in methods
    _assert_same_fit(graphs, ours, labels)
