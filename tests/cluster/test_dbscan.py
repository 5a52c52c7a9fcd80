"""DBSCAN against scikit-learn: same core points, same clusters, same labels."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SkDBSCAN
from sklearn.datasets import make_blobs, make_moons
from sklearn.neighbors import KDTree

from scalecluster import DBSCAN
from scalecluster.cluster._dbscan_grid import grid_dbscan

from ..conftest import to_backend, to_numpy


def blobs_with_noise(n: int, d: int, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    X, _ = make_blobs(n, n_features=d, centers=4, cluster_std=0.8, random_state=seed)
    rng = np.random.default_rng(seed)
    extra = rng.uniform(X.min(axis=0), X.max(axis=0), size=(int(n * noise), d))
    return np.vstack([X, extra])


def eps_for_neighbours(X: np.ndarray, target: float) -> float:
    """eps at which a point has about ``target`` neighbours on average."""
    tree = KDTree(X)
    sample = X[:: max(1, X.shape[0] // 500)]
    low, high = 1e-6, float(np.ptp(X, axis=0).max())
    for _ in range(40):
        mid = (low * high) ** 0.5
        low, high = (
            (mid, high)
            if tree.query_radius(sample, mid, count_only=True).mean() < target
            else (low, mid)
        )
    return mid


def assert_same_as_sklearn(ours, reference) -> None:
    """Identical labels (border points included) and core points."""
    labels = to_numpy(ours.labels_)
    np.testing.assert_array_equal(
        to_numpy(ours.core_sample_indices_), reference.core_sample_indices_
    )
    np.testing.assert_array_equal(labels, reference.labels_)


def assert_partition_contract(
    X: np.ndarray, labels: np.ndarray, core: np.ndarray, reference
) -> None:
    """The weaker contract of the issue, checked independently of label numbers."""
    ref_core = np.zeros(len(X), bool)
    ref_core[reference.core_sample_indices_] = True
    np.testing.assert_array_equal(labels == -1, reference.labels_ == -1)  # same noise
    # Same partition of the core points: a bijection between cluster ids.
    pairs = set(zip(labels[ref_core].tolist(), reference.labels_[ref_core].tolist()))
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})


CASES = {
    "2d-blobs": (lambda: blobs_with_noise(3000, 2), 10),
    "3d-blobs": (lambda: blobs_with_noise(3000, 3), 10),
    "5d-blobs": (lambda: blobs_with_noise(3000, 5), 10),
    "8d-blobs": (lambda: blobs_with_noise(2000, 8), 10),
    "moons": (lambda: make_moons(2000, noise=0.06, random_state=0)[0], 8),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("algorithm", ["auto", "grid", "tree"])
def test_same_labels_as_sklearn(case, algorithm):
    make, min_samples = CASES[case]
    X = make()
    eps = eps_for_neighbours(X, 30)
    reference = SkDBSCAN(eps=eps, min_samples=min_samples).fit(X)
    assert len(set(reference.labels_)) > 2, "the case must have clusters and noise"
    ours = DBSCAN(eps=eps, min_samples=min_samples, algorithm=algorithm).fit(X)
    assert_same_as_sklearn(ours, reference)
    core = np.zeros(len(X), bool)
    core[ours.core_sample_indices_] = True
    assert_partition_contract(X, ours.labels_, core, reference)
    np.testing.assert_array_equal(ours.components_, X[ours.core_sample_indices_])


@pytest.mark.parametrize("min_samples", [1, 2, 5, 40])
@pytest.mark.parametrize("eps_scale", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_grid_over_eps_and_min_samples(d, eps_scale, min_samples):
    X = blobs_with_noise(1500, d, seed=d)
    eps = eps_for_neighbours(X, 20) * eps_scale
    reference = SkDBSCAN(eps=eps, min_samples=min_samples).fit(X)
    labels, core = grid_dbscan(X, None, eps, min_samples)
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(np.flatnonzero(core), reference.core_sample_indices_)


def dense_clumps(n: int, d: int, seed: int) -> np.ndarray:
    """Heavy-tailed clumps of very different widths (some nearly duplicate rows), plus
    uniform noise: runs of hundreds of points, and cells whose runs are joined only
    through other cells, as in the traffic features of the anomalies job."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    centres = rng.normal(size=(k, d)) * rng.uniform(0.5, 4)
    sizes = rng.lognormal(0, 1, size=k)
    sizes = (sizes / sizes.sum() * n).astype(int) + 1
    parts = [c + rng.normal(size=(m, d)) * rng.lognormal(-2, 1) for c, m in zip(centres, sizes)]
    X = np.vstack(parts + [rng.uniform(-5, 5, size=(n // 20, d))])
    return np.round(X, 2) if seed % 3 == 0 else X  # exact duplicates too


@pytest.mark.parametrize("seed", range(14))
def test_dense_clumps_in_every_dimension(seed):
    d = 1 + seed % 7  # at 8-D the keys of this spread overflow (the estimator would take the tree)
    X = dense_clumps(3000, d, seed)
    eps = eps_for_neighbours(X, 40)
    min_samples = (5, 20, 60)[seed % 3]
    reference = SkDBSCAN(eps=eps, min_samples=min_samples).fit(X)
    labels, core = grid_dbscan(X, None, eps, min_samples)
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(np.flatnonzero(core), reference.core_sample_indices_)


def test_traffic_features_like_the_anomalies_job():
    """Scaled 6-D flow features: about 98 % core points in runs of up to hundreds."""
    from scalecluster.datasets import make_flows
    from scalecluster.features import scale, traffic_features

    features, _ = traffic_features(make_flows(20_000, random_state=3).flows, missing="drop")
    X = scale(features, log=True)[0].to_numpy(np.float64)
    for eps in (0.12, 0.25):
        reference = SkDBSCAN(eps=eps, min_samples=20).fit(X)
        assert len(set(reference.labels_)) > 2
        assert_same_as_sklearn(DBSCAN(eps=eps, min_samples=20, algorithm="grid").fit(X), reference)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_and_float64(dtype):
    X = blobs_with_noise(2000, 2).astype(dtype)
    eps = eps_for_neighbours(X.astype(np.float64), 25)
    assert_same_as_sklearn(
        DBSCAN(eps=eps, min_samples=10).fit(X), SkDBSCAN(eps=eps, min_samples=10).fit(X)
    )


def test_duplicates_and_identical_points():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(300, 2))
    X = np.vstack(
        [base, base[:100], base[:100], np.zeros((500, 2))]
    )  # repeats and one pile of 500 equal rows
    for min_samples in (2, 3, 600):
        reference = SkDBSCAN(eps=0.2, min_samples=min_samples).fit(X)
        assert_same_as_sklearn(
            DBSCAN(eps=0.2, min_samples=min_samples).fit(X), reference
        )
    same = np.ones((1000, 3))
    ours = DBSCAN(eps=0.1, min_samples=5).fit(same)
    np.testing.assert_array_equal(ours.labels_, np.zeros(1000))
    assert ours.core_sample_indices_.size == 1000


def test_all_noise_and_one_cluster():
    X = blobs_with_noise(1000, 2)
    all_noise = DBSCAN(eps=1e-3, min_samples=3).fit(X)
    assert (all_noise.labels_ == -1).all() and all_noise.core_sample_indices_.size == 0
    assert all_noise.components_.shape == (0, 2)
    one = DBSCAN(eps=1e3, min_samples=3).fit(X)
    assert (one.labels_ == 0).all()


@pytest.mark.parametrize("eps", [1e-9, 1e-300])
def test_tiny_eps_falls_back_to_the_tree(eps):
    """A grid of cells 1e-300 wide cannot be keyed in 64 bits: auto uses the tree, grid says why."""
    X = blobs_with_noise(500, 3)
    X[:10] = X[0]  # a few exact duplicates, so there is something to find
    reference = SkDBSCAN(eps=eps, min_samples=3).fit(X)
    assert_same_as_sklearn(DBSCAN(eps=eps, min_samples=3).fit(X), reference)
    if eps < 1e-100:
        with pytest.raises(ValueError, match="overflow"):
            DBSCAN(eps=eps, min_samples=3, algorithm="grid").fit(X)


def test_sample_weight():
    X = blobs_with_noise(2000, 2)
    eps = eps_for_neighbours(X, 15)
    weights = np.random.default_rng(0).integers(0, 4, len(X)).astype(float)
    weights[:5] = 50.0  # core by itself
    for algorithm in ("grid", "tree"):
        ours = DBSCAN(eps=eps, min_samples=12, algorithm=algorithm).fit(
            X, sample_weight=weights
        )
        assert_same_as_sklearn(
            ours, SkDBSCAN(eps=eps, min_samples=12).fit(X, sample_weight=weights)
        )
    assert set(range(5)) <= set(ours.core_sample_indices_.tolist())


@pytest.mark.parametrize(
    "metric, p",
    [("manhattan", None), ("chebyshev", None), ("minkowski", 3), ("minkowski", 2)],
)
def test_other_metrics_through_the_tree(metric, p):
    X = blobs_with_noise(1500, 3)
    eps = eps_for_neighbours(X, 20)
    reference = SkDBSCAN(eps=eps, min_samples=8, metric=metric, p=p).fit(X)
    assert_same_as_sklearn(
        DBSCAN(eps=eps, min_samples=8, metric=metric, p=p).fit(X), reference
    )


def test_tree_chunks_do_not_change_the_answer():
    from scalecluster import config_context

    X = blobs_with_noise(3000, 6)
    eps = eps_for_neighbours(X, 40)
    reference = SkDBSCAN(eps=eps, min_samples=10).fit(X)
    with config_context(working_memory=0.01):  # a few hundred neighbours per chunk
        assert_same_as_sklearn(
            DBSCAN(eps=eps, min_samples=10, algorithm="tree").fit(X), reference
        )


def test_memory_is_linear_in_n():
    """Neighbourhoods are never stored: 200k points with ~300 neighbours each
    would need ~480 MB as index lists; the grid needs a few arrays of length n."""
    X = blobs_with_noise(200_000, 2)
    eps = eps_for_neighbours(X, 300)
    DBSCAN(eps=eps, min_samples=10).fit(X[:1000])  # compile outside the measurement
    tracemalloc.start()
    DBSCAN(eps=eps, min_samples=10).fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 25 * X.nbytes, (
        f"peak {peak / 2**20:.0f} MiB for {X.nbytes / 2**20:.0f} MiB of data"
    )


def test_backends_agree_with_numpy(backend_name):
    X = blobs_with_noise(3000, 2)
    eps = eps_for_neighbours(X, 25)
    expected = DBSCAN(eps=eps, min_samples=10).fit(X)
    ours = DBSCAN(eps=eps, min_samples=10).fit(
        to_backend(X, backend_name, chunk_rows=700)
    )
    assert type(ours.labels_).__module__.split(".")[0] == backend_name.split("-")[0]
    np.testing.assert_array_equal(to_numpy(ours.labels_), expected.labels_)
    np.testing.assert_array_equal(
        to_numpy(ours.core_sample_indices_), expected.core_sample_indices_
    )
    np.testing.assert_array_equal(
        to_numpy(ours.components_), X[expected.core_sample_indices_]
    )


@pytest.mark.parametrize("chunk_rows", [97, 500, 1600, 5000])
@pytest.mark.parametrize("d", [2, 3, 8])
def test_dask_result_does_not_depend_on_partitions(chunk_rows, d):
    X = blobs_with_noise(3000, d, seed=1)
    eps = eps_for_neighbours(X, 25)
    weights = np.random.default_rng(1).integers(1, 3, len(X)).astype(float)
    reference = SkDBSCAN(eps=eps, min_samples=12).fit(X, sample_weight=weights)
    ours = DBSCAN(eps=eps, min_samples=12).fit(
        to_backend(X, "dask", chunk_rows=chunk_rows), sample_weight=weights
    )
    assert (
        ours.labels_.chunks[0] == to_backend(X, "dask", chunk_rows=chunk_rows).chunks[0]
    )
    assert_same_as_sklearn(ours, reference)


@pytest.mark.parametrize("metric, p", [("manhattan", None), ("chebyshev", None), ("minkowski", 3)])
def test_dask_other_metrics(metric, p):
    X = blobs_with_noise(2000, 3, seed=4)
    eps = eps_for_neighbours(X, 20)
    reference = SkDBSCAN(eps=eps, min_samples=8, metric=metric, p=p).fit(X)
    ours = DBSCAN(eps=eps, min_samples=8, metric=metric, p=p).fit(to_backend(X, "dask", chunk_rows=400))
    assert_same_as_sklearn(ours, reference)


def test_dask_slabs_of_noise_only():
    """Some slabs hold only noise (no local cluster at all); others hold clusters."""
    rng = np.random.default_rng(5)
    dense = rng.normal(size=(1500, 2)) * 0.2
    sparse = rng.uniform(10, 1000, size=(1500, 2))
    X = np.vstack([dense, sparse])
    reference = SkDBSCAN(eps=0.1, min_samples=5).fit(X)
    assert_same_as_sklearn(DBSCAN(eps=0.1, min_samples=5).fit(to_backend(X, "dask", chunk_rows=300)), reference)
    all_noise = DBSCAN(eps=1e-3, min_samples=5).fit(to_backend(sparse, "dask", chunk_rows=300))
    assert (all_noise.labels_.compute() == -1).all() and all_noise.core_sample_indices_.size == 0


def test_dask_slabs_narrower_than_eps(monkeypatch):
    """Slabs thinner than the halo (not cut so by default): a row is copied to every slab whose halo holds it."""
    from scalecluster.cluster import _dbscan_dask

    monkeypatch.setattr(_dbscan_dask, "_MIN_SLAB_WIDTH", 0.0)
    X = make_moons(2000, noise=0.05, random_state=3)[0]
    reference = SkDBSCAN(eps=0.3, min_samples=5).fit(X)
    assert_same_as_sklearn(
        DBSCAN(eps=0.3, min_samples=5).fit(to_backend(X, "dask", chunk_rows=50)),
        reference,
    )


def test_slab_borders_are_never_thinner_than_the_halo():
    """Dense bands: equal-count cuts would be far thinner than eps; ours are 2 eps at least,
    on the feature whose largest slab is smallest."""
    from scalecluster.cluster._dbscan_dask import _slab_borders, _slab_load

    rng = np.random.default_rng(0)
    crowded = np.concatenate([rng.normal(0, 1e-3, 8000), rng.uniform(-50, 50, 2000)])  # wide, but 80 % in a band
    spread = rng.uniform(0, 10, 10_000)
    sample = np.column_stack([crowded, spread])
    axis, borders = _slab_borders(sample, 20, eps=0.05)
    assert axis == 1
    assert np.diff(borders).min() >= 2 * 0.05
    largest, copies = _slab_load(np.sort(sample[:, axis]), borders, 0.05)
    assert largest < 0.1 * len(sample) and copies < 1.5 * len(sample)
    assert _slab_borders(sample[:, :1], 20, eps=0.05)[1].size >= 1  # the crowded feature alone still cuts its tails


def test_dask_on_a_local_cluster():
    distributed = pytest.importorskip("distributed")
    X = blobs_with_noise(4000, 2, seed=2)
    eps = eps_for_neighbours(X, 25)
    reference = SkDBSCAN(eps=eps, min_samples=10).fit(X)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster):
        ours = DBSCAN(eps=eps, min_samples=10).fit(
            to_backend(X, "dask", chunk_rows=1000)
        )
        labels = ours.labels_.compute()
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(
        ours.core_sample_indices_, reference.core_sample_indices_
    )


def test_fit_predict_returns_labels():
    X = blobs_with_noise(500, 2)
    np.testing.assert_array_equal(
        DBSCAN(eps=0.5).fit_predict(X), DBSCAN(eps=0.5).fit(X).labels_
    )
