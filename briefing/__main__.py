"""``python -m briefing``: see :mod:`briefing.cli` and docs/cli.md."""

import sys

from briefing.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
