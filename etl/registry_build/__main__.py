"""``python -m etl.registry_build``: rebuild the shipped registry files from a seed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from etl.registry_build import DEFAULT_SEED, REGISTRY_DIR, build_registry


def main(argv: Sequence[str] | None = None) -> int:
    """Build the registry into ``--out`` (default ``data/registry``); exit code 0."""
    parser = argparse.ArgumentParser(
        prog="python -m etl.registry_build",
        description="Build the registry of 漕泾镇 (villages, sub-grids, service points, "
        "people, illustrative boundaries) deterministically from a seed.",
    )
    parser.add_argument("--out", type=Path, default=REGISTRY_DIR, help="output directory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    build_registry(args.out, args.seed)
    print(f"registry written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
