"""``python -m notify``: see :mod:`notify.cli` and docs/cli.md."""

import sys

from notify.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
