"""Opening the database, and the one way to run a transaction.

Every connection in a process must use the same configuration (DuckDB refuses a
second one with different settings), so all code opens the file through
:func:`connect`. Every write that must be all-or-nothing runs inside
:func:`transaction`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import duckdb


def connect(path: str | os.PathLike[str], read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database file with the project's one connection configuration.

    A database file this call creates is made private (0600) at once.
    """
    created = not read_only and not os.path.exists(path)
    con = duckdb.connect(str(path), read_only=read_only)
    if created and os.path.exists(path):
        os.chmod(path, 0o600)
    return con


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> list[tuple]:
    """Execute and fetch everything: DuckDB 2 refuses new work on a connection while a
    result is still pending, even an INSERT's row count."""
    return con.execute(sql, params or []).fetchall()


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` is inside an explicit transaction.

    Two statements see the same ``txid_current()`` only inside one; in auto-commit mode
    each statement is a transaction of its own. (Trying ``BEGIN`` instead would abort
    the caller's transaction when one is open.)
    """
    first = run_sql(con, "SELECT txid_current()")[0][0]
    return run_sql(con, "SELECT txid_current()")[0][0] == first


@contextlib.contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, commit: bool = True, join: bool = False
) -> Iterator[None]:
    """``BEGIN`` … ``COMMIT``; ``ROLLBACK`` on any exception (re-raised), or at the end
    when ``commit`` is false (a dry run).

    With ``join``, work that may be called inside a caller's transaction runs in it
    (the caller commits or rolls back) and only opens its own otherwise. The rollback
    never hides the failure that caused it: when the transaction is already gone
    (DuckDB ends it itself after some errors), the rollback's own error is dropped.
    """
    if join and in_transaction(con):
        yield
        return
    run_sql(con, "BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            run_sql(con, "ROLLBACK")
        raise
    run_sql(con, "COMMIT" if commit else "ROLLBACK")


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    """The data version (``meta``): every committed load or undo bumps it, so caches and
    pending validations notice a change (0 before the first write)."""
    rows = run_sql(con, "SELECT value FROM meta WHERE key = 'data_version'")
    return int(rows[0][0]) if rows else 0
