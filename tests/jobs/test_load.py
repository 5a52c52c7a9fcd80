"""Reading a job's input: Parquet file / folder / glob, CSV; clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from scalecluster.jobs._load import load_table


@pytest.fixture
def table(tmp_path):
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]})
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:2].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[2:].to_parquet(folder / "part-1.parquet", index=False)
    (folder / "_metadata.json").write_text("{}")
    frame.to_csv(tmp_path / "table.csv", index=False)
    return frame, tmp_path


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("where", ["parts", "parts/part-0.parquet", "parts/*.parquet", "table.csv", "*.csv"])
def test_reads_parquet_and_csv(table, lazy, where):
    frame, root = table
    got = load_table(str(root / where), lazy=lazy)
    if lazy:
        got = got.compute()
    expected = frame.iloc[:2] if where.endswith("part-0.parquet") else frame
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)


def test_frames_pass_through(table):
    frame, _ = table
    assert load_table(frame, lazy=False) is frame
    assert load_table(frame, lazy=True).compute().equals(frame)


def test_errors_are_plain(table, tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file or folder: '.*nowhere'"):
        load_table(str(tmp_path / "nowhere"), lazy=False)
    with pytest.raises(FileNotFoundError, match="No files match"):
        load_table(str(tmp_path / "*.nothing"), lazy=False)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="expected Parquet"):
        load_table(str(tmp_path / "notes.txt"), lazy=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no Parquet or CSV files"):
        load_table(str(empty), lazy=False)
    with pytest.raises(TypeError, match="path or a DataFrame"):
        load_table(42, lazy=False)
