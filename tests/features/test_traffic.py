"""traffic_features: formulas, zero divisions handled and counted, pandas = Dask."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from scalecluster.datasets import make_flows
from scalecluster.features import TRAFFIC_FEATURES, traffic_features


@pytest.fixture
def flows():
    return pd.DataFrame(
        {
            "sbytes": [1000, 60, 0, 500, np.nan],
            "dbytes": [3000, 0, 0, 500, 10],
            "spkts": [6, 1, 0, 5, 1],
            "dpkts": [4, 0, 0, 5, 1],
            "dur": [2.0, 0.0, 0.0, 0.5, 1.0],
        }
    )


COLUMNS = {
    "bytes_out": "sbytes",
    "bytes_in": "dbytes",
    "packets_out": "spkts",
    "packets_in": "dpkts",
    "duration": "dur",
}


def test_values_and_report(flows):
    out, report = traffic_features(flows, columns=COLUMNS)
    assert list(out.columns) == list(TRAFFIC_FEATURES)
    assert out.index.tolist() == [
        0,
        1,
        2,
        3,
    ]  # the NaN row is dropped; the index is kept
    np.testing.assert_allclose(out["total_bytes"], [4000, 60, 0, 1000])
    np.testing.assert_allclose(
        out["bytes_per_packet"], [400, 60, 0, 100]
    )  # no packets -> 0
    np.testing.assert_allclose(out["send_receive_ratio"], [1001 / 3001, 61, 1, 1])
    np.testing.assert_allclose(
        out["packets_per_second"], [5, 1000, 0, 20]
    )  # duration 0 -> 1 ms
    np.testing.assert_allclose(out["duration"], [2, 1e-3, 1e-3, 0.5])
    assert np.isfinite(out.to_numpy()).all()
    assert (
        report.n_rows,
        report.missing,
        report.zero_packets,
        report.no_reply,
        report.short_duration,
    ) == (
        5,
        1,
        1,
        2,
        2,
    )
    assert "+ 1" in report.rules["no_reply"]


def test_missing_zero_and_raise(flows):
    out, report = traffic_features(flows, columns=COLUMNS, missing="zero")
    assert len(out) == 5 and out.loc[4, "total_bytes"] == 10 and report.missing == 1
    with pytest.raises(ValueError, match="'sbytes' has missing"):
        traffic_features(flows, columns=COLUMNS, missing="raise")
    with pytest.raises(ValueError, match="missing must be"):
        traffic_features(flows, columns=COLUMNS, missing="ignore")


def test_pandas_and_dask_agree():
    flows = make_flows(3000, anomaly_fraction=0.05, random_state=5).flows
    expected, report = traffic_features(flows)
    lazy, lazy_report = traffic_features(dd.from_pandas(flows, npartitions=3))
    assert isinstance(lazy, dd.DataFrame)
    pd.testing.assert_frame_equal(lazy.compute(), expected)
    assert lazy_report.compute() == report
    assert (
        report.no_reply > 0 and report.short_duration > 0
    )  # scans without reply, duration 0


def test_errors_name_the_column(flows):
    with pytest.raises(
        KeyError,
        match=r"'bytes_out' \(bytes_out=\) not found; available columns: \['sbytes'",
    ):
        traffic_features(flows)
    with pytest.raises(TypeError, match="'dur' must be numeric"):
        traffic_features(flows.assign(dur="long"), columns=COLUMNS)
    with pytest.raises(ValueError, match=r"Unknown role\(s\) \['bytes'\]"):
        traffic_features(flows, columns={"bytes": "sbytes"})
