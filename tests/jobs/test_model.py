"""The model a segmentation writes: plain data, checked on load, applied next month with the published
numbers and names, and compared with new data for drift."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecluster.datasets import make_transactions
from scalecluster.jobs import ModelError, apply_model, drift, load_model, segment


@pytest.fixture(scope="module")
def fitted(transactions, tmp_path_factory):
    path, _ = transactions
    out = tmp_path_factory.mktemp("model") / "segments"
    return segment(path, order="order_id", k=5, out=out, plots=False, verbose=False)


def test_the_model_is_plain_data(fitted):
    folder = os.path.join(fitted.paths["out"], "model")
    files = sorted(os.listdir(folder))
    assert files == ["centres.npz", "customers", "model.json"]
    document = json.loads(Path(folder, "model.json").read_text(encoding="utf-8"))
    assert document["format"] == "scalecluster-segment-model" and document["format_version"] == 1
    assert document["columns"] == {"customer": "customer_id", "timestamp": "timestamp", "amount": "revenue",
                                   "order": "order_id"}
    assert document["reference"]["rule"] == "last"
    assert [s["segment"] for s in document["segments"]] == list(range(5))
    assert [s["name"] for s in document["segments"]] == [fitted.names[s] for s in range(5)]
    assert all(s["action"] for s in document["segments"])
    assert set(document["scaling"]) == {"method", "log", "center", "scale"}
    with np.load(os.path.join(folder, "centres.npz"), allow_pickle=False) as arrays:  # no pickle needed
        assert arrays["centres"].shape == (5, 3)
        assert str(arrays["model_id"]) == document["id"]
    customers = pd.read_parquet(os.path.join(folder, "customers"))
    assert list(customers.columns) == ["customer", "segment"] and len(customers) == fitted.n_customers


def test_predict_gives_the_published_numbers(fitted):
    model = fitted.model
    features = fitted.customers[["recency", "frequency", "monetary"]]
    assert (model.predict(features) == fitted.labels.to_numpy()).all()
    # The estimator keeps its own numbering; the mapping to published numbers is explicit.
    scaled = model.transform(features).to_numpy()
    clusters = np.asarray(fitted.estimator.predict(scaled))
    assert (fitted.segment_of_cluster[clusters] == fitted.labels.to_numpy()).mean() > 0.999
    profile_spend = fitted.profile["monetary_mean"].to_numpy()
    centre_spend = model.scaling.inverse_transform(model.centres)["monetary"].to_numpy()
    assert (np.diff(centre_spend) <= 0).all() and len(profile_spend) == 5  # 0: the biggest spenders


def test_apply_on_the_training_data_reproduces_labels_and_names(fitted, transactions, tmp_path):
    path, _ = transactions
    model = load_model(fitted.paths["out"])
    assert model.id == fitted.model.id and model.names == fitted.names
    np.testing.assert_array_equal(model.centres, fitted.model.centres)
    assigned = model.assign(path)
    expected = fitted.customers
    assert list(assigned.index) == list(expected.index)
    assert (assigned["segment"] == expected["segment"]).all()
    assert (assigned["segment_name"] == expected["segment"].map(fitted.names)).all()
    assert (assigned["outlier"] == expected["outlier"]).all()
    result = apply_model(os.path.join(fitted.paths["out"], "model"), path, out=tmp_path / "applied", plots=False,
                         verbose=False)
    labels = pd.read_parquet(tmp_path / "applied" / "labels").set_index("customer_id")
    written = pd.read_parquet(os.path.join(fitted.paths["out"], "labels")).set_index("customer_id")
    pd.testing.assert_frame_equal(labels.sort_index(), written.sort_index())
    assert (result.profile["share"] == result.profile["share_then"]).all()
    assert "## Data quality" in Path(result.paths["report_md"]).read_text(encoding="utf-8")


def test_apply_on_dask_gives_the_same_segments(fitted, transactions, client):
    path, _ = transactions
    on_dask = apply_model(fitted.paths["out"], path, client=client, plots=False, verbose=False)
    labels = on_dask.labels.compute()
    assert (labels == fitted.labels.loc[labels.index]).all() and len(labels) == fitted.n_customers


def _copy(fitted, tmp_path, name: str = "copy") -> str:
    target = tmp_path / name
    shutil.copytree(os.path.join(fitted.paths["out"], "model"), target)
    return str(target)


def _edit(folder: str, **changes) -> None:
    path = os.path.join(folder, "model.json")
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    document.update(changes)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)


def _refused(folder, pattern: str, error=ModelError) -> str:
    with pytest.raises(error, match=pattern) as info:
        load_model(folder)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_a_foreign_future_or_mixed_model_is_refused_in_one_line(fitted, flows, tmp_path, transactions):
    _refused(tmp_path / "nowhere", "No such model folder", FileNotFoundError)
    (tmp_path / "empty").mkdir()
    _refused(tmp_path / "empty", "holds no model .* give the --out folder of a 'scalecluster segment' or 'scalecluster anomalies' run")
    future = _copy(fitted, tmp_path, "future")
    _edit(future, format_version=2)
    _refused(future, r"format version 2, newer than this scalecluster reads \(1\): upgrade scalecluster")
    other = _copy(fitted, tmp_path, "other")
    _edit(other, format="some-other-model")
    _refused(other, "is not a scalecluster model")
    # centres.npz of another run beside this model.json: refused, not silently mixed.
    path, _ = transactions
    again = segment(path, order="order_id", k=5, out=tmp_path / "again", plots=False, verbose=False)
    mixed = _copy(fitted, tmp_path, "mixed")
    shutil.copy(os.path.join(again.paths["out"], "model", "centres.npz"), os.path.join(mixed, "centres.npz"))
    _refused(mixed, r"centres.npz comes from another run")
    damaged = _copy(fitted, tmp_path, "damaged")
    with np.load(os.path.join(damaged, "centres.npz"), allow_pickle=False) as arrays:
        model_id = arrays["model_id"]
    with open(os.path.join(damaged, "centres.npz"), "wb") as handle:
        np.savez(handle, centres=np.zeros((5, 3)), model_id=model_id)
    _refused(damaged, "was changed after the model was written")
    shapes = _copy(fitted, tmp_path, "shapes")
    document = json.loads(Path(shapes, "model.json").read_text(encoding="utf-8"))
    _edit(shapes, segments=document["segments"][:4])
    _refused(shapes, r"does not hold together \(centres of shape \(5, 3\), 4 segments")
    with pytest.raises(ModelError, match="newer than this scalecluster reads"):
        apply_model(future, path, verbose=False)


def test_drift_of_a_dataset_against_itself_is_no_drift(fitted, transactions, tmp_path):
    path, _ = transactions
    result = drift(fitted.paths["out"], path, out=tmp_path / "drift", verbose=False)
    assert not result.drifted and result.flagged == []
    assert (result.psi["psi"] == 0).all()
    table = result.segments
    assert (table["share_now"] == table["share_then"]).all()
    for feature in ("recency", "frequency", "monetary"):
        assert (table[f"{feature}_shift"] == 0).all()
    assert result.returning == fitted.n_customers and result.changed == 0
    assert (np.diag(result.transitions.to_numpy()) == fitted.profile["customers"].to_numpy()).all()
    out = tmp_path / "drift"
    assert {"drift.csv", "psi.csv", "transitions.csv", "quality.csv", "summary.json", "drift.png", "report.md",
            "report.html", "run.log"} <= set(os.listdir(out))
    assert "No drift" in (out / "report.md").read_text(encoding="utf-8")


def test_drift_flags_segments_that_moved(fitted, transactions, tmp_path):
    # Next month: the same customers three months on, with no new orders (all lapse), and a new, blurred cohort.
    path, _ = transactions
    frame = pd.read_parquet(path)
    later = pd.Timestamp(fitted.info["reference_date"]) + pd.Timedelta(days=90)
    newcomers, _ = make_transactions(2_000, blur=1.0, random_state=5, reference_date=later)
    newcomers["customer_id"] += 10_000_000
    result = drift(fitted.model, pd.concat([frame, newcomers], ignore_index=True), reference_date=later,
                   plots=False, verbose=False)
    assert result.drifted and result.flagged
    assert result.returning == fitted.n_customers and result.changed > 0
    assert result.psi.set_index("feature").loc["recency", "psi"] >= 0.1
    champions = next(s for s, n in fitted.names.items() if n == "Champions")
    assert champions in result.flagged  # lapsed by three months: no longer recent, many left
    assert "Drift: segments that moved" in result.summary()


def test_a_model_written_on_dask_labels_the_same_customers_in_memory(fitted, transactions, client, tmp_path):
    path, _ = transactions
    on_dask = segment(path, order="order_id", k=5, client=client, out=tmp_path / "dask", plots=False, verbose=False)
    assert len(pd.read_parquet(tmp_path / "dask" / "model" / "customers")) == on_dask.n_customers
    assigned = load_model(tmp_path / "dask").assign(path)
    labels = on_dask.labels.compute()
    assert (assigned["segment"] == labels.loc[assigned.index]).all()
    assert on_dask.model.names == fitted.names
