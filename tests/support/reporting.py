"""Databases with a reporting history for the 报送情况 tests: a village's month of rows
removed (as if never uploaded), and the sample's uploads dated as an office would
have made them (``init`` loads every sample month at one instant)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from etl.rollups import refresh
from store.database import connect
from store.months import add_months

_DATED = "{col} >= $month AND {col} < $month + INTERVAL 1 MONTH"
_ACTIVITIES = (
    "SELECT activity_id FROM activity WHERE ($village IS NULL OR village_id = $village) AND "
    + _DATED.format(col="activity_date")
)


def delete_unit(db: Path, village_id: str | None, month: date, kinds) -> None:
    """Delete a village's rows (every village's with None) of ``kinds`` dated in
    ``month``, and refresh the rollups: as if they had never been uploaded."""
    con = connect(db)
    try:
        con.execute("BEGIN TRANSACTION")
        values = {"village": village_id, "month": month}
        if "attendance" in kinds or "activity" in kinds:
            con.execute(f"DELETE FROM attendance WHERE activity_id IN ({_ACTIVITIES})", values)
        if "activity" in kinds:
            con.execute(f"DELETE FROM activity WHERE activity_id IN ({_ACTIVITIES})", values)
        if "report" in kinds:
            con.execute(
                "DELETE FROM report WHERE subgrid_id IN (SELECT subgrid_id FROM subgrid "
                "WHERE $village IS NULL OR village_id = $village) AND "
                + _DATED.format(col="reported_at"),
                values,
            )
        refresh(con)
        con.execute(
            "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
            "WHERE key = 'data_version'"
        )
        con.execute("COMMIT")
    finally:
        con.close()


def date_uploads(db: Path, user: str, late: dict[date, str], day: int = 5) -> None:
    """Record each sample month's upload as made by ``user`` at 10:00 on ``day`` of the
    next month, or at the time ``late`` gives for that month (``YYYY-MM-DD HH:MM``).

    A month's batch is the one whose latest unit is that month (a month's files also
    carry a few late rows of the month before)."""
    con = connect(db)
    try:
        batches = con.execute(
            "SELECT batch_id, max(month) FROM upload_unit GROUP BY batch_id"
        ).fetchall()
        for batch_id, month in batches:
            stamp = late.get(month) or f"{add_months(month, 1):%Y-%m}-{day:02d} 10:00"
            con.execute(
                "UPDATE upload SET user_name = ?, uploaded_at = CAST(? AS TIMESTAMP) "
                "WHERE batch_id = ?",
                [user, stamp, batch_id],
            )
    finally:
        con.close()
