"""Which reporting units each upload batch brought: the record behind 报送情况.

A unit is one village's rows of one data kind for one month
(:mod:`store.reporting_units`). The loader calls :func:`record_units` inside its
transaction with the rows a batch wrote (inserted or replaced, not those equal to
stored rows), so ``upload_unit`` says when each unit first arrived and from whom (the
batch's ``upload`` rows); an undone batch stops counting through ``upload.status``.
Uploads of the roster, evaluations and deductions bring no units.
:func:`derive_units` rebuilds the record of a database loaded before the table
existed, from the keys each live batch kept for undo.
"""

from __future__ import annotations

import duckdb

from etl.batch_keys import key_match, read_keys_blob
from store.contracts import KINDS
from store.database import run_sql
from store.reporting_units import UNIT_KINDS, UPLOAD_UNIT_TABLE, units_select


def record_units(con: duckdb.DuckDBPyConnection, batch_id: int, kind: str, relation: str) -> None:
    """Inside the load's transaction: record the units the rows of ``relation`` (what
    batch ``batch_id`` wrote of ``kind``) belong to. Other kinds bring none.

    Attendance and reports find their village and month through the stored activities
    and sub-grids, so call this after the batch's activities are written.
    """
    if kind not in UNIT_KINDS:
        return
    run_sql(
        con,
        f"INSERT INTO {UPLOAD_UNIT_TABLE} SELECT $batch, village_id, month, $kind, n_rows "
        f"FROM ({units_select(kind, relation)})",
        {"batch": batch_id, "kind": kind},
    )


def derive_units(con: duckdb.DuckDBPyConnection) -> int:
    """Fill ``upload_unit`` for the live batches of a database loaded before it existed;
    returns the number of units recorded.

    Each batch's undo keys (``upload_keys``) name the rows it wrote; their units are
    taken from the rows as stored now. Rows older than the undo keys belong to no
    batch: their units have rows but no known first upload (counted as on time).
    """
    batches = run_sql(
        con,
        "SELECT k.batch_id, k.kind, k.keys FROM upload_keys k "
        "WHERE k.kind IN (SELECT unnest($kinds)) ORDER BY k.batch_id, k.kind",
        {"kinds": list(UNIT_KINDS)},
    )
    for batch_id, kind, blob in batches:
        table = KINDS[kind]
        con.register("_derive_keys", read_keys_blob(blob))
        try:
            written = (
                f"(SELECT t.* FROM {table.table} t WHERE EXISTS "
                f"(FROM _derive_keys k WHERE {key_match(table, 't', 'k')}))"
            )
            record_units(con, batch_id, kind, written)
        finally:
            con.unregister("_derive_keys")
    return run_sql(con, f"SELECT count(*) FROM {UPLOAD_UNIT_TABLE}")[0][0]
