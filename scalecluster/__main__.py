"""The ``scalecluster`` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scalecluster", description="Clustering on NumPy, CuPy and Dask.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="fit KMeans on generated data on a local Dask cluster")
    demo.add_argument("--n-samples", type=int, default=500_000)
    demo.add_argument("--n-features", type=int, default=8)
    demo.add_argument("--n-clusters", type=int, default=8)
    demo.add_argument("--cluster", metavar="CONFIG", help="a cluster config (YAML), e.g. cluster_configs/local.yaml")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from .demo import run_demo

        try:
            run_demo(args.n_samples, args.n_features, args.n_clusters, cluster_config=args.cluster)
        except (ValueError, FileNotFoundError) as error:
            print(f"scalecluster: error: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
