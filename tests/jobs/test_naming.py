"""Segment names from profiles: the documented rules, ties and duplicates."""

from __future__ import annotations

import pandas as pd

from scalecluster.jobs import SEGMENT_ACTIONS, action_of, name_segments

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


def test_segments_of_one_kind_are_told_apart_by_what_differs_most():
    profile = _profile([
        (500, 1, 30, 100),
        (600, 1, 90, 300),     # also Lost: differs most in spend
        (10, 30, 900, 50),
        (10, 30, 900, 60),     # equal spend: Champions goes to the lower number (2), this one is Loyal
    ])
    names = name_segments(profile, OVERALL)
    assert names == {0: "Lost, low spend", 1: "Lost, high spend", 2: "Champions", 3: "Loyal"}
    assert action_of(names[0]) == action_of("Lost") == SEGMENT_ACTIONS["Lost"]


def test_three_and_more_of_a_kind_and_identical_profiles_stay_unique():
    two = _profile([(20, 30, 900, 1), (30, 5, 300, 1), (25, 20, 350, 1), (500, 1, 30, 1)])
    names = name_segments(two, OVERALL)  # one Champions; two Loyal, differing most in orders (6 vs 21)
    assert names == {0: "Champions", 1: "Loyal, occasional", 2: "Loyal, frequent", 3: "Lost"}
    three = _profile([(500, 1, 30, 1), (500, 1, 60, 1), (500, 1, 120, 1)])
    assert name_segments(three, OVERALL) == {0: "Lost, low spend", 1: "Lost, mid spend", 2: "Lost, high spend"}
    lost = _profile([(400 + 100 * i, 1, 30, 1) for i in range(4)])
    assert list(name_segments(lost, OVERALL).values()) == [f"Lost, recency rank {r} of 4" for r in range(1, 5)]
    same = _profile([(500, 1, 30, 1), (500, 1, 30, 1)])
    names = name_segments(same, OVERALL)
    assert len(set(names.values())) == 2 and all(n.startswith("Lost") for n in names.values())
    for name in names.values():
        assert action_of(name) == SEGMENT_ACTIONS["Lost"]


def test_equal_to_the_overall_median_is_not_recent_or_frequent():
    profile = _profile([(100, 3, 200, 10), (50, 5, 500, 20)])
    assert name_segments(profile, OVERALL) == {0: "Lost", 1: "Champions"}
