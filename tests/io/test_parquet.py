"""read_parquet and to_parquet: round trips, clear errors, atomic writes."""

from __future__ import annotations

import os

import dask.array as da
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scalecluster import KMeans
from scalecluster.io import read_parquet, to_parquet


@pytest.fixture
def frame():
    rng = np.random.RandomState(0)
    return pd.DataFrame(
        {
            "spend": rng.gamma(2.0, 50.0, 1000),
            "visits": rng.poisson(3, 1000).astype(np.int64),
            "ratio": rng.uniform(size=1000).astype(np.float32),
            "country": rng.choice(["fr", "de", "us"], 1000),
        }
    )


def _write(frame, path, row_group_size=300):
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size)


def test_round_trip_values_order_and_known_chunks(tmp_path, frame):
    _write(frame.iloc[:600], tmp_path / "a.parquet")
    _write(frame.iloc[600:], tmp_path / "b.parquet")
    X = read_parquet(tmp_path, columns=["spend", "visits"], dtype="float64")
    assert isinstance(X, da.Array)
    assert X.chunks == ((300, 300, 300, 100), (2,))  # one chunk per row group, known without computing
    np.testing.assert_array_equal(X.compute(), frame[["spend", "visits"]].to_numpy(dtype=np.float64))
    assert read_parquet(tmp_path / "a.parquet", columns=["ratio"]).dtype == np.float32
    assert read_parquet(str(tmp_path / "*.parquet"), columns=["visits"], blocksize=250).chunks[0] == (250, 250, 250, 250)


def test_hive_partitions_and_filters(tmp_path, frame):
    import pyarrow.dataset as ds

    for year in (2023, 2024):
        folder = tmp_path / f"year={year}"
        folder.mkdir()
        _write(frame.iloc[:500] if year == 2023 else frame.iloc[500:], folder / "part.parquet")
    X = read_parquet(tmp_path, columns=["spend", "year"], dtype="float64")
    assert X.shape == (1000, 2)
    assert set(np.unique(X[:, 1].compute())) == {2023.0, 2024.0}
    only = read_parquet(tmp_path, columns=["spend"], filters=ds.field("year") == 2024, dtype="float64")
    np.testing.assert_array_equal(only.compute()[:, 0], frame["spend"].to_numpy()[500:])


def test_kmeans_fits_parquet(tmp_path, frame):
    _write(frame, tmp_path / "data.parquet")
    X = read_parquet(tmp_path / "data.parquet", columns=["spend", "visits", "ratio"])
    km = KMeans(n_clusters=3, random_state=0).fit(X)
    ref = KMeans(n_clusters=3, random_state=0).fit(X.compute())
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


def test_errors_name_the_problem(tmp_path, frame):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_parquet(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="No file matches"):
        read_parquet(str(tmp_path / "*.parquet"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no data files"):
        read_parquet(tmp_path / "empty")
    _write(frame, tmp_path / "good.parquet")
    with pytest.raises(TypeError, match=r"\['country'\] are not numeric"):
        read_parquet(tmp_path / "good.parquet")
    with pytest.raises(ValueError, match=r"\['nope'\] not found; available columns: \['spend', 'visits', 'ratio', 'country'\]"):
        read_parquet(tmp_path / "good.parquet", columns=["spend", "nope"])
    with pytest.raises(ValueError, match="blocksize"):
        read_parquet(tmp_path / "good.parquet", columns=["spend"], blocksize=0)
    bad = tmp_path / "corrupt" / "broken.parquet"
    bad.parent.mkdir()
    bad.write_bytes(b"PAR1 this is not parquet")
    _write(frame, tmp_path / "corrupt" / "fine.parquet")
    with pytest.raises(ValueError, match="broken.parquet' is not a readable Parquet file"):
        read_parquet(tmp_path / "corrupt", columns=["spend"])


@pytest.mark.parametrize("lazy", [False, True])
def test_to_parquet_round_trip(tmp_path, lazy):
    labels = np.arange(100, dtype=np.int32) % 7
    ids = np.arange(100) * 10
    data = da.from_array(labels, chunks=30) if lazy else labels
    out = to_parquet(data, tmp_path / "labels.parquet", extra={"row_id": ids})
    back = pd.read_parquet(out)
    np.testing.assert_array_equal(back["label"], labels)
    np.testing.assert_array_equal(back["row_id"], ids)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        to_parquet(data, out)
    to_parquet(data, out, overwrite=True)
    with pytest.raises(ValueError, match="has 3 rows; the labels have 100"):
        to_parquet(data, tmp_path / "x.parquet", extra={"row_id": ids[:3]})


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    """A crash mid-write leaves neither the output nor a temporary file behind."""
    labels = np.arange(1000) % 3

    def crash(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"PAR1 half written")
        raise KeyboardInterrupt("interrupted mid-write")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash)
    with pytest.raises(KeyboardInterrupt):
        to_parquet(labels, tmp_path / "labels.parquet")
    assert os.listdir(tmp_path) == []


def test_kmeans_without_persisting_rereads_and_agrees(tmp_path, frame, monkeypatch):
    import scalecluster.io._parquet as parquet_module

    _write(frame, tmp_path / "data.parquet", row_group_size=100)
    reads = []
    original = parquet_module._read_fragment
    monkeypatch.setattr(parquet_module, "_read_fragment", lambda *a: reads.append(1) or original(*a))
    X = read_parquet(tmp_path / "data.parquet", columns=["spend", "visits", "ratio"])
    init = X[:3].compute()
    kept = KMeans(n_clusters=3, init=init, persist=True).fit(X)
    reads_when_kept = len(reads)
    streamed = KMeans(n_clusters=3, init=init, persist=False).fit(X)
    assert streamed.inertia_ == pytest.approx(kept.inertia_, rel=1e-9)
    # Persisted: the 10 row groups are read once (plus the init's slice). Not
    # persisted: read again in every Lloyd pass.
    assert reads_when_kept <= 10 + 1
    assert len(reads) - reads_when_kept >= 10 * streamed.n_iter_


def test_auto_persist_decides_from_cluster_memory(tmp_path, frame, caplog, monkeypatch):
    import logging

    import scalecluster.cluster.kmeans._estimator as kmeans_module

    _write(frame, tmp_path / "data.parquet")
    X = read_parquet(tmp_path / "data.parquet", columns=["spend", "visits"])
    monkeypatch.setattr(kmeans_module, "_cluster_memory_bytes", lambda: 1000.0)  # a tiny cluster
    with caplog.at_level(logging.WARNING, logger="scalecluster"):
        model = KMeans(n_clusters=2, random_state=0).fit(X)
    assert "not persisting it" in caplog.text
    assert np.isfinite(model.inertia_)


def test_only_requested_columns_are_read(tmp_path, frame, monkeypatch):
    import scalecluster.io._parquet as parquet_module

    _write(frame, tmp_path / "data.parquet")
    asked = []
    original = parquet_module._read_fragment
    monkeypatch.setattr(parquet_module, "_read_fragment", lambda f, s, cols, *a: asked.append(list(cols)) or original(f, s, cols, *a))
    X = read_parquet(tmp_path / "data.parquet", columns=["visits"])
    X.compute()
    assert asked and all(cols == ["visits"] for cols in asked)


# --------------------------------------------------------------------------- every file's footer


@pytest.fixture
def parts(tmp_path):
    """A folder of two good parts (x, y as float64); tests add a bad third one."""
    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(2):
        pq.write_table(pa.table({"x": np.arange(200.0), "y": np.ones(200)}), folder / f"part-{i}.parquet")
    return folder


def _no_data_read(monkeypatch):
    import scalecluster.io._parquet as parquet_module

    def fail(*args):
        raise AssertionError("data was read")

    monkeypatch.setattr(parquet_module, "_read_fragment", fail)


def test_a_file_without_a_column_is_named_before_any_data_is_read(parts, monkeypatch):
    pq.write_table(pa.table({"x": np.arange(400.0)}), parts / "part-2.parquet")
    _no_data_read(monkeypatch)
    message = r"Column 'y' is missing from '.*part-2.parquet', but is in '.*part-0.parquet'; every file must hold"
    with pytest.raises(ValueError, match=message):
        read_parquet(parts, columns=["x", "y"])
    with pytest.raises(ValueError, match=message):
        read_parquet(parts)  # all columns
    monkeypatch.undo()
    assert read_parquet(parts, columns=["x"]).shape == (800, 1)  # a column every file holds is fine


def test_a_column_missing_from_the_first_file_is_named(parts):
    pq.write_table(pa.table({"x": np.arange(10.0)}), parts / "part-0.parquet")
    pq.write_table(pa.table({"x": np.arange(10.0)}), parts / "part-00.parquet")
    with pytest.raises(ValueError, match=r"'y' is missing from '.*part-0.parquet' \(and 1 other file\), but is in "
                                         r"'.*part-1.parquet'"):
        read_parquet(parts, columns=["y"])


def test_a_file_with_text_in_a_numeric_column_is_named_before_any_data_is_read(parts, monkeypatch):
    pq.write_table(pa.table({"x": np.arange(3.0), "y": ["abc", "1", "2"]}), parts / "part-2.parquet")
    _no_data_read(monkeypatch)
    with pytest.raises(ValueError, match=r"Column 'y' is string in '.*part-2.parquet' but double in "
                                         r"'.*part-0.parquet'; every file must hold it as a number"):
        read_parquet(parts, columns=["y"])


def test_numeric_types_that_differ_between_files_are_read_as_one(tmp_path):
    pq.write_table(pa.table({"v": pa.array([1, 2], pa.int32())}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"v": pa.array([3.5, 4.5])}), tmp_path / "b.parquet")  # would truncate as int32
    pq.write_table(pa.table({"v": pa.array([5, 6], pa.int64())}), tmp_path / "c.parquet")
    X = read_parquet(tmp_path, dtype="float64")
    np.testing.assert_array_equal(X.compute()[:, 0], [1, 2, 3.5, 4.5, 5, 6])
    (tmp_path / "b.parquet").unlink()
    np.testing.assert_array_equal(read_parquet(tmp_path, dtype="int64").compute()[:, 0], [1, 2, 5, 6])


def test_an_unreadable_folder_is_not_called_empty(parts, monkeypatch):
    parts.chmod(0)
    try:
        if os.access(parts, os.R_OK):  # root reads anything: refuse as the kernel would for others
            real = os.scandir

            def scandir(path="."):
                if os.fspath(path) == str(parts):
                    raise PermissionError(13, "Permission denied", str(parts))
                return real(path)

            monkeypatch.setattr(os, "scandir", scandir)
        with pytest.raises(PermissionError, match=r"The folder '.*parts' cannot be read \(Permission denied\); "
                                                  "check its permissions"):
            read_parquet(parts)
    finally:
        parts.chmod(0o755)


def test_a_file_whose_name_looks_like_a_glob_is_that_file(tmp_path, frame):
    _write(frame, tmp_path / "weird[1].parquet")
    assert read_parquet(tmp_path / "weird[1].parquet", columns=["spend"]).shape == (1000, 1)
    assert read_parquet(str(tmp_path / "weird*.parquet"), columns=["spend"]).shape == (1000, 1)  # still a glob
