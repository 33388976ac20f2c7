"""The dashboard runs the scheduled commands handed over to it while it holds the database.

``python -m supervise``, ``python -m notify`` and ``python -m briefing`` cannot open the
file while the dashboard has it open (DuckDB's one-writer rule); they hand their
arguments to this process instead (:mod:`store.handover`, docs/decisions/
0014-scheduled-commands-hand-over-to-the-dashboard.md), which runs the same work on a
cursor of its own connection. :func:`start` is called when the dashboard opens the
database (``ui.db``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

from store.handover import Reply, serve

# The only commands the dashboard runs for another process: command → its module,
# imported on first use (typesetting and charts need not load with the dashboard).
COMMANDS = {"supervise": "supervise.cli", "notify": "notify.cli", "briefing": "briefing.cli"}


def start(db: str | Path, con: duckdb.DuckDBPyConnection) -> Path:
    """Answer hand-overs for ``db`` on ``con`` from now on; the socket's path."""

    def handle(command: str, argv: list[str], env: dict[str, str]) -> Reply:
        if command not in COMMANDS:
            return Reply(2, err=f"看板不执行命令 {command}。\n")
        module = importlib.import_module(COMMANDS[command])
        cursor = con.cursor()
        try:
            return module.handed_over(cursor, argv, env)
        finally:
            cursor.close()

    return serve(db, handle)
