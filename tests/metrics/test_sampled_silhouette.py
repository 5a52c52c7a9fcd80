"""The sampled silhouette with a stratified reference sample (see ``scalecluster/metrics/_silhouette.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from scalecluster.backends._generic import ArrayBackend
from scalecluster.metrics import silhouette_score
from scalecluster.metrics._inputs import check_labelled
from scalecluster.metrics._silhouette import (
    REFERENCE_GROUPS,
    _draw_reference,
    _reference_silhouettes,
    _reference_sizes,
    estimate_silhouette,
)
from tests.conftest import to_backend


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


@pytest.mark.parametrize("backend", ["dask", "generic"])
def test_reference_estimate_same_on_dask_and_generic(backend):
    X, y = _imbalanced(6000, seed=6)
    ref = estimate_silhouette(check_labelled(X, y), 800, 0, 0.95, 1200)
    assert ref.reference_size > 0
    if backend == "dask":
        ours = silhouette_score(
            to_backend(X, "dask", 777),
            y,
            sample_size=800,
            random_state=0,
            reference_size=1200,
            return_interval=True,
        )
        # Same draws, same kernel, same rounding: equal.
        assert ours[0] == ref.estimate
        assert ours[1] == (ref.low, ref.high)
    else:
        data = check_labelled(X, y)
        data.backend = ArrayBackend(np, "generic-numpy")  # the code CuPy runs
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
