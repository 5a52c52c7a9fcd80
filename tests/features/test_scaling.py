"""scale and log1p: sklearn's numbers, invertible, pandas = Dask."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import RobustScaler, StandardScaler

from scalecluster.features import log1p, scale


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "spend": rng.lognormal(4, 1, 500),
            "visits": rng.poisson(5, 500),
            "constant": np.ones(500),
        },
        index=pd.RangeIndex(100, 600),
    )


def test_standard_matches_sklearn(frame):
    out, fitted = scale(frame)
    np.testing.assert_allclose(
        out.to_numpy(), StandardScaler().fit_transform(frame), atol=1e-12
    )
    assert out.index.equals(frame.index) and fitted.scale["constant"] == 1.0


def test_robust_matches_sklearn(frame):
    out, _ = scale(frame, method="robust")
    np.testing.assert_allclose(
        out.to_numpy(), RobustScaler().fit_transform(frame), atol=1e-12
    )


@pytest.mark.parametrize("method", ["standard", "robust", "none"])
def test_inverse_recovers_original_units(frame, method):
    out, fitted = scale(frame, method=method, log=["spend", "visits"])
    np.testing.assert_allclose(
        fitted.inverse_transform(out).to_numpy(), frame.to_numpy(), atol=1e-9
    )
    # Cluster centres come back as arrays.
    centre = fitted.inverse_transform(out.to_numpy()[:2])
    np.testing.assert_allclose(centre.to_numpy(), frame.to_numpy()[:2], atol=1e-9)
    pd.testing.assert_frame_equal(fitted.transform(frame), out)


def test_log_then_scale(frame):
    out, fitted = scale(frame, columns=["spend"], log=True)
    assert list(out.columns) == ["spend"] and fitted.log == ["spend"]
    np.testing.assert_allclose(out["spend"].mean(), 0, atol=1e-12)
    assert fitted.center["spend"] == pytest.approx(np.log1p(frame["spend"]).mean())
    pd.testing.assert_frame_equal(
        log1p(frame, ["spend"])[["visits"]], frame[["visits"]]
    )


def test_dask_agrees_with_pandas(frame):
    lazy = dd.from_pandas(frame, npartitions=4)
    expected, fitted = scale(frame, log=["spend"])
    out, lazy_fitted = scale(lazy, log=["spend"])
    assert isinstance(out, dd.DataFrame)
    pd.testing.assert_frame_equal(out.compute(), expected)
    pd.testing.assert_series_equal(lazy_fitted.center, fitted.center)
    # Robust on Dask: merged per-partition quantile sketches, close to exact.
    _, robust = scale(lazy[["spend"]], method="robust")
    _, exact = scale(frame[["spend"]], method="robust")
    np.testing.assert_allclose(robust.center, exact.center, rtol=0.01)
    np.testing.assert_allclose(robust.scale, exact.scale, rtol=0.02)
    pd.testing.assert_frame_equal(log1p(lazy).compute(), log1p(frame))


def test_errors(frame):
    with pytest.raises(
        KeyError, match=r"'age' \(columns=\) not found; available columns"
    ):
        scale(frame, columns=["spend", "age"])
    with pytest.raises(ValueError, match="method must be one of"):
        scale(frame, method="minmax")
    with pytest.raises(ValueError, match=r"\['spend'\] have negative values"):
        scale(frame.assign(spend=-frame["spend"]), log=["spend"])
    with pytest.raises(TypeError, match="'name' must be numeric"):
        scale(frame.assign(name="x"))
