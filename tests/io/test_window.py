"""parse_window: a time window as people write it, in whole seconds; and its one-line errors."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from scalecluster.io._window import parse_window, window_text


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h", 3600), ("15min", 900), ("90 s", 90), ("1d", 86400), ("2w", 1_209_600), ("30s", 30),
    ("1.5h", 5400), ("  10 minutes ", 600), ("1H", 3600), ("2 hours", 7200), (".5m", 30),
])
def test_text_windows(text, seconds):
    assert parse_window(text) == seconds


def test_timedeltas_and_seconds_are_taken_as_they_are():
    assert parse_window(datetime.timedelta(hours=1)) == 3600
    assert parse_window(datetime.timedelta(minutes=15)) == 900
    assert parse_window(pd.Timedelta(days=1)) == 86400
    assert parse_window(3600) == 3600
    assert parse_window(1) == 1
    assert type(parse_window("1h")) is int


@pytest.mark.parametrize("value", ["", "h", "1", "one hour", "1 fortnight", "1h30min", "-1h", "1e3s", "1,5h"])
def test_text_that_is_not_a_number_and_a_unit_is_refused(value):
    with pytest.raises(ValueError, match=r"window must be a length of time like 1h, 15min, 30s or 1d") as info:
        parse_window(value)
    assert repr(value) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("value", ["0s", "0.5s", "1.5s", 0, -60, datetime.timedelta(0),
                                   datetime.timedelta(milliseconds=1500), datetime.timedelta(seconds=-5)])
def test_windows_shorter_than_a_second_or_not_whole_seconds_are_refused(value):
    with pytest.raises(ValueError, match=r"window must be a whole number of seconds, at least 1 s; got "):
        parse_window(value)


@pytest.mark.parametrize("value", [True, None, 1.0, [3600]])
def test_other_types_are_refused(value):
    with pytest.raises(ValueError, match="window must be"):
        parse_window(value)


def test_window_text_reads_back():
    for text in ("1h", "15min", "90s", "1d", "2w"):
        assert window_text(parse_window(text)) == text
