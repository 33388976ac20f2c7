"""The dashboard's database connection, built on first start if missing."""

from __future__ import annotations

import importlib
import threading

import duckdb
import streamlit as st

from etl.db import connect, resolve_db_path
from etl.init_db import init_database

_build_lock = threading.Lock()


def ensure_database() -> None:
    """Build the sample database on first start, with a visible progress message."""
    path = resolve_db_path()
    if path.exists():
        return
    with _build_lock:
        if path.exists():  # another session built it while we waited
            return
        with st.status("首次启动：正在用示例数据创建数据库…", expanded=True) as status:
            bar = st.progress(0.0)

            def progress(step: int, total: int, label: str) -> None:
                bar.progress(min(step / max(total, 1), 1.0), text=label)

            result = init_database(path, progress=progress)
            status.update(
                label=f"数据库已创建：{len(result.months)} 个月示例数据", state="complete"
            )


@st.cache_resource
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    return connect(path)


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the shared connection (connections are not thread-safe)."""
    return _connection(str(resolve_db_path())).cursor()


def data_version() -> int:
    """The database's data version; every committed load or undo increments it."""
    row = cursor().execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    return int(row[0]) if row else 0


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(module: str, name: str, version: int, db: str, args: tuple, kwargs: tuple):
    function = getattr(importlib.import_module(module), name)
    return function(cursor(), *args, **dict(kwargs))


def query(function, *args, **kwargs):
    """Call a metrics function with a fresh cursor, cached by arguments and data version.

    Keying on the data version means an upload or undo (which bumps it inside its
    transaction) makes every page compute fresh numbers on its next run.
    """
    return _cached(
        function.__module__,
        function.__qualname__,
        data_version(),
        str(resolve_db_path()),
        args,
        tuple(sorted(kwargs.items())),
    )
