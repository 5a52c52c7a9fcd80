"""Every Python snippet of the README runs as written, on its own, in a fresh interpreter.

Each snippet runs in its own folder (the job snippet writes its data and outputs there); the
snippets run side by side, started once for the module.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each snippet started in a new process (all at once); ``runs[i]`` waits for snippet i."""
    started = []
    for index, code in enumerate(SNIPPETS):
        folder = tmp_path_factory.mktemp(f"snippet{index}")
        started.append(subprocess.Popen([sys.executable, "-c", code], cwd=folder, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True))
    yield started
    for process in started:
        process.kill()
        process.communicate()


def test_the_readme_has_snippets():
    assert len(SNIPPETS) >= 4


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs_on_its_own(runs, index):
    process = runs[index]
    _, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, f"README snippet {index + 1}:\n{SNIPPETS[index]}\n{err}"
