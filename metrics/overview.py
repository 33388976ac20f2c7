"""Headline counts for the 总览 page: the size of the grid and the latest month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb


@dataclass(frozen=True)
class TownSummary:
    villages: int
    subgrids: int
    party_members: int
    latest_month: date | None
    activities: int
    reports: int


def town_summary(con: duckdb.DuckDBPyConnection) -> TownSummary:
    """Registry sizes, active party members and the latest month's activity and reports.

    The latest month is the last month with any activity. Party members are those on
    the roll on that month's last day (``is_party_member`` and assigned to a sub-grid).
    """
    row = con.execute(
        """
        WITH latest AS (
            SELECT date_trunc('month', max(activity_date))::DATE AS m FROM activity
        )
        SELECT
            (SELECT count(*) FROM village),
            (SELECT count(*) FROM subgrid),
            (SELECT count(*) FROM person, latest
              WHERE is_party_member AND subgrid_id IS NOT NULL
                AND active_from <= coalesce(last_day(latest.m), current_date)
                AND (active_to IS NULL OR active_to >= coalesce(latest.m, current_date))),
            (SELECT m FROM latest),
            (SELECT count(*) FROM activity, latest
              WHERE date_trunc('month', activity_date) = latest.m),
            (SELECT count(*) FROM report, latest
              WHERE date_trunc('month', reported_at) = latest.m)
        """
    ).fetchone()
    return TownSummary(*row)
