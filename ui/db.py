"""The dashboard's database connection, built on first start if missing."""

from __future__ import annotations

import contextlib
import importlib
import threading

import duckdb
import streamlit as st

from etl.init_db import init_database
from metrics import scope as metric_scope
from store.database import connect
from store.database import data_version as stored_data_version
from store.paths import resolve_db_path
from ui import job_handover

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
    con = connect(path)
    # While we hold the file, scheduled commands hand their work to us (ui.job_handover).
    job_handover.start(path, con)
    return con


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the shared connection (connections are not thread-safe).

    Writes (loads, undo, audit entries) use one of these; page reads go through
    :func:`query`, which reads the run's snapshot.
    """
    return _connection(str(resolve_db_path())).cursor()


# One read snapshot per script run (a run happens on one thread): every number of a page
# view then comes from the same committed state, even while an upload commits.
_run = threading.local()


def begin_snapshot() -> None:
    """Start the run's read snapshot (the entry point calls this before any page code)."""
    end_snapshot()
    snapshot = cursor()
    snapshot.execute("BEGIN TRANSACTION")
    _run.snapshot = snapshot
    _run.version = stored_data_version(snapshot)  # fixed for the snapshot: read it once


def end_snapshot() -> None:
    """End the run's read snapshot, if any (the entry point calls this in ``finally``)."""
    snapshot = getattr(_run, "snapshot", None)
    _run.snapshot = _run.version = None
    if snapshot is not None:
        # Already ended (e.g. the connection closed): nothing left to release.
        with contextlib.suppress(duckdb.Error):
            snapshot.execute("ROLLBACK")
        snapshot.close()


def reader() -> duckdb.DuckDBPyConnection:
    """The run's snapshot cursor, or a fresh cursor outside a run."""
    return getattr(_run, "snapshot", None) or cursor()


def data_version() -> int:
    """The data version of what this run reads; every committed load or undo bumps it."""
    version = getattr(_run, "version", None)
    return stored_data_version(reader()) if version is None else version


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(
    module: str, name: str, version: int, db: str, scope: str | None, args: tuple, kwargs: tuple
):
    function = getattr(importlib.import_module(module), name)
    with metric_scope.restricted_to(scope):
        return function(reader(), *args, **dict(kwargs))


def query(function, *args, **kwargs):
    """Call a metrics function on the run's snapshot, cached by arguments, data version
    and the user's village scope.

    Keying on the data version means an upload or undo (which bumps it inside its
    transaction) makes every page compute fresh numbers on its next run; keying on the
    scope means a result computed for one user's scope is never served to another.
    """
    return _cached(
        function.__module__,
        function.__qualname__,
        data_version(),
        str(resolve_db_path()),
        metric_scope.current(),
        args,
        tuple(sorted(kwargs.items())),
    )
