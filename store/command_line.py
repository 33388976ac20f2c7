"""What the scheduled commands (``python -m supervise``, ``notify``, ``briefing``) share:
a parser that reports usage errors instead of exiting (the dashboard parses a handed-over
command too, see :mod:`store.handover`), and the last step that prints a
:class:`~store.handover.Reply` and writes its files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from store.handover import Reply

USAGE = 2


class UsageError(Exception):
    """A command line that cannot be run (message in Chinese); exit code 2."""


class CommandParser(argparse.ArgumentParser):
    """``argparse`` that raises :class:`UsageError` rather than exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.format_usage()}参数错误：{message}")


def usage_reply(exc: UsageError) -> Reply:
    """The reply of a command line that cannot be run."""
    return Reply(USAGE, err=f"{exc}\n")


def finish(reply: Reply) -> int:
    """Write the reply's files, print its output and error; its exit code.

    A file that cannot be written turns a success into exit code 1."""
    for name, data in reply.files.items():
        try:
            Path(name).write_bytes(data)
        except OSError as exc:
            sys.stderr.write(f"无法写入 {name}：{exc.strerror}\n")
            return 1
    sys.stdout.write(reply.out)
    sys.stderr.write(reply.err)
    return reply.code
