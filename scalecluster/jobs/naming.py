"""Names and recommended actions for customer segments, from their RFM profile, by fixed rules.

The rules compare each segment's *median* recency, frequency and monetary
value with the medians over all segmented customers (so they are relative to
the population, whatever its currency or pace):

* **recent**: median recency (days since the last order) below the overall median;
* **frequent**: median frequency (orders) above the overall median;
* **high spend**: median monetary value above the overall median.

Then:

=====================  =============================================================
name                   rule
=====================  =============================================================
Champions              recent, frequent and high spend — only the one such segment
                       with the highest median monetary value
Loyal                  recent and frequent (the other such segments)
New                    recent, not frequent
At Risk                not recent, frequent (they used to buy often)
Lost                   not recent, not frequent
=====================  =============================================================

Ties are broken deterministically (a value equal to the overall median is not
"recent" / "frequent" / "high spend"; equal monetary medians go to the lower
segment number).

**Names are unique, and say what tells segments apart.**  When several
segments get the same name, they are told apart along the feature where their
medians differ most (the largest ratio of ``median + 1`` between them): by
spend ("Lost, high spend" / "Lost, low spend"), by orders ("Loyal, frequent" /
"Loyal, occasional") or by recency ("At Risk, lapsed recently" / "At Risk,
lapsed long ago"); three get a middle word ("mid spend", "regular", "lapsed a
while ago"), four or more a rank ("Lost, spend rank 1 of 4", 1 the highest).
Should two still share a name (identical medians), the segment number is
added: ``"Lost (segment 3)"``.

Each name comes with a short recommended action (:data:`SEGMENT_ACTIONS`),
shown in the profile and the report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEGMENT_NAMES = ("Champions", "Loyal", "New", "At Risk", "Lost")

#: What to do with each kind of segment (the seeds' per-segment strategies, one line each).
SEGMENT_ACTIONS = {
    "Champions": "VIP programme: early access, referral asks and personal thanks; no discounts needed.",
    "Loyal": "Loyalty rewards and cross-sell: points, bundles, invitations to review.",
    "New": "Onboarding: a welcome series and an incentive for the second order.",
    "At Risk": "Win-back now: a personal offer or call before they lapse for good.",
    "Lost": "Low-cost reactivation (one campaign, then suppress); do not spend heavily.",
}

#: Words that tell segments of one name apart, per feature, for 2 and 3 segments (best first).
_QUALIFIERS = {
    "monetary": (("high spend", "low spend"), ("high spend", "mid spend", "low spend")),
    "frequency": (("frequent", "occasional"), ("frequent", "regular", "occasional")),
    "recency": (("lapsed recently", "lapsed long ago"),
                ("lapsed recently", "lapsed a while ago", "lapsed long ago")),
}
_RANK_WORD = {"monetary": "spend", "frequency": "orders", "recency": "recency"}


def name_segments(profile: pd.DataFrame, overall: dict[str, float]) -> dict[int, str]:
    """A unique name for each segment of ``profile``, by the rules above.

    Parameters
    ----------
    profile : pandas.DataFrame
        One row per segment (index: segment number) with columns
        ``recency_median``, ``frequency_median`` and ``monetary_median``.
    overall : dict
        The medians over all customers: ``recency``, ``frequency``, ``monetary``.

    Returns
    -------
    names : dict of int to str
    """
    recent = profile["recency_median"] < overall["recency"]
    frequent = profile["frequency_median"] > overall["frequency"]
    high_spend = profile["monetary_median"] > overall["monetary"]
    base: dict[int, str] = {}
    for segment in profile.index:
        if recent[segment] and frequent[segment]:
            base[segment] = "Loyal"
        elif recent[segment]:
            base[segment] = "New"
        elif frequent[segment]:
            base[segment] = "At Risk"
        else:
            base[segment] = "Lost"
    candidates = profile[recent & frequent & high_spend]
    if len(candidates):
        # Highest median spend; equal spend -> the lower segment number (stable sort on the index).
        ordered = candidates.sort_index().sort_values("monetary_median", ascending=False, kind="stable")
        base[ordered.index[0]] = "Champions"
    names: dict[int, str] = {}
    for name in dict.fromkeys(base.values()):
        group = [s for s in profile.index if base[s] == name]
        if len(group) == 1:
            names[int(group[0])] = name
            continue
        names.update(_told_apart(profile.loc[sorted(group)], name))
    seen: dict[str, int] = {}
    for segment in sorted(names):
        seen[names[segment]] = seen.get(names[segment], 0) + 1
    for segment in sorted(names):
        if seen[names[segment]] > 1:
            names[segment] = f"{names[segment]} (segment {segment})"
    return {int(s): names[int(s)] for s in profile.index}


def _told_apart(group: pd.DataFrame, name: str) -> dict[int, str]:
    """Names for segments that share ``name``: qualified along the feature where they differ most."""
    spread = {}
    for feature in ("monetary", "frequency", "recency"):  # the order breaks ties in spread
        values = group[f"{feature}_median"].to_numpy(dtype=np.float64) + 1.0
        spread[feature] = float(np.max(values) / max(np.min(values), 1e-12))
    feature = max(spread, key=lambda f: spread[f])
    column = group[f"{feature}_median"]
    # Best first: most spend, most orders, most recent (fewest days); ties -> lower segment number.
    order = column.sort_index().sort_values(ascending=feature == "recency", kind="stable").index
    count = len(order)
    if count <= 3:
        words = _QUALIFIERS[feature][count - 2]
    else:
        words = [f"{_RANK_WORD[feature]} rank {rank} of {count}" for rank in range(1, count + 1)]
    return {int(segment): f"{name}, {word}" for segment, word in zip(order, words)}


def action_of(name: str) -> str:
    """The recommended action for a segment name (qualified names share their kind's action)."""
    for base in SEGMENT_NAMES:
        if name == base or name.startswith((base + ",", base + " (")):
            return SEGMENT_ACTIONS[base]
    return ""
