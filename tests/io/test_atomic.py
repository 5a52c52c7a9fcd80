"""Atomic outputs: what killed writers leave behind is removed by the next write, and nothing else is."""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import scalecluster.io._atomic as atomic
from scalecluster.datasets._write import atomic_directory
from scalecluster.io._atomic import STALE_AFTER_S, replaced_atomically


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def _temporary(folder, target: str, *, pid: int | None = None, machine: str | None = None, file: bool = False,
               age_s: float = 0.0):
    """A temporary of ``target`` as a writer would leave it, ``age_s`` seconds old."""
    tail = "" if pid is None else f".{pid}-{machine or atomic._machine()}"
    path = folder / f".{target}.{uuid.uuid4().hex}{tail}.tmp"
    if file:
        path.write_bytes(b"PAR1 half written")
    else:
        path.mkdir()
        (path / "part-00000.parquet").write_bytes(b"PAR1 half written")
    if age_s:
        then = time.time() - age_s
        for entry in [*path.rglob("*"), path]:
            os.utime(entry, (then, then))
    return path


def test_abandoned_temporaries_of_the_target_go_and_nothing_else(tmp_path, caplog):
    old = STALE_AFTER_S + 60
    dead = _dead_pid()
    gone = [
        _temporary(tmp_path, "alerts", pid=dead),  # its writer is gone
        _temporary(tmp_path, "alerts", age_s=old),  # an older name, untouched for a day
        _temporary(tmp_path, "alerts", pid=dead, machine="0badcafe", age_s=old),  # another machine's, a day old
    ]
    kept = [
        _temporary(tmp_path, "alerts", pid=os.getpid()),  # a live writer (this process), at work
        _temporary(tmp_path, "alerts", pid=os.getpid(), age_s=old),  # a live writer, however old
        _temporary(tmp_path, "alerts"),  # an older name, recent: its writer may be at work
        _temporary(tmp_path, "alerts", pid=dead, machine="0badcafe"),  # another machine's, recent
        _temporary(tmp_path, "alerts2", pid=dead),  # another target's
        _temporary(tmp_path, "alerts2", age_s=old),
    ]
    for name in (".alerts.notes.tmp", f".alerts.{uuid.uuid4().hex}.tmp.bak", ".alerts", "alerts.tmp"):
        (tmp_path / name).write_text("not ours")
        os.utime(tmp_path / name, (time.time() - old, time.time() - old))
        kept.append(tmp_path / name)

    with caplog.at_level(logging.INFO, logger="scalecluster.io"), replaced_atomically(tmp_path / "alerts") as folder:
        open(os.path.join(folder, "alerts.csv"), "w").close()
    assert (tmp_path / "alerts" / "alerts.csv").exists()
    assert not any(path.exists() for path in gone)
    assert all(path.exists() for path in kept)
    records = [r for r in caplog.records if r.name == "scalecluster.io"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert message.startswith("Removed 3 temporary output(s) of ")
    assert all(path.name in message for path in gone)


def test_abandoned_temporary_files_and_the_dataset_writer(tmp_path):
    labels = _temporary(tmp_path, "labels.parquet", pid=_dead_pid(), file=True)  # to_parquet writes a file
    with replaced_atomically(tmp_path / "labels.parquet", make_dir=False) as temporary:
        open(temporary, "wb").close()
    assert not labels.exists()
    dataset = _temporary(tmp_path, "transactions", pid=_dead_pid())
    with atomic_directory(tmp_path / "transactions", overwrite=False):
        pass
    assert not dataset.exists() and (tmp_path / "transactions").is_dir()


def test_a_link_named_like_a_temporary_is_unlinked_not_followed(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    link = tmp_path / f".alerts.{uuid.uuid4().hex}.{_dead_pid()}-{atomic._machine()}.tmp"
    link.symlink_to(precious, target_is_directory=True)
    with replaced_atomically(tmp_path / "alerts"):
        pass
    assert not os.path.lexists(link)
    assert (precious / "keep.txt").read_text() == "keep"


_WRITER = """
import importlib.util, os, sys, time
spec = importlib.util.spec_from_file_location("atomic_under_test", sys.argv[1])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
with atomic.replaced_atomically(sys.argv[2]) as folder:
    open(os.path.join(folder, "alerts.csv"), "w").write("half")
    print(folder, flush=True)
    time.sleep(60)
"""


@pytest.mark.skipif(os.name != "posix", reason="kill -9 and process ids")
def test_after_kill_9_the_next_write_cleans_up(tmp_path, caplog):
    # The writer loads only the module (stdlib-only), not the whole package: a fast subprocess.
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, atomic.__file__, str(tmp_path / "alerts")],
                              stdout=subprocess.PIPE, text=True)
    try:
        temporary = writer.stdout.readline().strip()
        assert os.path.basename(temporary).startswith(".alerts.") and os.path.isdir(temporary)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
    assert os.path.isdir(temporary)  # what kill -9 leaves
    with caplog.at_level(logging.INFO, logger="scalecluster.io"), replaced_atomically(tmp_path / "alerts"):
        pass
    assert not os.path.exists(temporary)
    assert os.path.basename(temporary) in caplog.text
    assert sorted(os.listdir(tmp_path)) == ["alerts"]


def test_the_module_imports_only_the_standard_library():
    spec = importlib.util.find_spec("scalecluster.io._atomic")
    source = Path(spec.origin).read_text(encoding="utf-8")
    imported = {line.split()[1].split(".")[0] for line in source.splitlines()
                if line.startswith(("import ", "from ")) and not line.startswith("from __future__")}
    assert imported <= set(sys.stdlib_module_names)
