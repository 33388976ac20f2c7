"""``python -m supervise``: see :mod:`supervise.cli` and docs/cli.md."""

import sys

from supervise.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
