"""Names for customer segments, from their RFM profile, by fixed rules.

The rules compare each segment's *median* recency, frequency and monetary
value with the medians over all customers:

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
segment number).  Names are unique: when several segments get the same name,
the one with the largest revenue keeps it and the others get " 2", " 3", …
in order of decreasing revenue.
"""

from __future__ import annotations

import pandas as pd

SEGMENT_NAMES = ("Champions", "Loyal", "New", "At Risk", "Lost")


def name_segments(profile: pd.DataFrame, overall: dict[str, float]) -> dict[int, str]:
    """A unique name for each segment of ``profile``, by the rules above.

    Parameters
    ----------
    profile : pandas.DataFrame
        One row per segment (index: segment number) with columns
        ``recency_median``, ``frequency_median``, ``monetary_median`` and
        ``revenue``.
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
        group = profile.loc[[s for s in profile.index if base[s] == name]]
        group = group.sort_index().sort_values("revenue", ascending=False, kind="stable")
        for rank, segment in enumerate(group.index):
            names[int(segment)] = name if rank == 0 else f"{name} {rank + 1}"
    return {s: names[int(s)] for s in profile.index}
