"""Reading a job's input: Parquet file / folder / glob, CSV, TSV; clear errors that name the file."""

from __future__ import annotations

import os

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
    with pytest.raises(ValueError, match="holds no Parquet, CSV or TSV files"):
        load_table(str(empty), lazy=False)
    with pytest.raises(TypeError, match="path or a DataFrame"):
        load_table(42, lazy=False)


def _refuse_to_list(monkeypatch, folder):
    """Make ``folder`` unreadable: chmod, and (as root, who reads anything) a refusing os.scandir."""
    folder.chmod(0)
    if os.access(folder, os.R_OK):
        real = os.scandir

        def scandir(path="."):
            if os.fspath(path) == str(folder):
                raise PermissionError(13, "Permission denied", str(folder))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_folder_is_not_called_empty(table, monkeypatch):
    _, root = table
    folder = root / "parts"
    try:
        _refuse_to_list(monkeypatch, folder)
        with pytest.raises(PermissionError, match=r"The folder '.*parts' cannot be read \(Permission denied\); "
                                                  "check its permissions"):
            load_table(str(folder), lazy=False)
        monkeypatch.undo()
        _refuse_to_list(monkeypatch, folder)
        with pytest.raises(PermissionError, match="parts' cannot be read"):  # a folder under the one given
            load_table(str(root), lazy=True)
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("lazy", [False, True])
def test_empty_and_header_only_csv_files_say_so(tmp_path, lazy):
    (tmp_path / "zero.csv").write_bytes(b"")
    with pytest.raises(ValueError, match=r"The file '.*zero.csv' is empty: it has no header and no rows"):
        load_table(str(tmp_path / "zero.csv"), lazy=lazy)
    (tmp_path / "blank.csv").write_text("\n\n")
    with pytest.raises(ValueError, match=r"'.*blank.csv' is empty"):
        load_table(str(tmp_path / "blank.csv"), lazy=lazy)
    (tmp_path / "header.csv").write_text("customer_id,revenue\n")
    with pytest.raises(ValueError, match=r"The file '.*header.csv' has a header \(2 columns\) but no rows"):
        load_table(str(tmp_path / "header.csv"), lazy=lazy)
    # Among other files too: the empty one is named.
    folder = tmp_path / "many"
    folder.mkdir()
    pd.DataFrame({"customer_id": [1], "revenue": [2.0]}).to_csv(folder / "a.csv", index=False)
    (folder / "b.csv").write_text("customer_id,revenue\n")
    with pytest.raises(ValueError, match=r"'.*b.csv' has a header \(2 columns\) but no rows"):
        load_table(str(folder), lazy=lazy)


@pytest.mark.parametrize("lazy", [False, True])
def test_tsv_files_are_split_on_tabs(tmp_path, lazy):
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    frame.to_csv(tmp_path / "table.tsv", sep="\t", index=False)
    got = load_table(str(tmp_path / "table.tsv"), lazy=lazy)
    pd.testing.assert_frame_equal(got.compute() if lazy else got, frame)
    frame.to_csv(tmp_path / "table.csv", index=False)
    with pytest.raises(ValueError, match="of one kind, not a mix"):
        load_table(str(tmp_path / "table.*"), lazy=lazy)


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_file_whose_name_looks_like_a_glob_is_that_file(tmp_path, lazy, suffix):
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    path = tmp_path / f"weird[1]{suffix}"
    frame.to_parquet(path, index=False) if suffix == ".parquet" else frame.to_csv(path, index=False)
    got = load_table(str(path), lazy=lazy)
    pd.testing.assert_frame_equal((got.compute() if lazy else got).reset_index(drop=True), frame)
