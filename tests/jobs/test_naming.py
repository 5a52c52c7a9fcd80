"""Segment names from profiles: the documented rules, ties and duplicates."""

from __future__ import annotations

import pandas as pd

from scalecluster.jobs import name_segments

OVERALL = {"recency": 100.0, "frequency": 3.0, "monetary": 200.0}


def _profile(rows):
    return pd.DataFrame(rows, columns=["recency_median", "frequency_median", "monetary_median", "revenue"])


def test_the_five_names():
    profile = _profile([
        (10, 30, 4000, 5000),  # recent, frequent, high spend
        (20, 10, 400, 2000),   # recent, frequent, high spend but less: Loyal
        (15, 1, 40, 100),      # recent, not frequent
        (200, 9, 600, 1500),   # frequent, not recent
        (500, 1, 30, 200),     # neither
    ])
    assert name_segments(profile, OVERALL) == {0: "Champions", 1: "Loyal", 2: "New", 3: "At Risk", 4: "Lost"}


def test_duplicates_get_suffixes_by_revenue_and_ties_are_deterministic():
    profile = _profile([
        (500, 1, 30, 100),
        (600, 1, 20, 300),     # also Lost, more revenue: keeps the plain name
        (10, 30, 900, 50),
        (10, 30, 900, 60),     # equal spend: Champions goes to the lower number (2)
    ])
    names = name_segments(profile, OVERALL)
    assert names == {0: "Lost 2", 1: "Lost", 2: "Champions", 3: "Loyal"}


def test_equal_to_the_overall_median_is_not_recent_or_frequent():
    profile = _profile([(100, 3, 200, 10), (50, 5, 500, 20)])
    assert name_segments(profile, OVERALL) == {0: "Lost", 1: "Champions"}
