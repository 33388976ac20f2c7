"""DuckDB schema (DESIGN §7.2): one table per file kind, plus the upload audit.

Table and column names come from :mod:`etl.contracts`. Natural keys are enforced by
the loader rather than by PRIMARY KEY constraints: an ART index over tens of millions
of attendance rows costs more memory and load time than the anti-join the loader
does anyway.
"""

from __future__ import annotations

import duckdb

from etl.contracts import KINDS, Kind
from etl.rollups import create_rollups

SCHEMA_VERSION = "1"

UPLOAD_DDL = """
CREATE TABLE IF NOT EXISTS upload (
    upload_id     BIGINT PRIMARY KEY,
    file_name     VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    rows_in_file  BIGINT NOT NULL,
    rows_inserted BIGINT NOT NULL,
    rows_updated  BIGINT NOT NULL,
    user_name     VARCHAR NOT NULL,
    uploaded_at   TIMESTAMP NOT NULL,
    status        VARCHAR NOT NULL DEFAULT 'loaded'
)
"""

META_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
)
"""


def table_ddl(kind: Kind) -> str:
    """CREATE TABLE statement for one kind, required columns NOT NULL."""
    cols = ",\n    ".join(
        f"{c.name} {c.sql_type}{' NOT NULL' if c.required else ''}" for c in kind.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {kind.table} (\n    {cols}\n)"


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table (idempotent) and record the schema version."""
    for kind in KINDS.values():
        con.execute(table_ddl(kind))
    con.execute(UPLOAD_DDL)
    con.execute(META_DDL)
    create_rollups(con)
    con.execute(
        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), ('data_version', "
        "coalesce((SELECT value FROM meta WHERE key = 'data_version'), '0'))",
        [SCHEMA_VERSION],
    )


def bump_data_version(con: duckdb.DuckDBPyConnection) -> int:
    """Increment the data version that caches key on; call inside the load transaction."""
    con.execute(
        "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
        "WHERE key = 'data_version'"
    )
    return int(con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0])
