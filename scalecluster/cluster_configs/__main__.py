"""``python -m scalecluster.cluster_configs [NAME]``: list the bundled configs, or print one to copy."""

from __future__ import annotations

import sys

from . import BUNDLED_CONFIGS, bundled_config_text


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(
            "Bundled cluster configs (print one with: python -m scalecluster.cluster_configs NAME > my.yaml):"
        )
        for name in BUNDLED_CONFIGS:
            print(f"  {name}")
        return 0
    try:
        print(bundled_config_text(args[0]), end="")
    except ValueError as error:
        print(f"scalecluster.cluster_configs: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
