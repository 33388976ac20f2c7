"""DuckDB schema (docs/data.md): one table per file kind, plus the upload audit.

Table and column names come from :mod:`store.contracts`. Natural keys are enforced by
the loader rather than by PRIMARY KEY constraints: an ART index over tens of millions
of attendance rows costs more memory and load time than the anti-join the loader
does anyway.

Undo bookkeeping (the data tables stay exactly as docs/data.md describes them; these
are extra):

* ``upload`` has one row per loaded table (a CSV, or one sheet of a workbook);
  ``batch_id`` groups the rows loaded in one transaction, the unit of undo.
* ``upload_keys`` — per batch and kind, the natural keys the batch wrote (inserted or
  replaced), as one Parquet blob: writing 1M keys that way costs a third of a keys
  table's insert, and undo (rare) reads them back with Polars.
* ``upload_prior_<kind>`` — the rows as they were before a batch replaced them.

Reporting units (报送情况, :mod:`store.reporting_units`): ``upload_unit``, the units
each batch brought (:mod:`etl.upload_units`), and ``zero_report``, the office's 零报告
declarations (:mod:`etl.zero_reports`).

Undoing batch B deletes the rows whose keys B wrote and re-inserts B's prior rows,
which is exactly the state before B (see :func:`etl.load.undo_upload`).
"""

from __future__ import annotations

import duckdb

from etl.rollups import create_rollups
from etl.upload_units import derive_units
from store.audit import AUDIT_DDL
from store.contracts import KINDS, Kind
from store.database import data_version, transaction
from store.reporting_units import UPLOAD_UNIT_TABLE, ZERO_REPORT_TABLE

SCHEMA_VERSION = "5"  # 5: the four lists' kinds, report.meeting_id

UPLOAD_DDL = """
CREATE TABLE IF NOT EXISTS upload (
    upload_id      BIGINT PRIMARY KEY,
    file_name      VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    rows_in_file   BIGINT NOT NULL,
    rows_inserted  BIGINT NOT NULL,
    rows_updated   BIGINT NOT NULL,
    user_name      VARCHAR NOT NULL,
    uploaded_at    TIMESTAMP NOT NULL,
    status         VARCHAR NOT NULL DEFAULT 'loaded',
    batch_id       BIGINT,
    sheet          VARCHAR,
    rows_unchanged BIGINT NOT NULL DEFAULT 0,
    undone_at      TIMESTAMP,
    undone_by      VARCHAR
)
"""

# Columns added to ``upload`` by schema version 2, for databases built before it.
UPLOAD_V2_COLUMNS = (
    ("batch_id", "BIGINT"),
    ("sheet", "VARCHAR"),
    ("rows_unchanged", "BIGINT DEFAULT 0"),
    ("undone_at", "TIMESTAMP"),
    ("undone_by", "VARCHAR"),
)

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


# Map polygons in force (see etl.boundaries); replaced whole by a GeoJSON upload.
BOUNDARY_DDL = """
CREATE TABLE IF NOT EXISTS boundary (
    level        VARCHAR NOT NULL,
    unit_id      VARCHAR NOT NULL,
    name         VARCHAR,
    illustrative BOOLEAN NOT NULL,
    geometry     VARCHAR NOT NULL
)
"""

# Who did what and when: sign-ins, uploads, undos, exports (see store.audit).

KEYS_DDL = """
CREATE TABLE IF NOT EXISTS upload_keys (
    batch_id BIGINT NOT NULL,
    kind     VARCHAR NOT NULL,
    n_keys   BIGINT NOT NULL,
    keys     BLOB NOT NULL
)
"""


UPLOAD_UNIT_DDL = f"""
CREATE TABLE IF NOT EXISTS {UPLOAD_UNIT_TABLE} (
    batch_id   BIGINT NOT NULL,
    village_id VARCHAR NOT NULL,
    month      DATE NOT NULL,
    kind       VARCHAR NOT NULL,
    n_rows     BIGINT NOT NULL
)
"""

ZERO_REPORT_DDL = f"""
CREATE TABLE IF NOT EXISTS {ZERO_REPORT_TABLE} (
    village_id  VARCHAR NOT NULL,
    month       DATE NOT NULL,
    kind        VARCHAR NOT NULL,
    declared_by VARCHAR NOT NULL,
    declared_at TIMESTAMP NOT NULL,
    note        VARCHAR
)
"""


def ensure_unit_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the reporting-unit tables if missing; a database loaded before they
    existed gets its upload record derived from the undo keys (:func:`derive_units`)."""
    present = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
        [UPLOAD_UNIT_TABLE],
    ).fetchall()[0][0]
    with transaction(con, join=True):  # the tables and their derived rows, or neither
        con.execute(UPLOAD_UNIT_DDL).fetchall()
        con.execute(ZERO_REPORT_DDL).fetchall()
        if not present:
            derive_units(con)


def prior_table(kind: Kind) -> str:
    """Bookkeeping table of the rows as they were before a batch replaced them."""
    return f"upload_prior_{kind.name}"


def bookkeeping_ddl(kind: Kind) -> str:
    """CREATE TABLE statement of the prior-rows table of one kind."""
    cols = ", ".join(f"{c.name} {c.sql_type}" for c in kind.columns)
    return f"CREATE TABLE IF NOT EXISTS {prior_table(kind)} (batch_id BIGINT NOT NULL, {cols})"


def ensure_upload_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a database built by an older version up to the upload/undo schema.

    Idempotent and cheap (one meta read when current); called before every load and undo.
    """
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    if rows and rows[0][0] == SCHEMA_VERSION:
        return
    for name, sql_type in UPLOAD_V2_COLUMNS:
        con.execute(f"ALTER TABLE upload ADD COLUMN IF NOT EXISTS {name} {sql_type}")
    con.execute(KEYS_DDL).fetchall()
    con.execute(BOUNDARY_DDL).fetchall()
    con.execute(AUDIT_DDL).fetchall()
    for kind in KINDS.values():
        con.execute(table_ddl(kind)).fetchall()  # kinds added since (the four lists)
        con.execute(bookkeeping_ddl(kind)).fetchall()
        for c in kind.columns:  # optional columns added since (report.meeting_id)
            for table in (kind.table, prior_table(kind)):
                con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {c.name} {c.sql_type}")
    ensure_unit_tables(con)
    con.execute(
        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION]
    ).fetchall()


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table (idempotent) and record the schema version."""
    for kind in KINDS.values():
        con.execute(table_ddl(kind))
        con.execute(bookkeeping_ddl(kind))
    con.execute(KEYS_DDL)
    con.execute(UPLOAD_DDL)
    con.execute(UPLOAD_UNIT_DDL)
    con.execute(ZERO_REPORT_DDL)
    con.execute(META_DDL)
    con.execute(BOUNDARY_DDL)
    con.execute(AUDIT_DDL)
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
    return data_version(con)
