"""Draw the tree of a fitted :class:`AgglomerativeClustering`, truncated when it is large.

SciPy's ``dendrogram`` draws it; this helper picks the truncation, labels
the truncated leaves with the number of *rows* below them (on the two-stage
path a leaf is a micro-cluster, so SciPy's own counts would be leaves, not
rows), and colours the clusters of the model's cut.  matplotlib is imported
only here, when a plot is asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def plot_dendrogram(
    model: Any,
    *,
    p: int = 30,
    truncate_mode: str | None = "auto",
    color_threshold: float | None = None,
    ax: Any = None,
    **kwargs: Any,
) -> dict:
    """Plot the dendrogram of a fitted model (or of a SciPy linkage matrix).

    Parameters
    ----------
    model : AgglomerativeClustering or ndarray of shape (n_leaves - 1, 4)
        A fitted model, or a linkage matrix in SciPy's format.
    p : int, default=30
        Leaves shown when the tree is truncated.
    truncate_mode : {"auto", "lastp", "level"} or None, default="auto"
        As in SciPy; ``"auto"`` shows the last ``p`` merges (``"lastp"``)
        when the tree has more than ``p`` leaves, and the whole tree otherwise.
    color_threshold : float, default=None
        As in SciPy.  By default, for a fitted model, a height between the
        last merge kept and the first merge undone by the model's cut, so
        the ``n_clusters_`` clusters get their own colours.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    **kwargs
        Passed to ``scipy.cluster.hierarchy.dendrogram`` (e.g. ``orientation``).

    Returns
    -------
    info : dict
        What ``scipy.cluster.hierarchy.dendrogram`` returns (leaves, colours, coordinates).
    """
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    Z, rows, exact, n_clusters = _tree_of(model)
    n_leaves = Z.shape[0] + 1
    if truncate_mode == "auto":
        truncate_mode = "lastp" if n_leaves > p else None
    if color_threshold is None and n_clusters is not None and 1 < n_clusters <= n_leaves - 1:
        # Merges at or above the threshold are drawn in the "above" colour: the cut's last n_clusters - 1.
        color_threshold = 0.5 * (Z[-n_clusters, 2] + Z[-n_clusters + 1, 2])

    def leaf_label(node: int) -> str:
        if node < n_leaves and exact:
            return str(node)
        return f"({int(rows[node]):,})"

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    kwargs.setdefault("leaf_label_func", leaf_label)
    info = dendrogram(Z, p=p, truncate_mode=truncate_mode, color_threshold=color_threshold, ax=ax, **kwargs)
    ax.set_ylabel("merge height")
    if truncate_mode == "lastp":
        ax.set_xlabel("rows below each leaf, in parentheses")
    return info


def _tree_of(model: Any) -> tuple[np.ndarray, np.ndarray, bool, int | None]:
    """The linkage matrix, the rows below every node, whether leaves are rows, and the cut's cluster count."""
    if hasattr(model, "linkage_matrix_"):
        Z = model.linkage_matrix_
        sizes = getattr(model, "micro_sizes_", None)
        exact, n_clusters = sizes is None, model.n_clusters_
    elif hasattr(model, "fit"):
        raise ValueError(f"This {type(model).__name__} instance is not fitted yet: call 'fit' before plotting its tree.")
    else:
        Z = np.asarray(model, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != 4:
            raise ValueError(f"Expected a fitted AgglomerativeClustering or a linkage matrix of shape (n - 1, 4); got shape {Z.shape}.")
        sizes, exact, n_clusters = None, True, None
    if Z.shape[0] == 0:
        raise ValueError("The tree has a single leaf: there is nothing to draw.")
    n_leaves = Z.shape[0] + 1
    rows = np.ones(2 * n_leaves - 1)
    if sizes is not None:
        rows[:n_leaves] = sizes
    for i, (a, b) in enumerate(Z[:, :2].astype(np.intp)):
        rows[n_leaves + i] = rows[a] + rows[b]
    return Z, rows, exact, n_clusters
