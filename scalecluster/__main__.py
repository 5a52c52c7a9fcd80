"""The ``scalecluster`` command line: ``segment``, ``apply``, ``drift``, ``anomalies`` and ``demo``.

Arguments are parsed, and the input path, the model folder (``apply``,
``drift``: its model.json), the columns asked for (from the input's header or
Parquet schema) and the output folder checked, before scikit-learn, SciPy,
pandas or Dask is imported: ``--help``, ``--version``, argument errors, a
folder that holds no model and misspelt columns answer at once.

User mistakes (a missing path or column, a value that is not a number or a
date, a bad option, an existing output folder, a missing optional package, a
cluster config that does not parse or whose certificates are bad, a scheduler
that cannot be reached) end with one line on standard error,
``scalecluster: error: ...``, naming the flag that fixes them, and exit code 2
— no traceback.  Ctrl-C ends with one line saying what was (not) written, and
exit code 130.

Wherever a list is accepted, it is comma-separated (``--features a,b,c``,
``--k 4,5,6``, ``--columns bytes_out=sbytes,duration=dur``).

``--cluster`` is read and checked before any work starts.  A cluster config is
data: options in it that import or run code (``preload``, ``worker_class``...)
are refused unless ``--allow-code`` says the file is trusted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import glob
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

from . import __version__  # cheap: importing scalecluster imports no scientific library

#: Exceptions that mean "the user asked for something that cannot be done": one line, exit 2.
#: (ConnectionError: a scheduler that cannot be reached; PermissionError: an input that cannot be read.)
USER_ERRORS = (ValueError, KeyError, TypeError, FileNotFoundError, FileExistsError, ImportError, ConnectionError,
               PermissionError)
#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
#: Exit code when standard output is closed early (128 + SIGPIPE), as shells report it.
BROKEN_PIPE = 141
#: Roles of the flow columns the traffic features are built from (scalecluster.features.FLOW_COLUMNS).
FLOW_ROLES = ("bytes_out", "bytes_in", "packets_out", "packets_in", "duration")
#: Roles of the flows' context columns (scalecluster.jobs.anomalies.CONTEXT_COLUMNS), with their defaults.
CONTEXT_ROLES = {"source": "src_ip", "destination": "dst_ip", "port": "dst_port"}
#: Parameters of the jobs -> the flag that sets them, for messages written in the API's words.
FLAGS = {
    "customer": "--customer", "timestamp": "--timestamp", "amount": "--amount", "order": "--order",
    "k": "--k", "k_values": "--k", "reference_date": "--reference-date", "currency": "--currency",
    "features": "--features", "columns": "--columns", "eps": "--eps", "min_samples": "--min-samples",
    "label": "--label", "normal": "--normal", "overwrite": "--overwrite", "allow_code": "--allow-code",
    "n_samples": "--n-samples", "n_features": "--n-features", "n_clusters": "--n-clusters",
    "keep_duplicates": "--keep-duplicates", "dayfirst": "--dayfirst", "date_format": "--date-format",
    "share_threshold": "--share-threshold", "shift_threshold": "--shift-threshold",
    "host": "--by-host", "window": "--window", "top": "--top", "time_unit": "--time-unit",
    **{role: f"--columns {role}=COLUMN" for role in (*FLOW_ROLES, *CONTEXT_ROLES)},
}
_PARAMETER = re.compile(r"(?<![\w.'\"\[{-])(" + "|".join(sorted(FLAGS, key=len, reverse=True)) + r")=([^\s,;)]*)")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line like ours (and a pointer to ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"scalecluster: error: {message} (see {self.prog} --help)\n")


def _k(value: str) -> int | str | list[int]:
    """'auto', a number of segments, or a comma-separated list of candidates."""
    if value == "auto":
        return value
    try:
        values = [int(v) for v in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'auto', an integer or a comma-separated list of integers (4,5,6); got {value!r}") from None
    if len(values) == 1:
        return values[0]
    if min(values) < 2:
        raise argparse.ArgumentTypeError(f"each k of a list must be at least 2; got {value!r}")
    return values


def _eps(value: str) -> float | str:
    if value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a number; got {value!r}") from None


def _names(value: str) -> list[str]:
    """A comma-separated list of column names."""
    names = [v.strip() for v in value.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"a comma-separated list of column names has an empty name: {value!r}")
    return names


def _roles(value: str) -> dict[str, str]:
    """``bytes_out=sbytes,duration=dur``: column names by role."""
    roles = {}
    for item in value.split(","):
        role, sep, column = (part.strip() for part in item.partition("="))
        if not sep or not role or not column:
            raise argparse.ArgumentTypeError(f"expected ROLE=COLUMN pairs separated by commas; got {item!r}")
        if role not in FLOW_ROLES and role not in CONTEXT_ROLES:
            raise argparse.ArgumentTypeError(
                f"unknown role {role!r}; the roles are {', '.join((*FLOW_ROLES, *CONTEXT_ROLES))}")
        roles[role] = column
    return roles


class _ExtendNames(argparse.Action):
    """``--features a,b,c``, ``--features a b c`` and repeated ``--features``: one flat list of names."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        names = list(getattr(namespace, self.dest) or [])
        for value in values:
            names.extend(value)
        setattr(namespace, self.dest, names)


def _window(value: str) -> int:
    from .io._window import parse_window  # standard library only

    try:
        return parse_window(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("window ").rstrip(".")) from None


def _date(value: str) -> str:
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date like 2024-06-30; got {value!r}") from None
    return value


def _share(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {value!r}")
    return number


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value!r}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scalecluster", description="Clustering on NumPy, CuPy and Dask: customer segments, "
                     "traffic anomalies, and a demo of both.",
                     epilog="Run 'scalecluster COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"scalecluster {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    seg = commands.add_parser(
        "segment", help="customer segments from transactions (RFM + KMeans), with a model for next month",
        description="Customer segments from transactions: rows cleaned and counted, recency, frequency and net "
                    "spend per customer, k by stability, KMeans, named segments with actions; labels, profile, "
                    "plots, a report and model/ in --out.",
        epilog="Example: scalecluster segment transactions/ --order order_id --currency EUR --out segments")
    seg.add_argument("path", help="transactions: Parquet file, folder or glob, or CSV/TSV")
    seg.add_argument("--customer", default="customer_id", metavar="COL",
                     help="customer id column (customer_id); ids are read as text")
    seg.add_argument("--timestamp", default="timestamp", metavar="COL", help="transaction time column (timestamp)")
    seg.add_argument("--amount", default="revenue", metavar="COL",
                     help="amount column (revenue); refunds are negative and lower the net spend")
    seg.add_argument("--order", default=None, metavar="COL", help="order id column: frequency counts orders, not rows")
    seg.add_argument("--k", type=_k, default="auto", metavar="K",
                     help="number of segments; 'auto' (default): the stable k of --k-min..--k-max with the best "
                          "silhouette; or candidates, comma-separated (4,5,6)")
    seg.add_argument("--k-min", type=int, default=3, metavar="K", help="smallest k of the search (default 3)")
    seg.add_argument("--k-max", type=int, default=8, metavar="K", help="largest k of the search (default 8)")
    seg.add_argument("--reference-date", type=_date, metavar="DATE",
                     help="'today' for recency (default: one day after the last transaction)")
    seg.add_argument("--currency", metavar="CODE", help="currency of the amounts in the report: EUR, USD, €, ...")
    _reading(seg, from_model=False)
    _common(seg, "segments")

    for name, verb in (("apply", "apply"), ("drift", "drift")):
        command = commands.add_parser(
            name,
            help=("label new transactions with a saved segmentation (its numbers and names)" if name == "apply"
                  else "compare new transactions with a saved segmentation's training data"),
            description=(
                "Reads new transactions as the segmentation run read its own and gives each customer the model's "
                "segment (number, name); labels, profile and a report in --out." if name == "apply" else
                "Labels new transactions with the model and reports, per segment, the share then and now, the "
                "medians then and now, the returning customers who changed segment, and the population-stability "
                "index per feature; segments that moved beyond the thresholds are flagged."),
            epilog=f"Example: scalecluster {verb} segments/ next_month.csv --out {'applied' if name == 'apply' else 'drift'}")
        command.add_argument("model", help=("the --out folder of a 'scalecluster segment' or 'scalecluster anomalies' "
                                            "run, or its model/ folder" if name == "apply" else
                                            "the --out folder of a 'scalecluster segment' run, or its model/ folder"))
        command.add_argument("path", help="new transactions: Parquet file, folder or glob, or CSV/TSV")
        command.add_argument("--customer", metavar="COL", help="customer id column, if not the model's")
        command.add_argument("--timestamp", metavar="COL", help="transaction time column, if not the model's")
        command.add_argument("--amount", metavar="COL", help="amount column, if not the model's")
        command.add_argument("--order", metavar="COL", help="order id column, if not the model's")
        command.add_argument("--reference-date", type=_date, metavar="DATE",
                             help="'today' for recency (default: the model's rule: one day after the last "
                                  "transaction)")
        _reading(command, from_model=True)
        if name == "apply":
            command.add_argument("--columns", type=_roles, metavar="ROLE=COL,...", default=None,
                                 help="anomaly models: the new flows' column names where they differ from the model's")
            command.add_argument("--top", type=_positive, metavar="N", default=None,
                                 help="anomaly models: keep only the N highest-scored alerts (and host rows)")
            command.add_argument("--time-unit", choices=("s", "ms", "us", "ns"), default=None,
                                 help="anomaly models: read the time column as epoch numbers in this unit")
            command.add_argument("--label", default=None, metavar="COL",
                                 help="anomaly models: ground-truth column (default: 'label', if any)")
            command.add_argument("--normal", default="normal", metavar="VALUE",
                                 help="anomaly models: label value of normal rows (default: normal)")
        if name == "drift":
            command.add_argument("--share-threshold", type=_share, default=0.05, metavar="SHARE",
                                 help="flag a segment whose share moved by this much (default 0.05: 5 points)")
            command.add_argument("--shift-threshold", type=_share, default=0.25, metavar="UNITS",
                                 help="flag a segment whose median moved by this much, in the model's scaled units "
                                      "(default 0.25)")
        _common(command, "applied" if name == "apply" else "drift")

    anom = commands.add_parser(
        "anomalies", help="anomalous network flows (traffic features + DBSCAN)",
        description="Anomalous network flows: traffic features, DBSCAN, alerts ranked by their distance from "
                    "normal traffic; labels, alerts, plots and a report in --out.",
        epilog="Example: scalecluster anomalies flows/ --min-samples 20 --out alerts")
    anom.add_argument("path", help="flows: Parquet file, folder or glob, or CSV/TSV")
    anom.add_argument("--features", type=_names, nargs="+", action=_ExtendNames, metavar="COL", default=None,
                      help="numeric columns to use as they are, comma- or space-separated (default: traffic "
                           "features from bytes_out, bytes_in, packets_out, packets_in, duration)")
    anom.add_argument("--columns", type=_roles, metavar="ROLE=COL,...", default=None,
                      help="the flow columns' names where they differ, comma-separated: "
                           "bytes_out=sbytes,duration=dur (roles: " + ", ".join((*FLOW_ROLES, *CONTEXT_ROLES))
                           + "; source, destination and port default to src_ip, dst_ip, dst_port)")
    anom.add_argument("--by-host", metavar="COL", default=None,
                      help="also aggregate the flows per source host in this column (flows, destinations, ports, "
                           "share without reply, bytes and packets), cluster the hosts and rank them in hosts.csv")
    anom.add_argument("--window", type=_window, metavar="LENGTH", default=None,
                      help="with --by-host: one row per host and time window (1h, 15min, 1d)")
    anom.add_argument("--top", type=_positive, metavar="N", default=None,
                      help="keep only the N highest-scored alerts (and host rows); the report says how many were cut")
    anom.add_argument("--eps", type=_eps, default="auto", help="DBSCAN's eps, or 'auto' (default): k-distance knee")
    anom.add_argument("--min-samples", type=_positive, default=20, metavar="N", help="DBSCAN's min_samples (default 20)")
    anom.add_argument("--label", default=None, metavar="COL",
                      help="ground-truth column: precision/recall/F1 (default: a column named 'label', if any)")
    anom.add_argument("--normal", default="normal", metavar="VALUE",
                      help="label value of normal rows (default: normal)")
    anom.add_argument("--timestamp", default=None, metavar="COL",
                      help="the flows' time column, for the report's date range (default: 'timestamp', if any)")
    anom.add_argument("--time-unit", choices=("s", "ms", "us", "ns"), default=None,
                      help="read the time column as epoch numbers in this unit (NetFlow, Zeek); default: dates")
    anom.add_argument("--dayfirst", action="store_true", help="read dates like 03/04/2024 as 3 April")
    anom.add_argument("--date-format", metavar="FORMAT", help="the times' format, like '%%d/%%m/%%Y %%H:%%M'")
    anom.add_argument("--fit-size", type=_positive, default=50_000, metavar="N",
                      help="flows in the fit sample that eps and DBSCAN see (default 50000)")
    _common(anom, "anomalies")

    demo = commands.add_parser(
        "demo", help="both jobs on generated data on a local Dask cluster",
        description="Generates customers' transactions and network flows, starts a local Dask cluster and runs "
                    "both jobs on it. The generated data is removed at the end unless --keep-data.")
    demo.add_argument("--out", metavar="DIR", help="output folder (default: a new temporary folder, printed)")
    demo.add_argument("--customers", type=_positive, default=20_000, help="generated customers (default 20000)")
    demo.add_argument("--flows", type=_positive, default=100_000, help="generated flows (default 100000)")
    demo.add_argument("--keep-data", action="store_true", help="keep the generated data (its folder is printed)")
    demo.add_argument("--cluster", metavar="CONFIG", help="a cluster config: bundled name or YAML file (default: local)")
    _allow_code(demo)
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    demo.add_argument("--blobs", action="store_true", help="the KMeans-on-blobs demo instead (Dask vs NumPy)")
    demo.add_argument("--n-samples", type=int, default=None, help="blobs demo: points (implies --blobs)")
    demo.add_argument("--n-features", type=int, default=None, help="blobs demo: dimensions (implies --blobs)")
    demo.add_argument("--n-clusters", type=int, default=None, help="blobs demo: clusters (implies --blobs)")
    return parser


def _reading(command: argparse.ArgumentParser, *, from_model: bool) -> None:
    """How rows are read: duplicates and dates (for apply/drift, the model's unless given)."""
    default = " (default: the model's setting)" if from_model else ""
    keep: dict[str, Any] = {"action": "store_const", "const": True, "default": None} if from_model \
        else {"action": "store_true"}
    command.add_argument("--keep-duplicates", **keep,
                         help=f"keep rows that repeat an earlier row exactly (dropped and counted otherwise){default}")
    command.add_argument("--dayfirst", **keep, help=f"read dates like 03/04/2024 as 3 April{default}")
    command.add_argument("--date-format", metavar="FORMAT",
                         help=f"the times' format, like '%%d/%%m/%%Y %%H:%%M'{default}")


def _common(command: argparse.ArgumentParser, default_out: str) -> None:
    command.add_argument("--cluster", metavar="CONFIG",
                         help="run on a Dask cluster: a bundled config name (local, slurm, ...) or a YAML file")
    _allow_code(command)
    command.add_argument("--out", metavar="DIR", default=default_out, help=f"output folder (default: {default_out})")
    command.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    command.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    command.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    command.add_argument("--quiet", action="store_true", help="print only the summary")


def _allow_code(command: argparse.ArgumentParser) -> None:
    command.add_argument("--allow-code", action="store_true",
                         help="trust the --cluster config: accept its options that import or run code "
                              "(preload, worker_class, ...), refused otherwise")


def _cluster(args: argparse.Namespace) -> dict | None:
    """The --cluster config, read and checked now (before any work), or None."""
    if args.cluster is None:
        return None
    from .cluster_configs import load_cluster_config

    return load_cluster_config(args.cluster, allow_code=args.allow_code)


def in_our_words(message: str) -> str:
    """A job's message with its parameters as the flags that set them: ``(customer=)`` -> ``(--customer)``,
    ``min_samples=20`` -> ``--min-samples 20``, ``overwrite=True`` -> ``--overwrite``; on one line."""

    def flag(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        tail = ""
        while value and value[-1] in ".:'\"":  # the sentence's punctuation, not the value's
            value, tail = value[:-1], value[-1] + tail
        if value in ("", "True"):
            return FLAGS[name] + tail
        return f"{FLAGS[name]} {value}{tail}"

    return _PARAMETER.sub(flag, " ".join(str(message).split()))


def _check_paths(args: argparse.Namespace) -> None:
    """The model (apply, drift) and the input exist and the output folder does not (unless --overwrite):
    answered before any import of pandas, scikit-learn or Dask."""
    if getattr(args, "model", None) is not None:
        from .io._model_file import read_model_document

        if args.command == "drift":
            args.model_document = read_model_document(
                args.model, job="segment", use="drift compares customer segments with their training data (to score "
                "new flows with an anomaly model, use 'scalecluster apply')")[1]
        else:
            args.model_document = read_model_document(args.model)[1]
    path = getattr(args, "path", None)
    if path is not None and not os.path.exists(path):
        if not glob.has_magic(path):
            raise FileNotFoundError(f"No such file or folder: {path!r}.")
        if not glob.glob(path, recursive=True):
            raise FileNotFoundError(f"No files match {path!r}.")
    out = getattr(args, "out", None)
    if out is not None and os.path.exists(out) and not getattr(args, "overwrite", False):
        fix = "add --overwrite to replace it" if args.command != "demo" else "remove it"
        raise FileExistsError(f"The output folder {out!r} exists; {fix}, or choose another folder with --out.")


def _check_columns(args: argparse.Namespace) -> None:
    """The columns the job will ask for are in the input's header or schema: answered before any import
    of pandas, scikit-learn or Dask (the job checks every file again)."""
    from .io._header import check_columns

    if args.command == "segment":
        roles: dict[str, Any] = {"customer": args.customer, "timestamp": args.timestamp, "amount": args.amount}
        if args.order is not None:
            roles["order"] = args.order
    elif args.command == "apply" and args.model_document.get("format") == "scalecluster-anomaly-model":
        document = args.model_document
        columns = {**document.get("columns", {}), **(args.columns or {})}
        if document.get("derived", True):
            roles = {role: columns[role] for role in FLOW_ROLES if role in columns}
        else:
            roles = {"features": list(document.get("features", []))}
        roles.update({name: getattr(args, name) for name in ("label", "timestamp") if getattr(args, name)})
    elif args.command in ("apply", "drift"):
        columns = args.model_document["columns"]
        roles = {role: getattr(args, role) or columns[role] for role in ("customer", "timestamp", "amount")}
        order = args.order or columns.get("order")
        if order:
            roles["order"] = order
    elif args.command == "anomalies":
        if args.features is not None:
            roles = {"features": args.features}
        else:
            roles = {role: (args.columns or {}).get(role, role) for role in FLOW_ROLES}
        roles.update({name: getattr(args, name) for name in ("label", "timestamp") if getattr(args, name)})
        if args.by_host:
            named = {**CONTEXT_ROLES, **(args.columns or {})}
            roles.update(host=args.by_host, destination=named["destination"], port=named["port"])
    else:
        return
    check_columns(args.path, roles)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    before = _identity(getattr(args, "out", None))
    interrupted: list[bool] = []
    try:
        with _remembering_interrupts() as interrupted:
            _check_paths(args)
            _check_columns(args)
            return _run(args)
    except BaseException as error:
        # Ctrl-C, or what it caused first: a terminal's Ctrl-C also stops a local cluster's workers, and
        # the job may see their loss (cancelled futures) before its own KeyboardInterrupt.
        if isinstance(error, BrokenPipeError):  # the reader went away (| head): stop, without a word
            _silence_stdout()
            return BROKEN_PIPE
        if isinstance(error, KeyboardInterrupt) or interrupted:
            _quiet_from_now_on()
            print(f"scalecluster: interrupted; {_what_was_written(args, before)}", file=sys.stderr, flush=True)
            return INTERRUPTED
        if not isinstance(error, USER_ERRORS):
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        print(f"scalecluster: error: {in_our_words(message)}", file=sys.stderr, flush=True)
        return 2


@contextlib.contextmanager
def _remembering_interrupts() -> Iterator[list[bool]]:
    """While active, SIGINT raises KeyboardInterrupt as Python's own handler does, and is remembered
    (in the list yielded) even when what it caused is another error."""
    seen: list[bool] = []

    def handle(signum: int, frame: Any) -> None:
        seen.append(True)
        raise KeyboardInterrupt

    previous = None
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread and signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when ignored
        previous = signal.signal(signal.SIGINT, handle)
    try:
        yield seen
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _identity(path: str | None) -> tuple[int, int] | None:
    try:
        info = os.stat(path) if path is not None else None
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if info is not None else None


def _what_was_written(args: argparse.Namespace, before: tuple[int, int] | None) -> str:
    out = getattr(args, "out", None)
    if out is None:
        return "the demo's generated data and outputs were removed."
    now = _identity(out)
    if now is not None and now != before:
        return f"the outputs had been written to {out!r}."
    if before is not None:
        return f"{out!r} was left as it was."
    return f"nothing was written to {out!r}."


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _quiet_from_now_on() -> None:
    """After Ctrl-C: no more log records from libraries shutting down (workers, the event loop)."""
    import logging

    logging.disable(logging.CRITICAL)


def _run(args: argparse.Namespace) -> int:
    if args.command == "segment":
        from .jobs import segment

        if args.k_min < 2 or args.k_max < args.k_min:
            raise ValueError(f"--k-min {args.k_min} and --k-max {args.k_max} must satisfy 2 <= --k-min <= --k-max.")
        k, k_values = args.k, range(args.k_min, args.k_max + 1)
        if isinstance(k, list):
            k, k_values = "auto", k
        result = segment(
            args.path, customer=args.customer, timestamp=args.timestamp, amount=args.amount, order=args.order,
            k=k, k_values=k_values, cluster=_cluster(args), out=args.out, overwrite=args.overwrite,
            reference_date=args.reference_date, currency=args.currency, keep_duplicates=args.keep_duplicates,
            dayfirst=args.dayfirst, date_format=args.date_format, plots=not args.no_plots,
            random_state=args.seed, verbose=not args.quiet,
        )
    elif args.command == "apply" and args.model_document.get("format") == "scalecluster-anomaly-model":
        from .jobs.anomaly_apply import apply_anomaly_model

        segment_only = [flag for flag, value in (("--customer", args.customer), ("--amount", args.amount),
                                                 ("--order", args.order), ("--reference-date", args.reference_date),
                                                 ("--keep-duplicates", args.keep_duplicates))
                        if value is not None]
        if segment_only:
            raise ValueError(f"{', '.join(segment_only)} read transactions for a segmentation; {args.model!r} holds "
                             "an anomaly model, which reads flows (its options: --columns, --top, --label, "
                             "--normal, --timestamp, --time-unit, --dayfirst, --date-format).")
        result = apply_anomaly_model(
            args.model, args.path, columns=args.columns, top=args.top,
            label=args.label if args.label is not None else "label", normal=args.normal, timestamp=args.timestamp,
            time_unit=args.time_unit, dayfirst=bool(args.dayfirst), date_format=args.date_format,
            cluster=_cluster(args), out=args.out, overwrite=args.overwrite,
            plots=not args.no_plots, random_state=args.seed, verbose=not args.quiet)
    elif args.command in ("apply", "drift"):
        from .jobs import apply_model, drift

        flows_only = [flag for flag, value in (("--columns", getattr(args, "columns", None)),
                                               ("--top", getattr(args, "top", None)),
                                               ("--label", getattr(args, "label", None)),
                                               ("--time-unit", getattr(args, "time_unit", None))) if value is not None]
        if flows_only:
            raise ValueError(f"{', '.join(flows_only)} read flows for an anomaly model; {args.model!r} holds a "
                             "customer segmentation, which reads transactions.")

        options = {
            "customer": args.customer, "timestamp": args.timestamp, "amount": args.amount, "order": args.order,
            "reference_date": args.reference_date, "keep_duplicates": args.keep_duplicates,
            "dayfirst": args.dayfirst, "date_format": args.date_format, "cluster": _cluster(args), "out": args.out,
            "overwrite": args.overwrite, "plots": not args.no_plots, "random_state": args.seed,
            "verbose": not args.quiet,
        }
        if args.command == "apply":
            result = apply_model(args.model, args.path, **options)
        else:
            result = drift(args.model, args.path, share_threshold=args.share_threshold,
                           shift_threshold=args.shift_threshold, **options)
    elif args.command == "anomalies":
        from .jobs import detect_anomalies

        result = detect_anomalies(
            args.path, features=args.features, columns=args.columns, host=args.by_host, window=args.window,
            top=args.top, fit_size=args.fit_size, eps=args.eps, min_samples=args.min_samples, time_unit=args.time_unit,
            dayfirst=args.dayfirst, date_format=args.date_format,
            label=args.label if args.label is not None else "label", normal=args.normal, timestamp=args.timestamp,
            cluster=_cluster(args), out=args.out, overwrite=args.overwrite, plots=not args.no_plots,
            random_state=args.seed, verbose=not args.quiet,
        )
    else:
        return _demo(args)
    if args.quiet:
        print(result.summary())
        print(f"outputs in {result.paths['out']}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    blobs = args.blobs or any(v is not None for v in (args.n_samples, args.n_features, args.n_clusters))
    if blobs:
        from .demo import run_blobs_demo

        run_blobs_demo(args.n_samples or 500_000, args.n_features or 8, args.n_clusters or 8,
                       cluster_config=_cluster(args))
    else:
        from .demo import run_demo

        run_demo(args.customers, args.flows, cluster_config=_cluster(args), out=args.out, keep_data=args.keep_data,
                 verbose=not args.quiet)
    return 0


def _entry() -> Any:  # pragma: no cover - ``python -m scalecluster``
    sys.exit(main())


if __name__ == "__main__":
    _entry()
