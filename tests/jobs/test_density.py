"""The density model behind the anomaly job: draws by row, the fit sample, and a score for every row."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from scalecluster.jobs import _density
from scalecluster.jobs._density import (
    DensityModel,
    cluster_sample,
    row_draws,
    sample_threshold,
    smallest_draws,
    stratified,
)
from scalecluster.jobs._flow_fit import fit_sample
from scalecluster.jobs._run import Steps

# --------------------------------------------------------------------------- draws and the fit sample


def test_row_draws_depend_on_the_row_and_the_seed_only():
    rows = np.arange(100_000)
    whole = row_draws(rows, 7)
    assert whole.dtype == np.float64 and whole.shape == rows.shape
    assert whole.min() >= 0.0 and whole.max() < 1.0
    # However the rows are cut into chunks (Dask partitions), each row gets the same draw.
    for cuts in ([3, 17, 50_000, 99_999], [1], list(range(0, 100_000, 8192))):
        pieces = np.split(rows, cuts)
        assert np.array_equal(np.concatenate([row_draws(p, 7) for p in pieces]), whole)
    shuffled = np.random.default_rng(0).permutation(rows)
    assert np.array_equal(row_draws(shuffled, 7), whole[shuffled])
    assert np.array_equal(row_draws(rows.tolist()[:10], 7), whole[:10])  # lists and int arrays alike
    # Another seed, other draws; and the draws look uniform.
    assert (row_draws(rows, 8) != whole).mean() > 0.999
    counts, _ = np.histogram(whole, bins=10, range=(0, 1))
    assert np.all(np.abs(counts - 10_000) < 500), counts


def test_smallest_draws_keeps_the_smallest_in_row_order():
    rows = np.array([40, 10, 30, 20, 50])
    draws = np.array([0.9, 0.1, 0.5, 0.1, 0.2])
    pick = smallest_draws(draws, rows, 3)
    assert list(rows[pick]) == [10, 20, 50]  # the three smallest (0.1, 0.1, 0.2), in row order
    tie = smallest_draws(draws, rows, 1)
    assert list(rows[tie]) == [10]  # a tie goes to the lower row
    everything = smallest_draws(draws, rows, 10)
    assert list(rows[everything]) == [10, 20, 30, 40, 50]


def test_sample_threshold_leaves_room_for_the_sample():
    assert sample_threshold(1000, 1000) == 1.0 and sample_threshold(10, 50) == 1.0
    n, size = 1_000_000, 50_000
    threshold = sample_threshold(n, size)
    assert size / n < threshold < 2 * size / n
    assert (row_draws(np.arange(n), 0) < threshold).sum() >= size


def _flows_frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(scaled features, features, flows) indexed by row number, as the job holds them."""
    rng = np.random.default_rng(seed)
    index = pd.RangeIndex(n, name="row")
    feats = pd.DataFrame({"a": rng.lognormal(size=n), "b": rng.lognormal(size=n)}, index=index)
    scaled = (np.log1p(feats) - np.log1p(feats).mean()) / np.log1p(feats).std()
    flows = pd.DataFrame({"bytes_in": rng.integers(0, 3, n), "src_ip": rng.choice(["h1", "h2", "h3"], n),
                          "dst_port": rng.choice([22, 80, 443], n)}, index=index)
    return scaled, feats, flows


def test_the_fit_sample_is_the_same_in_memory_and_on_dask():
    dd = pytest.importorskip("dask.dataframe")
    scaled, feats, flows = _flows_frame(6_000)
    profile = {"bytes_in": "bytes_in", "source": "src_ip", "port": "dst_port"}
    steps = Steps("test", verbose=False)
    expected = fit_sample(scaled, feats, flows, profile, len(scaled), 700, 3, False, None, steps)
    assert len(expected) == 700 and expected.index.is_monotonic_increasing
    assert list(expected.index) == sorted(np.argsort(row_draws(np.arange(6_000), 3), kind="stable")[:700])
    assert {"a_scaled", "b_scaled", "a", "b", "no_reply", "source", "port"} <= set(expected.columns)
    for npartitions in (1, 4, 9):
        lazy = fit_sample(dd.from_pandas(scaled, npartitions=npartitions),
                          dd.from_pandas(feats, npartitions=npartitions),
                          dd.from_pandas(flows, npartitions=npartitions), profile, len(scaled), 700, 3, True, None,
                          steps)
        pd.testing.assert_frame_equal(lazy, expected)
    # Fewer flows than fit_size: all of them, in row order.
    small = fit_sample(scaled.head(300), feats.head(300), flows.head(300), profile, 300, 700, 3, False, None, steps)
    assert list(small.index) == list(range(300))


# --------------------------------------------------------------------------- DensityModel.score


def _model(normal=(True, False), eps: float = 1.0) -> DensityModel:
    """Cluster 0 (normal) has core points at x = 0 and 1; cluster 1 at x = 10 (suspicious unless normal)."""
    core = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    return DensityModel(eps, 5, core, np.array([0, 0, 1]), np.array(normal, dtype=bool), 3)


def test_score_is_the_distance_to_normal_traffic_in_units_of_eps():
    model = _model(eps=0.5)
    X = np.array([[0.0, 0.0],      # a core point of normal traffic
                  [1.0, 0.3],      # within eps of one
                  [1.0, 0.5],      # exactly at eps
                  [1.0, 0.6],      # beyond eps
                  [4.0, 0.0],      # far from everything
                  [10.0, 0.0],     # a core point of the suspicious group
                  [10.2, 0.0]])    # within eps of the suspicious group only
    cluster, score = model.score(X)
    assert score[0] == 0.0
    assert score[1] == pytest.approx(0.6) and score[1] <= 1
    assert score[2] == pytest.approx(1.0)
    assert score[3] == pytest.approx(1.2) and score[3] > 1
    assert score[4] == pytest.approx(6.0)
    assert score[5] == pytest.approx(18.0)  # the group's own core points are not normal: measured to cluster 0
    assert score[6] == pytest.approx(18.4)
    assert list(cluster) == [0, 0, 0, -1, -1, 1, 1]  # the nearest core point's cluster, when within eps


def test_the_same_model_with_every_cluster_normal_scores_the_group_as_normal():
    cluster, score = _model(normal=(True, True)).score(np.array([[10.0, 0.0], [10.5, 0.0], [5.0, 0.0]]))
    assert list(score) == [0.0, 0.5, 4.0] and list(cluster) == [1, 1, -1]


def test_score_is_inf_when_no_cluster_is_normal():
    cluster, score = _model(normal=(False, False)).score(np.array([[0.0, 0.0], [3.0, 0.0]]))
    assert np.isinf(score).all()
    assert list(cluster) == [0, -1]  # the clusters are still named
    empty = DensityModel(1.0, 5, np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), 0)
    cluster, score = empty.score(np.ones((3, 2)))
    assert np.isinf(score).all() and (cluster == -1).all()
    cluster, score = _model().score(np.zeros((0, 2)))
    assert cluster.shape == score.shape == (0,)


def test_scores_in_blocks_equal_scores_at_once(monkeypatch):
    model = _model(eps=0.7)
    X = np.random.default_rng(1).uniform(-2, 12, size=(1_000, 2))
    cluster, score = model.score(X)
    monkeypatch.setattr(_density, "QUERY_ROWS", 64)
    blocked = _model(eps=0.7).score(X, threads=2)
    assert np.array_equal(blocked[0], cluster) and np.array_equal(blocked[1], score)


def test_a_pickled_model_scores_the_same():
    model = _model(eps=0.7)
    X = np.random.default_rng(2).uniform(-2, 12, size=(200, 2))
    before = model.score(X)
    assert model._trees is not None
    copy = pickle.loads(pickle.dumps(model))  # as it travels to a Dask worker: the trees are rebuilt there
    assert copy._trees is None
    after = copy.score(X)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])


@pytest.fixture(scope="module")
def blobs():
    """Three dense blobs and a sprinkle of noise in 3 dimensions, clustered by the job's DBSCAN."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    S = np.vstack([c + rng.normal(scale=0.3, size=(800, 3)) for c in centres]
                  + [rng.uniform(-3, 7, size=(100, 3))])
    labels, core = cluster_sample(S, 0.35, 10, "auto", [])  # the tree: no grid to compile here
    return S, labels, core


def test_on_the_fit_sample_clusters_and_scores_agree_with_dbscan(blobs):
    S, labels, core = blobs
    k = labels.max() + 1
    assert k >= 3
    model = DensityModel.from_fit(S, labels, core, np.ones(k, dtype=bool), 0.35, 10, 10**6, 0)
    assert not model.subsampled and model.n_core == len(core)
    cluster, score = model.score(S)
    assert np.array_equal(cluster[core], labels[core]) and (score[core] == 0).all()
    noise = labels == -1
    assert (cluster[noise] == -1).all() and (score[noise] > 1).all()  # noise: no core point within eps
    border = ~noise & ~np.isin(np.arange(len(S)), core)
    assert (cluster[border] >= 0).all() and (score[border] <= 1).all()


def test_a_subsample_of_core_points_never_lowers_a_score(blobs):
    S, labels, core = blobs
    k = labels.max() + 1
    normal = np.ones(k, dtype=bool)
    normal[k - 1] = False  # one suspicious group
    full = DensityModel.from_fit(S, labels, core, normal, 0.35, 10, 10**6, 0)
    sub = DensityModel.from_fit(S, labels, core, normal, 0.35, 10, 200, 0)
    assert sub.subsampled and len(sub.core) < len(full.core) and sub.n_core == full.n_core
    assert set(sub.core_cluster) == set(full.core_cluster)  # every cluster keeps core points (stratified)
    X = np.vstack([S, np.random.default_rng(3).uniform(-3, 7, size=(2_000, 3))])
    _, exact = full.score(X)
    _, approximate = sub.score(X)
    assert (approximate >= exact).all()
    assert (approximate > exact).any()


def test_stratified_keeps_every_label():
    labels = np.array([0] * 1_000 + [1] * 30 + [2] * 5)
    keep = stratified(labels, 100, 0)
    assert np.all(np.diff(keep) > 0)
    kept = np.bincount(labels[keep], minlength=3)
    assert kept[1] >= 20 and kept[2] == 5 and kept[0] >= 90
