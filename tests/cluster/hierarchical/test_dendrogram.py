"""The dendrogram helper: truncation, row counts on truncated leaves, the cut's colours."""

from __future__ import annotations

import numpy as np
import pytest

from scalecluster import AgglomerativeClustering
from scalecluster.cluster.hierarchical import plot_dendrogram

from ._data import blobs

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_small_tree_is_drawn_whole_with_row_numbers():
    model = AgglomerativeClustering(n_clusters=3).fit(blobs(20))
    info = plot_dendrogram(model)
    assert sorted(info["leaves"]) == list(range(20))
    assert set(info["ivl"]) == {str(i) for i in range(20)}
    assert len(set(info["leaves_color_list"])) == 3  # the model's three clusters, coloured


def test_large_two_stage_tree_is_truncated_and_counts_rows():
    X = blobs(2000, d=3, centers=4, seed=3)
    model = AgglomerativeClustering(n_clusters=4, n_micro=200, random_state=0).fit(X)
    info = plot_dendrogram(model, p=12)
    assert len(info["ivl"]) == 12
    counts = [int(label.strip("()").replace(",", "")) for label in info["ivl"]]
    assert sum(counts) == 2000  # rows, not micro-clusters


def test_linkage_matrix_and_axes_are_accepted():
    import matplotlib.pyplot as plt

    Z = AgglomerativeClustering(n_clusters=2).fit(blobs(50)).linkage_matrix_
    _, ax = plt.subplots()
    info = plot_dendrogram(Z, ax=ax, truncate_mode=None)
    assert len(info["ivl"]) == 50 and ax.get_ylabel() == "merge height"


def test_unfitted_model_and_bad_matrix_are_refused():
    with pytest.raises(ValueError, match="not fitted yet"):
        plot_dendrogram(AgglomerativeClustering())
    with pytest.raises(ValueError, match=r"shape \(n - 1, 4\); got shape \(3, 3\)"):
        plot_dendrogram(np.zeros((3, 3)))
