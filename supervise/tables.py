"""The 督办 tables and the words they hold.

``supervision_item`` holds one row per item; ``supervision_event`` one row per change
of an item (opened, assigned, extended, feedback, overdue, closed): who, when, what —
the item's audit trail, shown on the 督办 page. Both are created on first write
(:func:`create_tables`); readers treat a database without them as having no items.

Sources are ASCII codes (scripts filter on them, docs/cli.md); statuses are the
Chinese words users see, as the report table's 办理状态 are.
"""

from __future__ import annotations

import duckdb

from store.database import run_sql

SOURCES = {
    "overdue_report": "民情超期",
    "red_alert": "红色预警",
    "not_reached": "连续未参学",
    "unreported": "未报送",
    "manual": "交办",
}
OPEN, ANSWERED, CLOSED, OVERDUE = "待办", "已反馈", "已办结", "已逾期"
STATUSES = (OPEN, ANSWERED, CLOSED, OVERDUE)
NOT_CLOSED = (OPEN, ANSWERED, OVERDUE)
EVENTS = {
    "opened": "立项",
    "assigned": "指定责任人",
    "extended": "延期",
    "feedback": "反馈",
    "overdue": "逾期",
    "closed": "办结",
}

ITEM_DDL = """CREATE TABLE IF NOT EXISTS supervision_item (
    item_id      BIGINT PRIMARY KEY,
    source       VARCHAR NOT NULL,
    source_key   VARCHAR,            -- the fact that opened it; never opened twice
    topic_key    VARCHAR,            -- what it is about; one item open per topic at most
    month        DATE,               -- the data month the sweep saw the fact in
    village_id   VARCHAR NOT NULL,
    subgrid_id   VARCHAR,
    subject      VARCHAR NOT NULL,   -- what must be done, without personal names
    owner_id     VARCHAR,            -- from the roster; NULL while the post is vacant
    owner_name   VARCHAR,
    owner_role   VARCHAR,
    opened_at    TIMESTAMP NOT NULL,
    opened_by    VARCHAR NOT NULL,
    deadline     DATE NOT NULL,
    status       VARCHAR NOT NULL,
    feedback     VARCHAR,
    feedback_by  VARCHAR,
    feedback_at  TIMESTAMP,
    closed_by    VARCHAR,
    closed_at    TIMESTAMP,
    closing_note VARCHAR
)"""
EVENT_DDL = """CREATE TABLE IF NOT EXISTS supervision_event (
    item_id   BIGINT NOT NULL,
    logged_at TIMESTAMP NOT NULL,
    user_name VARCHAR NOT NULL,
    action    VARCHAR NOT NULL,
    detail    VARCHAR
)"""


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create both tables if missing (inside the caller's transaction, if any)."""
    run_sql(con, ITEM_DDL)
    run_sql(con, EVENT_DDL)


def tables_exist(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the 督办 tables exist (a read-only or older database may lack them)."""
    found = run_sql(
        con,
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name IN ('supervision_item', 'supervision_event')",
    )
    return found[0][0] == 2
