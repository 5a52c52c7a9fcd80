"""drop_outliers: Tukey fences and quantile bounds, with a report of what went."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from scalecluster.features import drop_outliers


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "x": [1.0, 2, 3, 4, 5, 6, 7, 8, 100],
            "y": [10.0, 11, 12, 13, 14, 15, 16, -50, 17],
        }
    )


def test_iqr_fences(frame):
    kept, report = drop_outliers(frame)
    assert kept.index.tolist() == list(range(7))
    assert (report.n_rows, report.n_dropped, report.by_column) == (
        9,
        2,
        {"x": 1, "y": 1},
    )
    # x: q1=3, q3=7, iqr=4 -> [-3, 13]
    assert report.bounds["x"] == pytest.approx((-3.0, 13.0))
    assert "Dropped 2 of 9 rows (iqr)" in str(report)


def test_quantile_bounds_and_columns(frame):
    kept, report = drop_outliers(frame, "quantile", columns=["x"], quantiles=(0.0, 0.8))
    assert report.n_dropped == 2 and list(report.bounds) == ["x"]
    assert kept["x"].max() <= report.bounds["x"][1]


def test_none_keeps_everything(frame):
    kept, report = drop_outliers(frame, None)
    assert (
        kept is frame and report.n_dropped == 0 and str(report) == "No outlier removal."
    )


def test_log_scale_keeps_a_heavy_tail():
    spend = pd.DataFrame({"spend": np.random.default_rng(0).lognormal(4, 1, 5000)})
    _, raw = drop_outliers(spend)
    _, logged = drop_outliers(spend, log=True)
    assert logged.n_dropped < raw.n_dropped / 5
    low, high = logged.bounds["spend"]
    assert 0 < low < np.exp(4 - 2) and high > np.exp(4 + 2)  # in original units


def test_dask_agrees_with_pandas(frame):
    kept, report = drop_outliers(dd.from_pandas(frame, npartitions=1))
    assert isinstance(kept, dd.DataFrame)
    expected, expected_report = drop_outliers(frame)
    pd.testing.assert_frame_equal(kept.compute(), expected)
    assert report.compute() == expected_report
    # Printing a lazy report computes nothing: it shows the bounds and says how to get the counts.
    assert "call .compute()" in str(report) and "Scalar" not in str(report)
    assert str(report.compute()) == str(expected_report)


def test_dask_partitions_give_nearly_exact_bounds():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=4000), "b": rng.lognormal(size=4000)})
    _, expected = drop_outliers(frame, "quantile")
    kept, report = drop_outliers(dd.from_pandas(frame, npartitions=7), "quantile")
    report = report.compute()
    for column in ("a", "b"):  # rank error well under 0.5 % of the rows
        low, high = report.bounds[column]
        assert abs((frame[column] < low).mean() - 0.01) < 0.002
        assert abs((frame[column] > high).mean() - 0.01) < 0.002
    assert abs(report.n_dropped - expected.n_dropped) <= 12  # 0.3 % of the rows
    assert len(kept.compute()) == 4000 - report.n_dropped


def test_errors(frame):
    with pytest.raises(ValueError, match="method must be one of"):
        drop_outliers(frame, "zscore")
    with pytest.raises(KeyError, match=r"'z' \(columns=\) not found"):
        drop_outliers(frame, columns=["z"])
    with pytest.raises(ValueError, match="quantiles must be"):
        drop_outliers(frame, "quantile", quantiles=(0.9, 0.1))
