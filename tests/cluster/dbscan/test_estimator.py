"""DBSCAN against scikit-learn: same core points, same clusters, same labels, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SkDBSCAN
from sklearn.datasets import make_moons

from scalecluster import DBSCAN
from tests.conftest import to_backend, to_numpy

from ._data import (
    assert_partition_contract,
    assert_same_as_sklearn,
    blobs_with_noise,
    eps_for_neighbours,
)

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


def test_fit_predict_returns_labels():
    X = blobs_with_noise(500, 2)
    np.testing.assert_array_equal(
        DBSCAN(eps=0.5).fit_predict(X), DBSCAN(eps=0.5).fit(X).labels_
    )

