"""Every notebook in ``notebooks/`` runs top to bottom without an error.

Each notebook is executed in a fresh ``python3`` kernel of this environment, in
a temporary working directory, with matplotlib's non-interactive backend.  A
cell that raises (including a failed ``assert`` in a notebook) fails the test.
Notebooks are committed without outputs; nothing is written back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb")
)
CELL_TIMEOUT_S = 300  # a notebook should take well under two minutes in all


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    # The kernel inherits this environment: no GUI windows from matplotlib, and
    # the "python3" kernel of this interpreter's environment rather than one
    # installed for the user (which may run another Python).
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": os.fspath(tmp_path)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)


def test_notebooks_are_committed_without_outputs() -> None:
    nbformat = pytest.importorskip("nbformat")
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, (
                    f"{path.name}, cell {index}: clear the outputs before committing "
                    "(jupyter nbconvert --clear-output --inplace notebooks/*.ipynb)"
                )
