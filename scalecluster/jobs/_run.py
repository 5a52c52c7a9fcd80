"""What every job shares: its cluster, its progress messages, its atomic output folder."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ..io._atomic import replaced_atomically


class Steps:
    """Prints each step of a job as it starts and records how long it took.

    ``timings`` maps step name to seconds.  With ``verbose=False`` nothing is
    printed (timings are still recorded).
    """

    def __init__(self, job: str, *, verbose: bool = True, stream: TextIO | None = None) -> None:
        self.job = job
        self.verbose = verbose
        self.stream = stream
        self.timings: dict[str, float] = {}

    def say(self, text: str) -> None:
        if self.verbose:
            print(text, file=self.stream or sys.stdout, flush=True)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.say(f"[{self.job}] {name} ...")
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self.timings[name] = self.timings.get(name, 0.0) + seconds
            if seconds >= 1.0:
                self.say(f"[{self.job}]   ({seconds:.1f} s)")

    def persist(self, client: Any, *collections: Any) -> Any:
        """Persist Dask collections on the cluster (a progress bar while they compute)."""
        if client is None:
            import dask

            if not self.verbose:
                return dask.persist(*collections)
            from dask.diagnostics import ProgressBar

            with ProgressBar(out=self.stream or sys.stdout):
                return dask.persist(*collections)
        persisted = client.persist(list(collections))
        if self.verbose:
            from distributed import progress

            progress(persisted, notebook=False)
            print(file=self.stream or sys.stdout, flush=True)
        return tuple(persisted)

    def compute(self, client: Any, *collections: Any) -> tuple:
        """Compute small results (with a progress bar when verbose)."""
        import dask

        if client is None or not self.verbose:
            return dask.compute(*collections)
        from distributed import progress

        futures = client.compute(list(collections))
        progress(futures, notebook=False)
        print(file=self.stream or sys.stdout, flush=True)
        return tuple(client.gather(futures))

    def finish(self, result: Any) -> Any:
        """Record the timings on ``result``, print its summary and where its outputs are; return it."""
        result.timings = dict(self.timings)
        self.say(result.summary())
        if result.paths:
            self.say(f"[{self.job}] outputs in {result.paths['out']}")
        return result


@contextlib.contextmanager
def job_client(client: Any, cluster: Any, steps: Steps) -> Iterator[Any]:
    """The client a job runs on: ``client`` as given, a new one from ``cluster`` (closed at the end), or None.

    ``cluster`` is anything :func:`scalecluster.connect` takes.  A config with
    options that run code is refused; one that
    :func:`~scalecluster.cluster_configs.load_cluster_config` read with
    ``allow_code=True`` (as the command line does for ``--allow-code``) is accepted.
    """
    if client is not None and cluster is not None:
        raise ValueError("Pass either client= or cluster=, not both.")
    if cluster is None:
        yield client
        return
    from ..cluster_configs import connect

    started = connect(cluster)
    try:
        n_workers = len(started.scheduler_info().get("workers", {}))
        steps.say(f"[{steps.job}] Dask cluster with {n_workers} workers; dashboard at {started.dashboard_link}")
        yield started
    finally:
        started_cluster = getattr(started, "cluster", None)
        started.close()
        if started_cluster is not None:
            started_cluster.close()


@contextlib.contextmanager
def atomic_folder(out: str | os.PathLike | None, *, overwrite: bool) -> Iterator[str | None]:
    """A temporary folder beside ``out`` that is renamed to ``out`` when the block succeeds.

    A job that fails midway leaves nothing at ``out`` (and removes the temporary
    folder).  ``out=None`` yields None: nothing is written.

    Raises
    ------
    FileExistsError
        ``out`` exists and ``overwrite`` is False (checked before any work).
    """
    if out is None:
        yield None
        return
    with replaced_atomically(out, overwrite=overwrite, exists_message=_exists(out)) as temporary:
        yield temporary


def check_out_folder(out: str | os.PathLike | None, *, overwrite: bool) -> None:
    """Refuse an existing ``out`` (unless ``overwrite``) before a job does any work."""
    if out is not None and os.path.exists(out) and not overwrite:
        raise FileExistsError(_exists(out))


def _exists(out: str | os.PathLike) -> str:
    return f"The output folder {os.fspath(out)!r} exists; choose another or overwrite it."


def write_outputs(result: Any, out: str | os.PathLike | None, *, overwrite: bool, steps: Steps,
                  write: Callable[[str], dict[str, str]]) -> None:
    """``write(folder) -> {name: path}`` into a temporary folder renamed to ``out`` when it
    succeeds; ``result.paths`` becomes the final paths (with ``"out"``), or {} without ``out``."""
    written: dict[str, str] = {}
    with atomic_folder(out, overwrite=overwrite) as folder:
        if folder is not None:
            with steps.step("Writing outputs"):
                written = write(folder)
    result.paths = final_paths(written, folder, out)
    if result.paths:
        result.paths["out"] = os.path.abspath(os.fspath(out))


def final_paths(written: dict[str, str], temporary: str | None, out: str | os.PathLike | None) -> dict[str, str]:
    """Paths written into the temporary folder, as they are after the rename to ``out``."""
    if temporary is None or out is None:
        return {}
    target = os.path.abspath(os.fspath(out))
    return {name: os.path.join(target, os.path.relpath(path, temporary)) for name, path in written.items()}
