"""The ``scalecluster`` command line: ``segment``, ``anomalies`` and ``demo``.

User mistakes (a missing path or column, a column of the wrong kind, a bad
option, a missing optional package, a cluster config that does not parse or
whose certificates are bad, a scheduler that cannot be reached) end with one
line on standard error, ``scalecluster: error: ...``, and exit code 2 — no
traceback.

``--cluster`` is read and checked before any work starts.  A cluster config is
data: options in it that import or run code (``preload``, ``worker_class``...)
are refused unless ``--allow-code`` says the file is trusted.
"""

from __future__ import annotations

import argparse
import sys

#: Exceptions that mean "the user asked for something that cannot be done": one line, exit 2.
#: (ConnectionError: a scheduler that cannot be reached; PermissionError: an input that cannot be read.)
USER_ERRORS = (ValueError, KeyError, TypeError, FileNotFoundError, FileExistsError, ImportError, ConnectionError,
               PermissionError)


def _k(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or an integer; got {value!r}") from None


def _eps(value: str) -> float | str:
    if value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a number; got {value!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scalecluster", description="Clustering on NumPy, CuPy and Dask.")
    commands = parser.add_subparsers(dest="command", required=True)

    seg = commands.add_parser("segment", help="customer segments from transactions (RFM + KMeans)")
    seg.add_argument("path", help="transactions: Parquet file, folder or glob, or CSV")
    seg.add_argument("--customer", default="customer_id", metavar="COL", help="customer id column (customer_id)")
    seg.add_argument("--timestamp", default="timestamp", metavar="COL", help="transaction time column (timestamp)")
    seg.add_argument("--amount", default="revenue", metavar="COL", help="amount spent column (revenue)")
    seg.add_argument("--order", default=None, metavar="COL", help="order id column: frequency counts orders")
    seg.add_argument("--k", type=_k, default="auto", help="number of segments, or 'auto' (default): from a k-sweep")
    seg.add_argument("--k-max", type=int, default=10, help="largest k of the sweep (default 10)")
    _common(seg, "segments")

    anom = commands.add_parser("anomalies", help="anomalous network flows (traffic features + DBSCAN)")
    anom.add_argument("path", help="flows: Parquet file, folder or glob, or CSV")
    anom.add_argument("--features", nargs="+", metavar="COL", default=None,
                      help="numeric columns to use as they are (default: traffic features from "
                           "bytes_out, bytes_in, packets_out, packets_in, duration)")
    anom.add_argument("--eps", type=_eps, default="auto", help="DBSCAN's eps, or 'auto' (default): k-distance knee")
    anom.add_argument("--min-samples", type=int, default=20, help="DBSCAN's min_samples (default 20)")
    anom.add_argument("--label", default="label", metavar="COL",
                      help="ground-truth column, if present: precision/recall/F1 (default: label)")
    anom.add_argument("--normal", default="normal", help="label value of normal rows (default: normal)")
    _common(anom, "anomalies")

    demo = commands.add_parser("demo", help="both jobs on generated data on a local Dask cluster")
    demo.add_argument("--out", metavar="DIR", help="output folder (default: a new temporary folder)")
    demo.add_argument("--customers", type=int, default=20_000, help="generated customers (default 20000)")
    demo.add_argument("--flows", type=int, default=100_000, help="generated flows (default 100000)")
    demo.add_argument("--cluster", metavar="CONFIG", help="a cluster config: bundled name or YAML file (default: local)")
    _allow_code(demo)
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    demo.add_argument("--blobs", action="store_true", help="the KMeans-on-blobs demo instead (Dask vs NumPy)")
    demo.add_argument("--n-samples", type=int, default=None, help="blobs demo: points (implies --blobs)")
    demo.add_argument("--n-features", type=int, default=None, help="blobs demo: dimensions (implies --blobs)")
    demo.add_argument("--n-clusters", type=int, default=None, help="blobs demo: clusters (implies --blobs)")
    return parser


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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except USER_ERRORS as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        message = " ".join(str(message).split())
        print(f"scalecluster: error: {message}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "segment":
        from .jobs import segment

        result = segment(
            args.path, customer=args.customer, timestamp=args.timestamp, amount=args.amount, order=args.order,
            k=args.k, k_values=range(2, args.k_max + 1), cluster=_cluster(args), out=args.out,
            overwrite=args.overwrite, plots=not args.no_plots, random_state=args.seed, verbose=not args.quiet,
        )
        if args.quiet:
            print(result.summary())
            print(f"outputs in {result.paths['out']}")
    elif args.command == "anomalies":
        from .jobs import detect_anomalies

        result = detect_anomalies(
            args.path, features=args.features, eps=args.eps, min_samples=args.min_samples, label=args.label,
            normal=args.normal, cluster=_cluster(args), out=args.out, overwrite=args.overwrite,
            plots=not args.no_plots, random_state=args.seed, verbose=not args.quiet,
        )
        if args.quiet:
            print(result.summary())
            print(f"outputs in {result.paths['out']}")
    elif args.command == "demo":
        blobs = args.blobs or any(v is not None for v in (args.n_samples, args.n_features, args.n_clusters))
        if blobs:
            from .demo import run_blobs_demo

            run_blobs_demo(args.n_samples or 500_000, args.n_features or 8, args.n_clusters or 8,
                           cluster_config=_cluster(args))
        else:
            from .demo import run_demo

            run_demo(args.customers, args.flows, cluster_config=_cluster(args), out=args.out, verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
