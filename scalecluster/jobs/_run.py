"""What every job shares: its progress lines, its log file, its cluster, its atomic output folder.

Progress: one line per stage, ``[job] Stage  rows  [bar] done/total  elapsed  result``,
the same in memory and on a cluster.  On a terminal the line is drawn when the
stage starts and redrawn in place as it advances; elsewhere (a pipe, a log, a
notebook) it is printed once, when the stage ends.

Everything else that libraries say while a job runs (distributed's and Dask's
log records, warnings from pandas, scikit-learn or numba) goes to ``run.log`` in
the job's output folder, beside the stage lines and the details behind them
(each k of the sweep, ...), instead of the user's terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any, TextIO

from ..io._atomic import replaced_atomically

#: The file in each output folder that holds the job's log.
LOG_NAME = "run.log"
#: Loggers whose records go to the log file while a job runs (and children that libraries configure).
LIBRARY_LOGGERS = ("distributed", "dask", "tornado", "bokeh", "asyncio", "fsspec", "numba", "scalecluster",
                   "py.warnings")

logger = logging.getLogger("scalecluster.jobs")

_NAME_WIDTH = 16
_MIDDLE_WIDTH = 40
_BAR_WIDTH = 10


class Stage:
    """One stage of a job: its rows, its progress out of a known total, its result (see :meth:`Steps.step`)."""

    def __init__(self, steps: Steps, name: str, total: int | None, unit: str) -> None:
        self.steps = steps
        self.name = name
        self.total = total
        self.unit = unit
        self.done = 0
        self.rows = ""
        self.outcome = ""
        self.start = time.perf_counter()

    def count(self, n: int, unit: str) -> None:
        """What the stage works on: ``20,000 customers``."""
        self.rows = f"{int(n):,} {unit}"

    def describe(self, text: str) -> None:
        """What the stage works on, in words (``236,078 rows -> 20,000 customers``)."""
        self.rows = text

    def advance(self, done: int | None = None) -> None:
        """One more (or ``done``) of the stage's ``total`` is finished: the bar moves."""
        self.done = self.done + 1 if done is None else done
        self.steps._draw(self, final=False)

    def result(self, text: str) -> None:
        """What the stage found (``k = 5``), shown after the elapsed time."""
        self.outcome = text

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        middle = self.rows
        if self.total:
            filled = round(_BAR_WIDTH * min(self.done, self.total) / self.total)
            bar = f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {self.done}/{self.total} {self.unit}".rstrip()
            middle = f"{bar}  {middle}".rstrip()
        text = f"[{self.steps.job}] {self.name:<{_NAME_WIDTH}} {middle:<{_MIDDLE_WIDTH}} {elapsed:>6.1f} s"
        return f"{text}  {self.outcome}" if self.outcome else text


class Steps:
    """A job's stages: one progress line each (see the module docstring), and its log.

    ``timings`` maps stage name to seconds.  With ``verbose=False`` nothing is
    printed (timings and the log file are still written).
    """

    def __init__(self, job: str, *, verbose: bool = True, stream: TextIO | None = None) -> None:
        self.job = job
        self.verbose = verbose
        self.stream = stream
        self.timings: dict[str, float] = {}
        self._live = False  # a partial line is on the terminal

    @property
    def out(self) -> TextIO:
        return self.stream or sys.stdout

    def _terminal(self) -> bool:
        try:
            return bool(self.out.isatty())
        except (AttributeError, ValueError):
            return False

    def say(self, text: str) -> None:
        """A line for the user (when verbose) and the log."""
        logger.info("%s", text)
        if self.verbose:
            self._end_live()
            print(text, file=self.out, flush=True)

    def detail(self, text: str) -> None:
        """A line for the log only (the user sees the stage's one line)."""
        logger.info("[%s]   %s", self.job, text)

    def _draw(self, stage: Stage, *, final: bool) -> None:
        if not self.verbose or (not final and not self._terminal()):
            return
        if self._terminal():
            end = "\n" if final else ""
            print(f"\r{stage.line()}\x1b[K", end=end, file=self.out, flush=True)
            self._live = not final
        else:
            print(stage.line(), file=self.out, flush=True)

    def _end_live(self) -> None:
        if self._live:
            print(file=self.out, flush=True)
            self._live = False

    @contextlib.contextmanager
    def step(self, name: str, *, total: int | None = None, unit: str = "") -> Iterator[Stage]:
        """A stage: its line is drawn as it starts (on a terminal) and printed when it ends."""
        stage = Stage(self, name, total, unit)
        logger.info("[%s] %s ...", self.job, name)
        self._draw(stage, final=False)
        try:
            yield stage
        except BaseException:
            self._end_live()  # leave the partial line; the error or interruption follows on the next
            logger.info("[%s] %s stopped after %.1f s", self.job, name, time.perf_counter() - stage.start)
            raise
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - stage.start
        logger.info("%s", stage.line())
        self._draw(stage, final=True)

    def persist(self, client: Any, *collections: Any) -> tuple:
        """Persist Dask collections (together: tasks they share run once), on ``client`` or the default scheduler."""
        return self.persist_and_compute(client, collections, ())[0]

    def persist_and_compute(self, client: Any, collections: Any, values: Any) -> tuple[tuple, tuple]:
        """Persist ``collections`` and compute the small ``values`` in one graph (tasks they share, such as
        reading the input, run once); returns (the persisted collections, the values).

        On a cluster, DataFrames and scalars are persisted from their own
        optimised graph, with the keys that graph names: the frame
        :meth:`distributed.Client.persist` returns can name keys other than
        its futures' (it optimises a second time), and then loses its data
        ("lost dependencies") in a later step.
        """
        import dask

        collections, values = list(collections), list(values)
        if client is None:
            done = dask.persist(*collections, *values)
            computed = dask.compute(*done[len(collections):]) if values else ()
            return tuple(done[: len(collections)]), tuple(computed)
        from dask.core import flatten

        graph: dict = {}
        plans: list[tuple[Any, list | None]] = []
        for collection in collections + values:
            if _is_expression(collection):
                optimised = collection.optimize(fuse=False)  # fusing can fail ("multiple outputs")
                keys = list(flatten(optimised.__dask_keys__()))
                graph.update(optimised.__dask_graph__())
                plans.append((optimised, keys))
            else:
                plans.append((collection, None))
        wanted = [key for _, keys in plans if keys for key in keys]
        futures = dict(zip(wanted, client.get(graph, wanted, sync=False))) if wanted else {}
        done = []
        for collection, keys in plans:
            if keys is None:
                (other,) = client.persist([collection])
                done.append(other)
            else:
                rebuild, state = collection.__dask_postpersist__()
                done.append(rebuild({key: futures[key] for key in keys}, *state))
        persisted, scalars = tuple(done[: len(collections)]), done[len(collections):]
        return persisted, (self.compute(client, *scalars) if scalars else ())

    def compute(self, client: Any, *collections: Any) -> tuple:
        """Compute small results (together: tasks they share run once)."""
        if client is None:
            import dask

            return dask.compute(*collections)
        return tuple(client.gather(client.compute(list(collections))))

    def finish(self, result: Any) -> Any:
        """Record the timings on ``result``, print its summary and where its outputs are; return it."""
        result.timings = dict(self.timings)
        self.say(result.summary())
        if result.paths:
            self.say(f"[{self.job}] outputs in {result.paths['out']} (report.html; details in {LOG_NAME})")
        return result


@contextlib.contextmanager
def job_client(client: Any, cluster: Any, steps: Steps, log: str | None = None) -> Iterator[Any]:
    """The client a job runs on: ``client`` as given, a new one from ``cluster`` (closed at the end), or None.

    ``cluster`` is anything :func:`scalecluster.connect` takes.  A config with
    options that run code is refused; one that
    :func:`~scalecluster.cluster_configs.load_cluster_config` read with
    ``allow_code=True`` (as the command line does for ``--allow-code``) is accepted.
    Worker processes started here write their output to the file ``log``
    (see :func:`children_output_to`).
    """
    if client is not None and cluster is not None:
        raise ValueError("Pass either client= or cluster=, not both.")
    if cluster is None:
        yield client
        return
    from ..cluster_configs import connect

    with steps.step("Dask cluster") as stage:
        with children_output_to(log):
            started = connect(cluster)
        stage.count(len(started.scheduler_info().get("workers", {})), "workers")
        stage.result(f"dashboard {started.dashboard_link}")
    try:
        yield started
    finally:
        started_cluster = getattr(started, "cluster", None)
        started.close()
        if started_cluster is not None:
            started_cluster.close()


@contextlib.contextmanager
def job_folder(out: str | os.PathLike | None, *, overwrite: bool, uses_distributed: bool = False) -> Iterator[str | None]:
    """A temporary folder beside ``out``, renamed to ``out`` when the block succeeds, holding the job's log.

    A job that fails or is interrupted midway leaves nothing at ``out`` (and
    removes the temporary folder).  While the block runs, libraries' log records
    and warnings go to ``run.log`` in it (see :func:`library_output_to`).
    ``out=None`` yields None: nothing is written and library output is left alone.

    Raises
    ------
    FileExistsError
        ``out`` exists and ``overwrite`` is False (checked before any work).
    """
    if out is None:
        yield None
        return
    with replaced_atomically(out, overwrite=overwrite, exists_message=exists_message(out)) as temporary, \
            library_output_to(os.path.join(temporary, LOG_NAME), uses_distributed=uses_distributed):
        yield temporary


@contextlib.contextmanager
def library_output_to(path: str | None, *, uses_distributed: bool = False) -> Iterator[None]:
    """Send libraries' log records (:data:`LIBRARY_LOGGERS`) and warnings to the file ``path`` for a while.

    The loggers' handlers, levels and propagation are restored afterwards, so
    this nests (the demo's log around each job's).  ``uses_distributed``:
    import distributed first, since importing it installs its own handlers.
    """
    if path is None:
        yield
        return
    if uses_distributed:
        with contextlib.suppress(ImportError):
            import distributed  # noqa: F401
    handler = _LogFile(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = []
    for target in _library_loggers():
        saved.append((target, target.handlers[:], target.propagate, target.level))
        target.handlers = [handler]
        target.propagate = False
    ours = logging.getLogger("scalecluster")
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _warning_to_log
            yield
    finally:
        for target, handlers, propagate, level in saved:
            target.handlers, target.propagate = handlers, propagate
            target.setLevel(level)
        handler.close()


def _is_expression(collection: Any) -> bool:
    """A Dask DataFrame, Series or scalar of dask.dataframe (not an array), by its type's module."""
    return type(collection).__module__.startswith("dask.dataframe") and hasattr(collection, "optimize")


class _LogFile(logging.Handler):
    """Records appended to a file.  Not a StreamHandler: distributed's LocalCluster turns those down to
    warnings while it runs (to keep its workers quiet), which would drop the job's own lines."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._file.write(self.format(record) + "\n")
            self._file.flush()
        except (OSError, ValueError):  # pragma: no cover - a full disk, a closed file: as logging's handlers do
            self.handleError(record)

    def close(self) -> None:
        self._file.close()
        super().close()


def _library_loggers() -> list[logging.Logger]:
    """The loggers of :data:`LIBRARY_LOGGERS`, and their children that have handlers of their own."""
    found = {name: logging.getLogger(name) for name in LIBRARY_LOGGERS}
    for name, item in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(item, logging.Logger) and item.handlers and name.split(".")[0] in LIBRARY_LOGGERS:
            found[name] = item
    return list(found.values())


def _warning_to_log(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                    line: str | None = None) -> None:
    text = warnings.formatwarning(message, category, filename, lineno, line).strip()
    logging.getLogger("py.warnings").warning("%s", text)


@contextlib.contextmanager
def children_output_to(path: str | None) -> Iterator[None]:
    """Processes started in the block (a local cluster's workers) write their standard error to ``path``.

    Worker processes log to their standard error, which they inherit from
    this process when they start: for the block, file descriptor 2 points at
    the file, and is restored after (this process's own ``sys.stderr`` is
    flushed first and written to the file meanwhile).  ``path=None``: nothing changes.
    """
    if path is None:
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to redirect (a detached process)
        yield
        return
    sys.stderr.flush()
    try:
        with open(path, "a", encoding="utf-8") as log:
            os.dup2(log.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def check_out_folder(out: str | os.PathLike | None, *, overwrite: bool) -> None:
    """Refuse an existing ``out`` (unless ``overwrite``) before a job does any work."""
    if out is not None and os.path.exists(out) and not overwrite:
        raise FileExistsError(exists_message(out))


def exists_message(out: str | os.PathLike) -> str:
    """The error for an output folder that exists (the command line names ``--overwrite`` instead)."""
    return (f"The output folder {os.fspath(out)!r} exists; choose another folder, or pass overwrite=True "
            "to replace it.")


def final_paths(written: dict[str, str], temporary: str | None, out: str | os.PathLike | None) -> dict[str, str]:
    """Paths written into the temporary folder, as they are after the rename to ``out`` (with ``"out"``)."""
    if temporary is None or out is None:
        return {}
    target = os.path.abspath(os.fspath(out))
    paths = {name: os.path.join(target, os.path.relpath(path, temporary)) for name, path in written.items()}
    paths["log"] = os.path.join(target, LOG_NAME)
    paths["out"] = target
    return paths
