"""Maintaining the rollup tables (:mod:`store.rollup_layout`) the metrics read.

``create_rollups`` makes the tables (or rebuilds them when the layout changed);
``months_touched`` says which months' rollups the rows a write adds or removes make
stale; ``refresh`` recomputes the rows of those months (``None`` = everything), inside
the caller's transaction.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection, Iterable, Mapping
from datetime import date

import duckdb

from store.contracts import LIST_KINDS, PERSON, REGISTRY_KINDS, Kind
from store.database import run_sql, transaction
from store.months import add_months
from store.rollup_layout import (
    DDL,
    FORMER_TABLES,
    LAYOUT_KEY,
    MONTHLY_KINDS,
    MONTHLY_TABLES,
    ROLLUP_LAYOUT,
    ROLLUP_VERSION,
    ROSTER_KEY,
    SOURCES_KEY,
    STATE_KEY,
    TABLES,
    TYPE_LIMIT,
    bound,
    each_type,
    params,
    read_meta,
    rollups_ready,
)
from store.rollup_rows import (
    ACTS_SELECT,
    DEDUCTION_SELECT,
    MEMBER_MONTH_SELECT,
    MEMBER_SELECT,
    SIGNINS_FROM,
    SUBGRID_KEYS_SELECT,
    SURVEY_SELECT,
    fill_names,
    subgrid_month_select,
    village_month_select,
)

# What the member rollups depend on besides activities and sign-ins: if any of it
# changes, an incremental refresh turns into a full one (whatever months were passed).
ROSTER_FINGERPRINT = """
SELECT concat_ws('/',
    (SELECT count(*) FROM person),
    (SELECT coalesce(sum(hash(person_id, subgrid_id, is_party_member, active_from,
                              active_to)), 0) FROM person),
    (SELECT count(*) FROM subgrid),
    (SELECT coalesce(sum(hash(subgrid_id, village_id)), 0) FROM subgrid))
"""

# The deductions and the evaluations, whose rollups are rebuilt whole when they change.
SOURCE_FINGERPRINTS = """
SELECT concat_ws('/',
    (SELECT count(*) FROM deduction),
    (SELECT coalesce(sum(hash(deduction_date, unit_id, item, points)), 0) FROM deduction)),
  concat_ws('/',
    (SELECT count(*) FROM evaluation),
    (SELECT coalesce(sum(hash(period, unit_id, index_name, rater, score)), 0)
     FROM evaluation))
"""


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def create_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Create the rollup tables, or bring tables of another layout up to date.

    * No rollup tables (a new database): they are created empty and marked pending
      (the metrics read the base tables until the first ``refresh``).
    * Tables of the current layout: nothing to do (one catalog query; idempotent).
    * Tables of another layout (the stored :data:`LAYOUT_KEY` differs, their columns
      differ from :data:`DDL`, or one is missing or left over from an older layout):
      every rollup table is dropped, recreated and rebuilt from the base tables
      (a full :func:`refresh`). Inside the caller's transaction when one is open (a
      load's: its rows are then in the rebuild too), else in a transaction of its own.

    A database made before :data:`LAYOUT_KEY` existed, whose tables have the current
    columns, only gets the key (no rebuild).
    """
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    live = _live_layout(con)
    if not live:
        for table in TABLES:
            con.execute(DDL[table])
        _set_meta(con, LAYOUT_KEY, ROLLUP_LAYOUT)
        _set_meta(con, STATE_KEY, "pending")
        return
    stored, state = read_meta(con, LAYOUT_KEY), read_meta(con, STATE_KEY)
    if (
        live == _expected_layout()
        and stored in (None, ROLLUP_LAYOUT)
        and state in (None, ROLLUP_VERSION, "pending")
    ):
        if stored is None:
            _set_meta(con, LAYOUT_KEY, ROLLUP_LAYOUT)
        if state is None:
            _set_meta(con, STATE_KEY, "pending")
        return
    with transaction(con, join=True):
        _rebuild(con)


def _rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every rollup table any layout had, create the current ones, fill them."""
    for table in (*TABLES, *FORMER_TABLES):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    for table in TABLES:
        con.execute(DDL[table])
    _set_meta(con, LAYOUT_KEY, ROLLUP_LAYOUT)
    _set_meta(con, STATE_KEY, "pending")
    refresh(con)


# The columns of the rollup tables of this database (current or former names), per
# table, in order: (name, type, nullable).
LIVE_LAYOUT = """SELECT table_name, list((column_name, data_type, is_nullable)
                               ORDER BY column_index)
FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = 'main'
  AND table_name IN (SELECT unnest(?::VARCHAR[]))
GROUP BY table_name"""


def _live_layout(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    rows = con.execute(LIVE_LAYOUT, [[*TABLES, *FORMER_TABLES]]).fetchall()
    return dict(rows)


@functools.cache
def _expected_layout() -> dict[str, list]:
    """The columns :data:`DDL` makes, as DuckDB reports them (built once in memory)."""
    scratch = duckdb.connect()
    try:
        for table in TABLES:
            scratch.execute(DDL[table])
        return _live_layout(scratch)
    finally:
        scratch.close()


def _month_range(months: list[date]) -> dict[str, object]:
    """Bound values selecting the activities of ``months`` (a range prunes, a list picks)."""
    last = max(months)
    return {
        "months": sorted(months),
        "first": min(months),
        "after": add_months(last, 1),
    }


MONTHS_WHERE = """a.activity_date >= $first AND a.activity_date < $after
  AND date_trunc('month', a.activity_date)::DATE IN (SELECT unnest($months::DATE[]))"""


def refresh(
    con: duckdb.DuckDBPyConnection,
    months: Collection[date] | Mapping[str, Collection[date]] | None = None,
) -> None:
    """Bring the rollups in step with the base tables after a load or an undo.

    ``months`` says what changed:

    * ``None``: everything (a full rebuild).
    * a plain collection of months (first days; any day of the month will do): the
      monthly rollups of those months are recomputed, and the deduction and survey
      rollups rebuilt if their source tables changed (a fingerprint of each).
    * a mapping from load kind (``activity``, ``attendance``, ``report``,
      ``evaluation``, ``deduction`` …, the loader's kind names) to the months that
      kind's rows touched: only the ``activity``/``attendance`` months are
      recomputed, and the deduction and survey rollups are rebuilt only when their
      kind is present. The cheap path for the loader: a load of reports then costs
      no monthly recomputation at all.

    A month's rows are recomputed alone (no running sums carry into later months),
    by one aggregation of its sign-ins. The roster and the registry are fingerprinted:
    if they changed since the last refresh, the refresh is a full one whatever
    ``months`` says. An empty collection is fine.

    Runs inside the caller's transaction: it never begins or commits one.
    """
    roster = con.execute(ROSTER_FINGERPRINT).fetchall()[0][0]
    if months is not None and (not rollups_ready(con) or read_meta(con, ROSTER_KEY) != roster):
        months = None
    if months is None:
        for table in TABLES:
            con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO ru_subgrid {SUBGRID_KEYS_SELECT}")
        sql = fill_names(MEMBER_SELECT, subgrids="ru_subgrid")
        con.execute(f"INSERT INTO ru_member SELECT * FROM ({sql}) ORDER BY person_key")
        every = "SELECT DISTINCT date_trunc('month', activity_date)::DATE FROM activity"
        _recompute_months(con, [r[0] for r in con.execute(every).fetchall()])
        _rebuild_sources(con)
    elif isinstance(months, Mapping):
        _recompute_months(con, _firsts(m for k in MONTHLY_KINDS for m in months.get(k, ())))
        if {"deduction", "evaluation"} & set(months):
            _rebuild_sources(con)
    else:
        _recompute_months(con, _firsts(months))
        if read_meta(con, SOURCES_KEY) != _source_fingerprints(con):
            _rebuild_sources(con)
    _set_meta(con, ROSTER_KEY, roster)
    _set_meta(con, STATE_KEY, ROLLUP_VERSION)


def _firsts(months: Iterable[date]) -> list[date]:
    return sorted({date(m.year, m.month, 1) for m in months})


def _source_fingerprints(con: duckdb.DuckDBPyConnection) -> str:
    return "|".join(con.execute(SOURCE_FINGERPRINTS).fetchall()[0])


def _recompute_months(con: duckdb.DuckDBPyConnection, months: list[date]) -> None:
    """Replace the monthly rollup rows of ``months`` (a month without activities loses
    its rows: it is no longer a data month)."""
    if not months:
        return
    for table in MONTHLY_TABLES:
        con.execute(f"DELETE FROM {table} WHERE month IN (SELECT unnest(?::DATE[]))", [months])
    values = params()
    sql = "CREATE OR REPLACE TEMP TABLE _ru_acts AS " + fill_names(
        ACTS_SELECT, subgrids="ru_subgrid", where=MONTHS_WHERE
    )
    con.execute(sql, bound(sql, values | _month_range(months)))
    try:
        signins = fill_names(SIGNINS_FROM, acts="_ru_acts", members="ru_member")
        select = fill_names(MEMBER_MONTH_SELECT, signins=signins)
        _insert(con, "ru_member_month", select, values, "month, subgrid_key, person_key")
        select = subgrid_month_select("_ru_acts", "ru_member", "ru_member_month", "ru_subgrid")
        _insert(con, "ru_subgrid_month", select, values, "month, subgrid_key")
        _insert(con, "ru_village_month", village_month_select("_ru_acts"), values, "month")
    finally:
        # After a failed statement the transaction is aborted and this DROP fails too,
        # hiding the error that matters (the table goes with the caller's rollback).
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("DROP TABLE IF EXISTS _ru_acts")
    _check_type_counts(con, months)


def _check_type_counts(con: duckdb.DuckDBPyConnection, months: list[date]) -> None:
    """Refuse counts the packed per-type columns could not hold (see FIELD_BITS)."""
    largest = each_type("held_{k}", ", ")
    row = con.execute(
        f"SELECT max(greatest({largest})) FROM ru_subgrid_month "
        "WHERE month IN (SELECT unnest(?::DATE[]))",
        [months],
    ).fetchall()[0]
    if row[0] is not None and row[0] >= TYPE_LIMIT:
        raise ValueError(
            f"汇总表无法计数：同一子网格同一月份同一类型的活动达 {row[0]} 次"
            f"（上限 {TYPE_LIMIT - 1}）"
        )


def _rebuild_sources(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the deduction and survey rollups whole (both are small)."""
    for table in ("ru_deduction", "ru_survey"):
        con.execute(f"DELETE FROM {table}")
    values = params()
    deduction = fill_names(DEDUCTION_SELECT, subgrids="ru_subgrid", members="ru_member")
    _insert(con, "ru_deduction", deduction, values, "month, unit_id")
    survey = fill_names(SURVEY_SELECT, subgrids="ru_subgrid", members="ru_member")
    _insert(con, "ru_survey", survey, values, "subgrid_key, person_key, index_name, rater")
    _set_meta(con, SOURCES_KEY, _source_fingerprints(con))


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, select: str, values: dict, order: str
) -> None:
    # Sorted by month then unit: range scans by month (and a village's key range)
    # skip whole row groups.
    sql = f"INSERT INTO {table} SELECT * FROM ({select}) ORDER BY {order}"
    con.execute(sql, bound(sql, values))


# The roster: a change to it moves every month's denominators.
ROSTER_KINDS = {k.name for k in (*REGISTRY_KINDS, PERSON)}
LIST_RECORD_KINDS = {k.name for k in LIST_KINDS}


def months_touched(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    relation: str,
    today: date,
    batch_id: int | None = None,
) -> set[date] | None:
    """First days of the months whose facts rows of ``relation`` touch (None: roster).

    Reports touch every month from the one they were reported in to the one they were
    closed in (or today, while open): the open backlog at each of those month ends moves.
    """
    month = "CAST(date_trunc('month', {}) AS DATE)"
    if kind.name in ROSTER_KINDS:
        return None
    if kind.name in LIST_RECORD_KINDS:  # the four lists' records feed no rollup
        return set()
    if kind.name == "activity":
        sql = f"SELECT DISTINCT {month.format('activity_date')} FROM {relation}"
    elif kind.name == "attendance":
        sql = (
            f"SELECT DISTINCT {month.format('a.activity_date')} FROM activity a "
            f"WHERE a.activity_id IN (SELECT activity_id FROM {relation})"
        )
    elif kind.name == "deduction":
        sql = f"SELECT DISTINCT {month.format('deduction_date')} FROM {relation}"
    elif kind.name == "report":
        end = (
            "coalesce(resolved_at, CASE WHEN status = '不予受理' THEN accepted_at END, "
            "CAST($today AS TIMESTAMP))"
        )
        sql = (
            "SELECT DISTINCT CAST(unnest(generate_series(s, greatest(s, e), INTERVAL 1 MONTH)) "
            "AS DATE) FROM (SELECT DISTINCT date_trunc('month', reported_at) AS s, "
            f"date_trunc('month', {end}) AS e FROM {relation})"
        )
    elif kind.name == "evaluation":
        sql = (
            "SELECT DISTINCT CAST(unnest(generate_series(s, s + INTERVAL 5 MONTH, "
            "INTERVAL 1 MONTH)) AS DATE) FROM (SELECT DISTINCT CAST(make_date("
            "CAST(substr(period, 1, 4) AS INTEGER), "
            "CASE WHEN period LIKE '%H1' THEN 1 ELSE 7 END, 1) AS TIMESTAMP) AS s "
            f"FROM {relation})"
        )
    else:  # pragma: no cover - every kind is listed above
        raise ValueError(kind.name)
    params = {
        name: value for name, value in (("today", today), ("batch", batch_id)) if f"${name}" in sql
    }
    return {row[0] for row in run_sql(con, sql, params) if row[0] is not None}
