"""Choosing k by stability under resampling: the rule, the sweep, and a continuum of customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from scalecluster.datasets import make_transactions
from scalecluster.jobs import STABILITY_THRESHOLD, segment, stability_sweep
from scalecluster.jobs._run import Steps
from scalecluster.jobs._stability import nearest, pool


@pytest.fixture(scope="module")
def continuum():
    """The generator's five behaviours blurred into a continuum (each customer halfway, at random, to another)."""
    lines, _ = make_transactions(3_000, blur=1.0, random_state=0)
    return lines


def test_a_continuum_gives_a_stable_k_in_range_whatever_the_seed(continuum):
    runs = [segment(continuum, order="order_id", random_state=seed, plots=False, verbose=False) for seed in (0, 1)]
    first, second = runs
    assert 3 <= first.k <= 8 and first.k == second.k
    chosen = first.sweep.set_index("k").loc[first.k]
    assert chosen["stability"] >= STABILITY_THRESHOLD and bool(chosen["stable"])
    labels = second.labels.loc[first.labels.index]
    ari = adjusted_rand_score(first.labels, labels)
    print(f"continuum: k = {first.k}, stability {chosen['stability']:.3f}, ARI between seeds 0 and 1: {ari:.3f}")
    assert ari >= 0.9
    assert first.names == second.names


def test_the_sweep_table_and_its_evidence(continuum):
    X = np.random.default_rng(0).normal(size=(600, 3))
    X[:200] += 8
    X[200:400] -= 8  # three separated blobs
    seen = []
    table = stability_sweep(X, [2, 3, 4], n_fits=3, n_init=2, eval_size=300, random_state=0,
                            progress=lambda k, row: seen.append(k))
    assert seen == [2, 3, 4]
    assert list(table.columns) == ["k", "stability", "stability_min", "silhouette", "silhouette_low",
                                   "silhouette_high", "davies_bouldin", "inertia", "stable"]
    row = table.set_index("k").loc[3]
    assert row["stability"] == pytest.approx(1.0) and row["stable"]
    assert table.set_index("k")["silhouette"].idxmax() == 3
    assert (table["silhouette_low"] <= table["silhouette"]).all() and (table["silhouette"] <= table["silhouette_high"]).all()
    assert table["inertia"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="too few to test 500 segments"):
        stability_sweep(X, [500], n_fits=2)


def test_nearest_centre_ties_go_to_the_lower_number():
    centres = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
    labels, distances = nearest(np.array([[1.0, 0.0], [0.0, 0.1], [3.0, 0.0]]), centres)
    assert labels.tolist() == [0, 0, 1]
    np.testing.assert_allclose(distances, [1.0, 0.01, 1.0])


def test_the_customers_of_the_sweep_are_the_same_on_every_backend():
    dd = pytest.importorskip("dask.dataframe")
    index = pd.Index([f"id{i}" for i in range(5_000)], name="customer_id")
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(5_000, 3)), index=index, columns=list("abc"))
    steps = Steps("test", verbose=False)
    in_memory = pool(frame, lazy=False, client=None, steps=steps, size=1_000)
    on_dask = pool(dd.from_pandas(frame.sample(frac=1.0, random_state=0), npartitions=4), lazy=True, client=None,
                   steps=steps, size=1_000)
    assert 800 < len(in_memory) < 1_200
    np.testing.assert_array_equal(in_memory, on_dask)  # same customers, same order, whatever the row order
    everyone = pool(frame, lazy=False, client=None, steps=steps, size=10_000)
    assert len(everyone) == 5_000
