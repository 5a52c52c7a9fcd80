"""What every job shares: one progress line per stage, and libraries' output kept in the job's log."""

from __future__ import annotations

import io
import logging
import os
import warnings

import pytest

from scalecluster.jobs._run import Steps, children_output_to, library_output_to


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_one_line_per_stage_when_not_a_terminal():
    out = io.StringIO()
    steps = Steps("segment", stream=out)
    with steps.step("Choosing k", total=4, unit="k") as stage:
        stage.count(20_000, "customers")
        for _ in range(4):
            stage.advance()
        stage.result("k = 5")
    with steps.step("KMeans") as stage:
        stage.describe("20,000 customers, k = 5")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert lines[0].startswith("[segment] Choosing k       [##########] 4/4 k  20,000 customers")
    assert lines[0].endswith(" s  k = 5")
    assert lines[1].startswith("[segment] KMeans           20,000 customers, k = 5")
    assert set(steps.timings) == {"Choosing k", "KMeans"}


def test_on_a_terminal_the_line_is_redrawn_in_place():
    out = Terminal()
    steps = Steps("anomalies", stream=out)
    with steps.step("Sweep", total=2) as stage:
        stage.advance()
        stage.advance()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert "[#####-----] 1/2" in text and "[##########] 2/2" in text and text.count("\r") == 4


def test_a_stage_that_fails_ends_its_line():
    out = Terminal()
    steps = Steps("segment", stream=out)
    with pytest.raises(KeyboardInterrupt), steps.step("Choosing k", total=9):
        raise KeyboardInterrupt
    assert out.getvalue().endswith("\n")  # the interruption's message starts on a line of its own


def test_quiet_prints_nothing():
    out = io.StringIO()
    with Steps("segment", stream=out, verbose=False).step("Reading"):
        pass
    assert out.getvalue() == ""


def test_library_output_goes_to_the_log_and_is_restored(tmp_path):
    distributed_logger = logging.getLogger("distributed.shuffle")
    before = (logging.getLogger("distributed").handlers[:], logging.getLogger("distributed").propagate)
    log = tmp_path / "run.log"
    with library_output_to(str(log)):
        distributed_logger.warning("Shuffle 1234 deactivated due to stimulus 'x'")
        logging.getLogger("scalecluster.jobs").info("[segment] Reading ...")
        warnings.warn("A value is trying to be set on a copy of a slice", UserWarning, stacklevel=1)
        with library_output_to(str(tmp_path / "inner.log")):  # nests, as the demo's log around a job's
            logging.getLogger("distributed.nanny").warning("Worker process still alive after 4.0 seconds")
        logging.getLogger("dask").warning("after the inner block")
    text = log.read_text(encoding="utf-8")
    assert "Shuffle 1234 deactivated" in text and "[segment] Reading" in text and "copy of a slice" in text
    assert "after the inner block" in text and "still alive" not in text
    assert "still alive" in (tmp_path / "inner.log").read_text(encoding="utf-8")
    assert (logging.getLogger("distributed").handlers, logging.getLogger("distributed").propagate) == before


def test_processes_started_in_the_block_write_their_errors_to_the_log(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "run.log"
    with children_output_to(str(log)):
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('worker chatter\\n')"], check=True)
    assert log.read_text(encoding="utf-8") == "worker chatter\n"
    assert os.fstat(2) is not None  # standard error is back
