"""Reading 督办 items: the lists, counts and history that the 督办 page, 总览, 村居详情,
the briefing, the reminders and ``python -m supervise list`` show.

Every function is held to the caller's village scope (:func:`metrics.scope.scoped`),
so a 村居书记 sees their own village's items only. Names are returned as stored:
masking them for a 镇领导 is the caller's job (``ui.privacy``, the briefing). A
database without the 督办 tables has no items. Not cached by data version: the items
change without an upload.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from metrics.scope import scoped
from store.clock import today_local
from store.database import run_sql
from supervise.tables import (
    CLOSED,
    EVENTS,
    NOT_CLOSED,
    OVERDUE,
    SOURCES,
    STATUSES,
    tables_exist,
)

COLUMNS = {
    "item_id": pl.Int64,
    "source": pl.String,
    "source_label": pl.String,
    "village_id": pl.String,
    "village_name": pl.String,
    "subgrid_id": pl.String,
    "subgrid_name": pl.String,
    "subject": pl.String,
    "owner_id": pl.String,
    "owner": pl.String,
    "owner_role": pl.String,
    "opened_at": pl.Datetime("us"),
    "deadline": pl.Date,
    "status": pl.String,
    "days_left": pl.Int64,
    "feedback": pl.String,
    "feedback_at": pl.Datetime("us"),
    "closed_by": pl.String,
    "closed_at": pl.Datetime("us"),
    "closing_note": pl.String,
}
SELECT = """SELECT i.item_id, i.source, i.village_id, v.name AS village_name, i.subgrid_id,
    s.name AS subgrid_name, i.subject, i.owner_id,
    i.owner_name AS owner, i.owner_role, i.opened_at, i.deadline, i.status,
    (i.deadline - $today::DATE)::BIGINT AS days_left, i.feedback, i.feedback_at,
    i.closed_by, i.closed_at, i.closing_note
FROM supervision_item i
LEFT JOIN village v ON v.village_id = i.village_id
LEFT JOIN subgrid s ON s.subgrid_id = i.subgrid_id"""


def _frame(con: duckdb.DuckDBPyConnection, where: str, params: dict, order: str) -> pl.DataFrame:
    if not tables_exist(con):
        return pl.DataFrame(schema=COLUMNS)
    frame = con.sql(f"{SELECT} WHERE {where} ORDER BY {order}", params=params).pl()
    return frame.with_columns(
        source_label=pl.col("source").replace_strict(SOURCES, default=pl.col("source"))
    ).select(pl.col(c).cast(t) for c, t in COLUMNS.items())


@scoped
def items(
    con: duckdb.DuckDBPyConnection,
    village_id: str | None = None,
    *,
    status: str | None = None,
    source: str | None = None,
    today: date | None = None,
) -> pl.DataFrame:
    """The items, newest first (see :data:`COLUMNS`); ``status`` one of the four
    statuses or ``未办结`` for all but 已办结; ``days_left`` until the deadline
    (negative: days past it)."""
    statuses = list(NOT_CLOSED) if status == "未办结" else [status] if status else list(STATUSES)
    return _frame(
        con,
        "($village::VARCHAR IS NULL OR i.village_id = $village) "
        "AND list_contains($statuses, i.status) "
        "AND ($source::VARCHAR IS NULL OR i.source = $source)",
        {"village": village_id, "statuses": statuses, "source": source, "today": _day(today)},
        "i.opened_at DESC, i.item_id DESC",
    )


@scoped
def oldest_open(
    con: duckdb.DuckDBPyConnection,
    village_id: str | None = None,
    *,
    limit: int = 5,
    today: date | None = None,
) -> pl.DataFrame:
    """The ``limit`` items not yet closed that were opened first."""
    return _frame(
        con,
        "($village::VARCHAR IS NULL OR i.village_id = $village) AND list_contains($open, i.status)",
        {"village": village_id, "open": list(NOT_CLOSED), "today": _day(today)},
        f"i.opened_at, i.item_id LIMIT {int(limit)}",
    )


@scoped
def status_counts(con: duckdb.DuckDBPyConnection, village_id: str | None = None) -> dict[str, int]:
    """status → number of items (every status present, 0 when none)."""
    counts = dict.fromkeys(STATUSES, 0)
    if not tables_exist(con):
        return counts
    rows = run_sql(
        con,
        "SELECT status, count(*) FROM supervision_item "
        "WHERE ?::VARCHAR IS NULL OR village_id = ? GROUP BY status",
        [village_id, village_id],
    )
    counts.update(dict(rows))
    return counts


@scoped
def period_summary(
    con: duckdb.DuckDBPyConnection, start: date, end: date, village_id: str | None = None
) -> pl.DataFrame:
    """Per source, the items about the months ``start``…``end`` (first days; found in
    those months' data by the sweep, or opened by hand in them) and where they stand
    now: ``source, source_label, opened, closed, open_now, overdue_now`` (every source,
    zeros included). A month's items are opened in the next month, when its data is in:
    so they are counted by the month they are about, not the day they were opened."""
    found: dict[str, tuple] = {}
    if tables_exist(con):
        rows = run_sql(
            con,
            """SELECT source, count(*), count(*) FILTER (WHERE status = $closed),
    count(*) FILTER (WHERE status <> $closed), count(*) FILTER (WHERE status = $overdue)
FROM supervision_item
WHERE ($village::VARCHAR IS NULL OR village_id = $village)
  AND (month BETWEEN $start AND $end
       OR (month IS NULL AND opened_at >= $start AND opened_at < $end + INTERVAL 1 MONTH))
GROUP BY source""",
            {
                "start": start,
                "end": end,
                "village": village_id,
                "closed": CLOSED,
                "overdue": OVERDUE,
            },
        )
        found = {r[0]: r[1:] for r in rows}
    return pl.DataFrame(
        [(code, label, *found.get(code, (0, 0, 0, 0))) for code, label in SOURCES.items()],
        schema={
            "source": pl.String,
            "source_label": pl.String,
            "opened": pl.Int64,
            "closed": pl.Int64,
            "open_now": pl.Int64,
            "overdue_now": pl.Int64,
        },
        orient="row",
    )


@scoped
def history(
    con: duckdb.DuckDBPyConnection, item_id: int, village_id: str | None = None
) -> pl.DataFrame:
    """The changes of one item, oldest first: ``logged_at, user_name, action, detail``
    (``action`` in words); empty for an item outside ``village_id``."""
    schema = {
        "logged_at": pl.Datetime("us"),
        "user_name": pl.String,
        "action": pl.String,
        "detail": pl.String,
    }
    if not tables_exist(con):
        return pl.DataFrame(schema=schema)
    frame = con.sql(
        """SELECT e.logged_at, e.user_name, e.action, e.detail
FROM supervision_event e JOIN supervision_item i USING (item_id)
WHERE e.item_id = $item AND ($village::VARCHAR IS NULL OR i.village_id = $village)
ORDER BY e.logged_at, e.rowid""",
        params={"item": item_id, "village": village_id},
    ).pl()
    return frame.with_columns(
        action=pl.col("action").replace_strict(EVENTS, default=pl.col("action"))
    ).select(pl.col(c).cast(t) for c, t in schema.items())


def _day(today: date | None) -> date:
    return today or today_local()


ASSIGNABLE_ROLES = ("总网格长", "网格指导员", "子网格长", "网格员")


@scoped
def owner_choices(
    con: duckdb.DuckDBPyConnection, village_id: str | None = None, today: date | None = None
) -> pl.DataFrame:
    """Who may own a village's items: the team members on the roll today (总网格长,
    网格指导员, 子网格长, 网格员) — ``person_id, name, role, subgrid_name``, by post."""
    return con.sql(
        """SELECT p.person_id, p.name, p.role, s.name AS subgrid_name
FROM person p LEFT JOIN subgrid s ON s.subgrid_id = p.subgrid_id
WHERE p.village_id = $village AND list_contains($roles, p.role)
  AND p.active_from <= $today AND (p.active_to IS NULL OR p.active_to >= $today)
ORDER BY list_position($roles, p.role), p.subgrid_id NULLS FIRST, p.person_id""",
        params={"village": village_id, "roles": list(ASSIGNABLE_ROLES), "today": _day(today)},
    ).pl()
