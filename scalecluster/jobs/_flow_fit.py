"""Fitting the flow model: a fit sample drawn by row, eps at its knee, DBSCAN, groups, the density model.

See :mod:`scalecluster.jobs._density` for why the fit sample has a fixed
size and how every flow is then scored.  The sample is the same in memory and
on Dask, however the flows are partitioned: each row's draw depends only on
its number and the seed (:func:`~scalecluster.jobs._density.row_draws`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._density import (
    DensityModel,
    choose_eps,
    cluster_sample,
    row_draws,
    sample_threshold,
    smallest_draws,
)
from ._groups import flow_groups
from ._run import Steps

#: Profile columns of the fit sample, besides the features: whether a flow got a reply, its source and port.
_SOURCE, _PORT = "source", "port"


@dataclass
class FlowFit:
    """The fitted flow model and what the report says of it."""

    density: DensityModel
    groups: pd.DataFrame  #: per cluster: profile, why, normal (see :func:`scalecluster.jobs._groups.flow_groups`)
    eps_reason: str
    suggestion: Any  #: :class:`scalecluster.metrics.EpsSuggestion`, or None when eps was given
    sample: pd.DataFrame  #: the fit sample's scaled features (``*_scaled``; index: row) and its DBSCAN label
    sample_profile: pd.DataFrame  #: the fit sample's features in their units, ``no_reply``, ``source``, ``port``


def _sample_part(scaled: pd.DataFrame, feats: pd.DataFrame, flows: pd.DataFrame, profile: dict[str, str],
                 threshold: float, seed: int) -> pd.DataFrame:
    """The rows of one partition whose draw is below ``threshold``: draw, scaled features, profile columns."""
    rows = scaled.index.to_numpy(dtype=np.int64)
    draws = row_draws(rows, seed)
    keep = draws < threshold
    return _sample_columns(scaled[keep], feats.loc[scaled.index[keep]], flows, profile, draws[keep])


def _sample_columns(scaled: pd.DataFrame, feats: pd.DataFrame, flows: pd.DataFrame, profile: dict[str, str],
                    draws: np.ndarray) -> pd.DataFrame:
    out = scaled.add_suffix("_scaled")
    out.insert(0, "_draw", draws)
    for column in feats.columns:
        out[column] = feats[column].to_numpy(dtype=np.float64)
    picked = flows.loc[scaled.index]
    if "bytes_in" in profile:
        out["no_reply"] = picked[profile["bytes_in"]].to_numpy(dtype=np.float64) == 0
    for role in (_SOURCE, _PORT):
        if role in profile:
            out[role] = picked[profile[role]].astype("string").to_numpy()
    return out


def fit_sample(scaled: Any, feats: Any, frame: Any, profile: dict[str, str], n_flows: int, fit_size: int,
               seed: int, lazy: bool, client: Any, steps: Steps) -> pd.DataFrame:
    """The ``fit_size`` flows with the smallest draws (all when fewer), in row order.

    ``profile``: the input columns of ``bytes_in``, ``source`` and ``port``
    where known (for the groups' profiles).  On Dask each partition returns
    the rows below a draw threshold a little above the sample's share; the
    driver keeps the smallest draws.
    """
    if lazy:
        import dask

        threshold = sample_threshold(n_flows, fit_size)
        parts = [dask.delayed(_sample_part)(s, f, r, profile, threshold, seed)
                 for s, f, r in zip(scaled.to_delayed(), feats.to_delayed(), frame.to_delayed())]
        pieces = steps.compute(client, *parts)
        candidates = pd.concat(pieces) if pieces else _sample_part(scaled._meta, feats._meta, frame._meta, profile,
                                                                   threshold, seed)
    else:
        rows = scaled.index.to_numpy(dtype=np.int64)
        candidates = _sample_columns(scaled, feats, frame, profile, row_draws(rows, seed))
    rows = candidates.index.to_numpy(dtype=np.int64)
    pick = smallest_draws(candidates["_draw"].to_numpy(), rows, fit_size)
    return candidates.iloc[pick].drop(columns="_draw")


def fit_flows(sample: pd.DataFrame, features: list[str], *, eps: Any, min_samples: int, eps_sample_size: int | None,
              max_core_points: int, algorithm: str | None, random_state: int, steps: Steps,
              notes: list[str]) -> FlowFit:
    """eps (the knee of the sample's k-distance curve, unless given), DBSCAN on the sample, the suspicious groups
    among its clusters, and the density model that scores every flow."""
    S = sample[[f"{c}_scaled" for c in features]].to_numpy(dtype=np.float64)
    if len(S) <= min_samples:
        raise ValueError(
            f"{len(S):,} flows with usable features are too few for min_samples={min_samples}; lower it, or give "
            "more flows."
        )
    suggestion = None
    if eps == "auto":
        with steps.step("Choosing eps") as stage:
            suggestion = choose_eps(S, min_samples, eps_sample_size, random_state)
            eps_value = float(suggestion.eps)
            eps_reason = (f"knee of the k-distance graph of the fit sample (k = min_samples = {min_samples}, "
                          f"{len(suggestion.k_distances):,} flows)")
            stage.count(len(suggestion.k_distances), "flows")
            stage.result(f"eps = {eps_value:.4g}")
    else:
        eps_value, eps_reason = float(eps), "given"
    with steps.step("DBSCAN") as stage:
        stage.describe(f"{len(S):,} flows of the fit sample, eps {eps_value:.4g}, min_samples {min_samples}")
        labels, core = cluster_sample(S, eps_value, min_samples, algorithm, notes)
        profile = sample.drop(columns=[c for c in sample.columns if c.endswith("_scaled")]).reset_index(drop=True)
        groups = flow_groups(profile, labels, source=_SOURCE if _SOURCE in profile else None,
                             port=_PORT if _PORT in profile else None)
        density = DensityModel.from_fit(S, labels, core, groups["normal"].to_numpy(dtype=bool), eps_value,
                                        min_samples, max_core_points, random_state)
        n_groups = int((~groups["normal"]).sum())
        stage.result(f"{len(groups) - n_groups} clusters of normal traffic, {n_groups} suspicious groups")
    if density.subsampled:
        notes.append(f"Scores are measured to a sample of {len(density.core):,} of the {density.n_core:,} core "
                     "points (stratified by cluster): a score may be over-estimated, never under-estimated.")
    if not groups["normal"].any():
        notes.append("No cluster of the fit sample is normal traffic: every flow is an alert. eps is too small, "
                     "min_samples too large, or the data holds no normal traffic.")
    kept = sample[[c for c in sample.columns if c.endswith("_scaled")]].assign(cluster=labels)
    return FlowFit(density, groups, eps_reason, suggestion, kept, profile.set_index(sample.index))
