"""Write access to the database: one writer at a time, and what every write keeps in step.

:mod:`etl` is the only writer of data. Within a process the writers (load, undo) take
:data:`WRITE_LOCK`; other processes are kept out by DuckDB's file lock, which
:func:`connect_for_load` waits for. Every write refreshes the rollups of the months it
touched (:func:`refresh_rollups`) and bumps the data version
(:func:`etl.schema.bump_data_version`) inside its own transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path

import duckdb

from etl import rollups
from store.database import connect

# One writer at a time in this process (DuckDB's file lock keeps other processes out):
# validation results are checked against the data version under this lock.
WRITE_LOCK = threading.RLock()


class DatabaseBusy(Exception):
    """Another process holds the database file."""


def connect_for_load(path: str | Path, wait_seconds: float = 5.0) -> duckdb.DuckDBPyConnection:
    """Open the database read-write, waiting up to ``wait_seconds`` for another process.

    Raises :class:`DatabaseBusy` (message in Chinese, with the holder's PID) when the
    lock is still held after the wait.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return connect(path)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise
            if time.monotonic() >= deadline:
                pid = text.split("PID", 1)[1].strip(" )").split(")")[0] if "PID" in text else "?"
                raise DatabaseBusy(
                    f"数据库 {path} 正被另一个程序占用（进程 {pid}），可能是正在运行的看板。\n"
                    "请先关闭该程序后重试，或在看板的「数据上传」页面上传文件。"
                    "本次没有写入任何数据。"
                ) from exc
            time.sleep(0.2)


def refresh_rollups(
    con: duckdb.DuckDBPyConnection,
    months: Collection[date] | Mapping[str, Collection[date]] | None,
) -> None:
    """Bring the rollups in step, inside the caller's transaction (``months`` as
    :func:`etl.rollups.refresh` takes them).

    ``create_rollups`` first (cheap when current): a database built before a rollup
    layout change then gets the new tables instead of failing the load.
    """
    rollups.create_rollups(con)
    rollups.refresh(con, months)
