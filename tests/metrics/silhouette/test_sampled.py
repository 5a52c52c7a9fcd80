"""The sampled silhouette with a stratified reference sample (``scalecluster/metrics/silhouette/_sampled.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from scalecluster.backends._array import ArrayBackend
from scalecluster.metrics import silhouette_samples, silhouette_score
from scalecluster.metrics._inputs import check_labelled
from scalecluster.metrics.silhouette._sampled import (
    REFERENCE_GROUPS,
    _draw_reference,
    _reference_silhouettes,
    _reference_sizes,
    estimate_silhouette,
)
from tests.conftest import to_backend
from tests.metrics._data import CHUNK, _labels_for


def _imbalanced(n=6000, seed=0):
    """Blobs of very different sizes, one of them smaller than its reference share."""
    rng = np.random.RandomState(seed)
    sizes = np.array([30, int(0.05 * n), int(0.15 * n), int(0.3 * n), 0])
    sizes[-1] = n - sizes.sum()
    centers = rng.normal(scale=4.0, size=(len(sizes), 3))
    y = np.repeat(np.arange(len(sizes)), sizes)
    X = centers[y] + rng.normal(size=(n, 3))
    order = rng.permutation(n)  # labels interleaved over the rows (and the Dask chunks)
    return X[order], y[order] * 7 + 3  # labels that are not 0 .. k - 1


def test_reference_is_stratified():
    X, y = _imbalanced()
    data = check_labelled(X, y)
    sizes = _reference_sizes(data.counts, 1000)
    # The 30-row cluster is taken whole; the others share the rest evenly.
    assert sizes[0] == 30 and np.all(sizes[1:] == int(np.ceil((1000 - 30) / 4)))
    queries = np.sort(np.random.RandomState(1).choice(len(X), 300, replace=False))
    index, codes, own = _draw_reference(data, sizes, queries, np.random.RandomState(2))
    k = data.n_labels
    assert len(np.unique(index)) == len(index) == sizes.sum()
    # Every cluster is represented, with its share, and each row carries its own label.
    np.testing.assert_array_equal(data.labels[index], codes % k)
    np.testing.assert_array_equal(np.bincount(codes % k, minlength=k), sizes)
    np.testing.assert_array_equal(own, data.labels[queries])
    # Whole clusters sit in the extra group; sampled ones are dealt evenly into the groups.
    group = codes // k
    assert np.all(group[codes % k == 0] == REFERENCE_GROUPS)
    for c in range(1, k):
        per_group = np.bincount(group[codes % k == c], minlength=REFERENCE_GROUPS)
        assert (
            per_group.max() - per_group.min() <= 1
            and len(per_group) == REFERENCE_GROUPS
        )
    # The same seed draws the same rows whatever the chunking.
    dask_data = check_labelled(to_backend(X, "dask", 777), y)
    again = _draw_reference(dask_data, sizes, queries, np.random.RandomState(2))
    for a, b in zip((index, codes, own), again):
        np.testing.assert_array_equal(a, b)


def test_reference_silhouettes_match_brute_force():
    """Per-query values and every leave-one-group-out sum, against an explicit computation."""
    X, y = _imbalanced(1500, seed=3)
    data = check_labelled(X, y)
    k = data.n_labels
    sizes = _reference_sizes(data.counts, 400)
    queries = np.sort(np.random.RandomState(4).choice(len(X), 120, replace=False))
    index, codes, own = _draw_reference(data, sizes, queries, np.random.RandomState(5))
    assert np.isin(
        queries, index
    ).any()  # some queries are reference rows: their self-distance must go
    by_index = {int(g): p for p, g in enumerate(index)}
    query_pos = np.array([by_index.get(int(q), -1) for q in queries])
    code_counts = np.bincount(codes, minlength=(REFERENCE_GROUPS + 1) * k).reshape(
        -1, k
    )
    plan = {
        "ref_codes": codes,
        "code_counts": code_counts,
        "shift": X[queries].mean(axis=0),
    }
    alone = data.counts[own] == 1
    values, dropped = _reference_silhouettes(
        data.backend, X[index], X[queries], query_pos, own, alone, plan
    )

    dist = cdist(X[queries], X[index])
    label, group = codes % k, codes // k

    def brute(keep):
        out = []
        for i, q in enumerate(queries):
            means = np.array(
                [dist[i, keep & (label == c) & (index != q)].mean() for c in range(k)]
            )
            a = means[own[i]]
            b = np.min(np.delete(means, own[i]))
            out.append((b - a) / max(a, b))
        return np.array(out)

    np.testing.assert_allclose(
        values, brute(np.ones(len(index), dtype=bool)), rtol=1e-9, atol=1e-12
    )
    for g in (0, 7, REFERENCE_GROUPS - 1):
        assert dropped[g] == pytest.approx(brute(group != g).sum(), rel=1e-9)


def test_reference_estimate_same_on_every_backend(backend_name):
    X, y = _imbalanced(6000, seed=6)
    ref = estimate_silhouette(check_labelled(X, y), 800, 0, 0.95, 1200)
    assert ref.reference_size > 0
    ours = silhouette_score(
        to_backend(X, backend_name, 777),
        _labels_for(backend_name, y),
        sample_size=800,
        random_state=0,
        reference_size=1200,
        return_interval=True,
    )
    if backend_name in ("numpy", "dask"):
        # Same draws, same kernel, same rounding: equal.
        assert ours[0] == ref.estimate
        assert ours[1] == (ref.low, ref.high)
    else:
        assert ours[0] == pytest.approx(ref.estimate, rel=1e-7)
        np.testing.assert_allclose(ours[1], (ref.low, ref.high), rtol=1e-5)


def test_reference_estimate_through_the_generic_path():
    """The array-module code other backends run, on NumPy arrays: the same estimate."""
    X, y = _imbalanced(6000, seed=6)
    ref = estimate_silhouette(check_labelled(X, y), 800, 0, 0.95, 1200)
    data = check_labelled(X, y)
    data.backend = ArrayBackend(np, "generic-numpy")  # a name no kernel table knows
    ours = estimate_silhouette(data, 800, 0, 0.95, 1200)
    assert ours.estimate == pytest.approx(ref.estimate, rel=1e-7)
    assert ours.reference_error == pytest.approx(ref.reference_error, rel=1e-5)


def test_reference_interval_accounts_for_the_shared_reference_error():
    """A small reference and many queries: the reference error dominates, and the interval must see it.

    The t-interval from the queries' spread alone would cover far less than 95 %.
    """
    X, y = make_blobs(4000, 5, centers=6, cluster_std=3.0, random_state=3)
    exact = skm.silhouette_score(X, y)
    estimates, errors, query_only, covered = [], [], 0, 0
    for seed in range(40):
        r = estimate_silhouette(check_labelled(X, y), 1500, seed, 0.95, 300)
        assert r.reference_size == 6 * 50  # 50 rows a cluster (300 / 6)
        estimates.append(r.estimate)
        errors.append(r.standard_error)
        covered += r.low <= exact <= r.high
        query_only += abs(r.estimate - exact) <= 1.96 * r.query_error
    assert covered >= 36, covered
    assert query_only < 32, query_only  # the reference term is needed
    # The reported standard error matches the spread over seeds.
    ratio = np.std(estimates, ddof=1) / np.sqrt(np.mean(np.square(errors)))
    assert 0.7 < ratio < 1.4, ratio


def test_large_reference_falls_back_to_all_rows():
    X, y = make_blobs(2000, 3, centers=4, random_state=0)
    data = check_labelled(X, y)
    assert _reference_sizes(data.counts, 1000) is None
    r = estimate_silhouette(data, 100, 0, 0.95, 1000)
    assert r.reference_size == 0 and r.reference_error == 0.0
    # The all-rows estimate: every sampled silhouette exact.
    index = np.sort(np.random.RandomState(0).choice(2000, 100, replace=False))
    assert r.estimate == pytest.approx(
        skm.silhouette_samples(X, y)[index].mean(), abs=1e-9
    )
    with pytest.raises(ValueError, match="reference_size"):
        silhouette_score(X, y, sample_size=100, reference_size=0)


def test_sampled_silhouette_is_unbiased_and_covers():
    """Over many seeds the interval covers the exact value and errors beat sklearn's sampling."""
    X, y = make_blobs(3000, 5, centers=6, cluster_std=3.0, random_state=3)
    exact = skm.silhouette_score(X, y)
    s = 200
    ours, covered, theirs = [], 0, []
    for seed in range(40):
        value, (low, high) = silhouette_score(X, y, sample_size=s, random_state=seed, return_interval=True)
        ours.append(value)
        covered += low <= exact <= high
        theirs.append(skm.silhouette_score(X, y, sample_size=s, random_state=seed))
    assert covered >= 0.9 * 40
    assert np.mean(np.abs(np.array(ours) - exact)) <= np.mean(np.abs(np.array(theirs) - exact))
    assert abs(np.mean(ours) - exact) < 3 * np.std(ours) / np.sqrt(40)


def test_sampled_silhouette_same_on_every_backend(backend_name):
    X, y = make_blobs(900, 3, centers=4, random_state=2)
    ref = silhouette_score(X, y, sample_size=100, random_state=0, return_interval=True)
    ours = silhouette_score(to_backend(X, backend_name, CHUNK), _labels_for(backend_name, y), sample_size=100, random_state=0, return_interval=True)
    assert ours[0] == pytest.approx(ref[0], rel=1e-9)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-9)


def test_full_sample_has_zero_width_and_equals_exact():
    X, y = make_blobs(300, 3, centers=3, random_state=0)
    value, (low, high) = silhouette_score(X, y, sample_size=300, random_state=0, return_interval=True)
    assert value == pytest.approx(skm.silhouette_score(X, y), abs=1e-9)
    assert low == pytest.approx(high)


def test_bad_sampling_arguments_and_nan():
    X, y = make_blobs(50, 2, centers=2, random_state=0)
    for size in (1, 0, 51):
        with pytest.raises(ValueError, match="sample_size must be in"):
            silhouette_score(X, y, sample_size=size)
    with pytest.raises(ValueError, match="confidence"):
        silhouette_score(X, y, sample_size=10, confidence=1.5)
    X[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        silhouette_score(X, y)


@pytest.mark.slow
def test_sampled_silhouette_coverage_on_50k_points():
    """The issue's acceptance check: 50 seeds, 50k points, exact value known."""
    X, y = make_blobs(50_000, 4, centers=8, cluster_std=2.5, random_state=11)
    X = X.astype(np.float32)
    # The exact mean over all 50k rows, from our exact chunked path on every row.
    exact = float(np.mean(silhouette_samples(X, y)))
    s = 1000
    ours, theirs, covered = [], [], 0
    for seed in range(50):
        value, (low, high) = silhouette_score(X, y, sample_size=s, random_state=seed, return_interval=True)
        ours.append(value)
        covered += low <= exact <= high
        theirs.append(skm.silhouette_score(X, y, sample_size=s, random_state=seed))
    assert covered >= 45, covered
    assert np.mean(np.abs(np.array(ours) - exact)) <= np.mean(np.abs(np.array(theirs) - exact))

