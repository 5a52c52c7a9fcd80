"""An input's separator and a model's model.json, found with the standard library only."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scalecluster.io._header import check_columns, separator
from scalecluster.io._model_file import ModelError, read_model_document


@pytest.mark.parametrize("name, sep, kind", [("a.csv", ",", "csv"), ("b.tsv", "\t", "tsv"), ("c.csv", ";", "csv"),
                                            ("d.tsv", ",", "tsv"), ("e.csv", "|", "csv"), ("f.csv", "\t", "csv")])
def test_the_separator_is_read_from_the_file(tmp_path, name, sep, kind):
    path = tmp_path / name
    rows = ["customer_id,timestamp,revenue", "C1,2024-01-01 10:00,12.5", '2,"03/04/2024",7']
    path.write_text("\n".join(row.replace(",", sep) for row in rows) + "\n", encoding="utf-8")
    assert separator(str(path), kind) == sep
    check_columns(str(path), {"customer": "customer_id", "amount": "revenue"})


def test_a_one_column_file_keeps_the_extension_separator(tmp_path):
    path = tmp_path / "one.tsv"
    path.write_text("amount\n1\n2\n", encoding="utf-8")
    assert separator(str(path), "tsv") == "\t"


def test_model_documents_are_checked(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such model folder"):
        read_model_document(tmp_path / "none")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="is not a readable model file"):
        read_model_document(tmp_path)
    (tmp_path / "model" / "model.json").write_text(json.dumps({"format": "scalecluster-segment-model",
                                                               "format_version": 1}), encoding="utf-8")
    with pytest.raises(ModelError, match="lacks id, columns"):
        read_model_document(tmp_path)


def test_the_modules_import_no_scientific_library():
    code = "import sys, scalecluster.io._model_file, scalecluster.io._header; print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for heavy in ("pandas", "sklearn", "dask", "scipy"):
        assert f"'{heavy}'" not in loaded
