"""The model the anomaly job writes: plain data, checked on load, and scoring new flows exactly as the fit did."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecluster.datasets import make_transactions
from scalecluster.jobs import (
    AnomalyModel,
    ModelError,
    apply_anomaly_model,
    apply_model,
    detect_anomalies,
    drift,
    load_model,
    segment,
)

from .conftest import N_FLOWS

TRAFFIC_COLUMNS = ["bytes_out", "bytes_in", "packets_out", "packets_in", "duration"]


@pytest.fixture(scope="module")
def fitted(flows, tmp_path_factory):
    out = tmp_path_factory.mktemp("anomaly-model") / "anomalies"
    return detect_anomalies(flows, out=out, plots=False, verbose=False)


@pytest.fixture(scope="module")
def frame(flows):
    return pd.read_parquet(flows)


@pytest.fixture(scope="module")
def segmentation(tmp_path_factory):
    """A small customer segmentation's output folder (a model of the other job) and its transactions."""
    transactions, _ = make_transactions(300, random_state=0)
    out = tmp_path_factory.mktemp("segmentation") / "segments"
    segment(transactions, k=3, out=out, plots=False, verbose=False)
    return out, transactions


def _same_scores(scored: pd.DataFrame, labels: pd.DataFrame) -> None:
    assert scored.index.name == "row" and list(scored.columns) == ["cluster", "score"]
    assert np.array_equal(scored.index.to_numpy(), labels.index.to_numpy())
    assert np.array_equal(scored["cluster"].to_numpy(), labels["cluster"].to_numpy())
    assert np.array_equal(scored["score"].to_numpy(), labels["score"].to_numpy())  # exactly, not approximately


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_the_model_is_plain_data(fitted):
    folder = Path(fitted.paths["out"], "model")
    assert sorted(os.listdir(folder)) == ["core.npz", "model.json"]
    document = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert document["format"] == "scalecluster-anomaly-model" and document["format_version"] == 1
    assert document["id"] == fitted.model.id
    assert document["features"] == fitted.features and document["derived"] is True
    assert document["eps"] == fitted.eps and document["min_samples"] == fitted.min_samples
    assert document["columns"]["source"] == "src_ip" and document["columns"]["bytes_in"] == "bytes_in"
    assert [c["cluster"] for c in document["clusters"]] == list(range(len(fitted.groups)))
    assert "hosts" not in document
    with np.load(folder / "core.npz", allow_pickle=False) as arrays:  # no pickle needed
        assert str(arrays["model_id"]) == document["id"]
        assert list(arrays["features"]) == fitted.features
        assert arrays["core"].shape == (document["core"]["kept"], len(fitted.features))
    summary = json.loads(Path(fitted.paths["out"], "summary.json").read_text(encoding="utf-8"))
    assert summary["model_id"] == fitted.model.id


def test_a_loaded_model_reproduces_the_fit_exactly(fitted, flows):
    model = load_model(fitted.paths["out"])
    assert isinstance(model, AnomalyModel) and model.id == fitted.model.id
    assert model.eps == fitted.eps and model.features == fitted.features
    np.testing.assert_array_equal(model.density.core, fitted.model.density.core)
    scored = model.score(flows)
    assert isinstance(scored, pd.DataFrame) and len(scored) == N_FLOWS
    _same_scores(scored, fitted.labels)
    # The model/ folder itself loads too.
    assert load_model(os.path.join(fitted.paths["out"], "model")).id == fitted.model.id


def test_a_loaded_model_reproduces_the_fit_on_dask_partitioned_otherwise(fitted, frame):
    dd = pytest.importorskip("dask.dataframe")
    scored = load_model(fitted.paths["out"]).score(dd.from_pandas(frame, npartitions=5))  # the fit read 3 parts
    assert hasattr(scored, "compute")
    _same_scores(scored.compute().sort_index(), fitted.labels)


def test_apply_writes_labels_alerts_summary_and_report(fitted, flows, tmp_path):
    out = tmp_path / "applied"
    result = apply_anomaly_model(fitted.paths["out"], flows, out=out, plots=False, verbose=False)
    assert {"labels", "alerts.csv", "summary.json", "report.md", "report.html", "run.log"} <= set(os.listdir(out))
    labels = pd.read_parquet(out / "labels")
    written = pd.read_parquet(fitted.paths["labels"])
    pd.testing.assert_frame_equal(labels, written)  # the fit's labels/, to the last bit
    alerts = pd.read_csv(out / "alerts.csv")
    assert list(alerts["row"]) == list(fitted.alerts["row"]) and result.n_alerts == fitted.n_alerts
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["model_id"] == fitted.model.id and summary["alerts"] == fitted.n_alerts
    assert summary["n_flows"] == N_FLOWS and summary["metrics"] == fitted.metrics
    assert "new flows scored with a saved model" in (out / "report.md").read_text(encoding="utf-8")


def test_features_the_data_lacks_are_refused_naming_the_column_and_the_model(fitted, frame, tmp_path):
    out = tmp_path / "o"
    with pytest.raises(KeyError, match=r"^Column 'bytes_in' \(bytes_in=\) not found") as error:
        apply_anomaly_model(fitted.paths["out"], frame.drop(columns="bytes_in"), out=out, verbose=False)
    message = _one_line(error)
    assert f"The model ({fitted.model.id[:8]}) was fitted on traffic features from the columns" in message
    assert all(f"'{c}': '{c}'" in message for c in TRAFFIC_COLUMNS)
    # Renamed columns: refused, and scored the same once the model is told the new names.
    renamed = frame.rename(columns={"bytes_out": "sbytes", "duration": "dur"})
    with pytest.raises(KeyError, match=r"Column 'bytes_out' \(bytes_out=\) not found.*Did you mean") as error:
        apply_anomaly_model(fitted.paths["out"], renamed, out=out, verbose=False)
    _one_line(error)
    assert not out.exists()
    scored = load_model(fitted.paths["out"]).score(renamed, columns={"bytes_out": "sbytes", "duration": "dur"})
    _same_scores(scored, fitted.labels)
    with pytest.raises(ValueError, match=r"Unknown role\(s\) \['bytes'\] in columns"):
        apply_anomaly_model(fitted.paths["out"], renamed, columns={"bytes": "sbytes"}, verbose=False)


def test_a_model_of_columns_as_they_are_names_its_features(frame, tmp_path):
    own = detect_anomalies(frame.head(4_000), features=["bytes_out", "packets_out"], eps=0.3, min_samples=10,
                           out=tmp_path / "own", plots=False, verbose=False)
    model = load_model(tmp_path / "own")
    assert model.features == ["bytes_out", "packets_out"] and not model.flow.derived
    _same_scores(model.score(frame.head(4_000)), own.labels)
    out = tmp_path / "o"
    with pytest.raises(KeyError, match=r"Column 'packets_out' \(features=\) not found") as error:
        apply_anomaly_model(model, frame.drop(columns="packets_out"), out=out, verbose=False)
    assert "was fitted on features ['bytes_out', 'packets_out']" in _one_line(error)
    assert not out.exists()


def test_a_model_of_the_other_job_is_refused(fitted, frame, segmentation, tmp_path):
    segments, transactions = segmentation
    out = tmp_path / "o"
    with pytest.raises(ModelError, match=r"is a customer segmentation \(from 'scalecluster segment'\), not a "
                                         r"traffic-anomaly model .*scoring flows needs an anomaly model") as error:
        apply_anomaly_model(segments, frame, out=out, verbose=False)
    _one_line(error)
    with pytest.raises(ModelError, match="The model given is a SegmentModel, not a traffic-anomaly model"):
        apply_anomaly_model(load_model(segments), frame, out=out, verbose=False)
    # And the other way round: an anomaly model for drift or apply_model.
    with pytest.raises(ModelError, match=r"is a traffic-anomaly model .*, not a customer segmentation .*drift "
                                         r"compares customer segments") as error:
        drift(fitted.paths["out"], transactions, out=out, verbose=False)
    _one_line(error)
    with pytest.raises(ModelError, match=r"is a traffic-anomaly model .*apply_model labels customers"):
        apply_model(fitted.paths["out"], transactions, out=out, verbose=False)
    assert not out.exists()


# --------------------------------------------------------------------------- damaged folders


def _copy(fitted, tmp_path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(os.path.join(fitted.paths["out"], "model"), target)
    return target


def _edit(folder: Path, **changes) -> None:
    document = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    document.update(changes)
    (folder / "model.json").write_text(json.dumps(document), encoding="utf-8")


def _refused(folder, pattern: str, frame, tmp_path) -> str:
    """Refused in one line by load_model and by apply_anomaly_model, which writes nothing."""
    with pytest.raises(ModelError, match=pattern) as error:
        load_model(folder)
    message = _one_line(error)
    out = tmp_path / "refused"
    with pytest.raises(ModelError, match=pattern):
        apply_anomaly_model(folder, frame, out=out, verbose=False)
    assert not out.exists()
    return message


def test_a_truncated_model_json_is_one_line(fitted, frame, tmp_path):
    folder = _copy(fitted, tmp_path, "cut")
    text = (folder / "model.json").read_bytes()
    (folder / "model.json").write_bytes(text[: len(text) // 2])
    message = _refused(folder, r"model.json' is not a readable model file \(", frame, tmp_path)
    assert "cut short" in message


def test_a_truncated_core_file_is_one_line(fitted, frame, tmp_path):
    folder = _copy(fitted, tmp_path, "cut-core")
    data = (folder / "core.npz").read_bytes()
    (folder / "core.npz").write_bytes(data[: len(data) // 2])
    message = _refused(folder, r"core.npz cannot be read \(", frame, tmp_path)
    assert "damaged or cut short" in message
    (folder / "core.npz").unlink()
    _refused(folder, "lacks core.npz: copy the whole model/ folder", frame, tmp_path)


def test_core_points_of_another_run_are_refused(fitted, frame, tmp_path):
    other = detect_anomalies(frame.head(3_000), eps=0.3, min_samples=10, out=tmp_path / "other", plots=False,
                             verbose=False)
    assert other.model.id != fitted.model.id
    mixed = _copy(fitted, tmp_path, "mixed")
    shutil.copy(tmp_path / "other" / "model" / "core.npz", mixed / "core.npz")
    _refused(mixed, r"core.npz comes from another run \(id " + other.model.id[:8], frame, tmp_path)
    # Changed in place (the run's id kept): the checksum tells.
    changed = _copy(fitted, tmp_path, "changed")
    with np.load(changed / "core.npz", allow_pickle=False) as arrays:
        kept = {name: arrays[name] for name in arrays.files}
    kept["core"] = kept["core"] + 0.5
    with open(changed / "core.npz", "wb") as handle:
        np.savez(handle, **kept)
    _refused(changed, "core.npz was changed after the model was written", frame, tmp_path)


def test_a_newer_or_broken_model_json_is_refused(fitted, frame, tmp_path):
    future = _copy(fitted, tmp_path, "future")
    _edit(future, format_version=2)
    _refused(future, r"format version 2, newer than this scalecluster reads \(1\): upgrade scalecluster", frame,
             tmp_path)
    lacking = _copy(fitted, tmp_path, "lacking")
    document = json.loads((lacking / "model.json").read_text(encoding="utf-8"))
    del document["eps"]
    (lacking / "model.json").write_text(json.dumps(document), encoding="utf-8")
    _refused(lacking, "model.json' lacks eps", frame, tmp_path)
    features = _copy(fitted, tmp_path, "features")
    _edit(features, features=["bytes_out", "bytes_in"])
    _refused(features, r"its scaling does not fit its 2 features", frame, tmp_path)
