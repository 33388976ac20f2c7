"""The drill-down rows behind a number: activities, sign-ins and reports of a unit and
range (村居详情 and the exports).

Each function takes the filter (range and village scope) and optionally ``unit_id``,
a unit of ``f.level`` (a town, village or sub-grid id); without it, every unit in
scope. Activities and sign-ins are those dated in the range; reports, those reported
in it. A sub-grid's activities are those with its 子网格编号 (village-level activities
belong to the village only).
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.config import Config
from metrics.filters import Filter
from metrics.query_context import Context
from metrics.reports import range_reports
from metrics.scope import scoped

UNIT_FILTER = {
    "town": "($unit IS NULL OR v.town_id = $unit)",
    "village": "($unit IS NULL OR a.village_id = $unit)",
    "subgrid": "($unit IS NULL OR a.subgrid_id = $unit)",
}
ACTIVITIES = """SELECT a.activity_id, a.activity_date, a.village_id, v.name AS village_name,
    a.subgrid_id, s.name AS subgrid_name, a.activity_type, a.topic, a.place_id,
    a.organizer_id, a.duration_min
FROM activity a
JOIN village v ON v.village_id = a.village_id
LEFT JOIN subgrid s ON s.subgrid_id = a.subgrid_id
WHERE a.activity_date >= $start AND a.activity_date < $end_excl
  AND ($village IS NULL OR a.village_id = $village)
  AND {unit}"""


@scoped
def activity_rows(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    unit_id: str | None = None,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Activities: ``activity_id, activity_date, village_id, village_name, subgrid_id,
    subgrid_name, activity_type, topic, place_id, organizer_id, duration_min`` and
    the sign-in counts ``roll`` (rows on the sheet), ``present``, ``leave``,
    ``absent``, ``home`` (送学上门)."""
    ctx = Context.of(con, f, config, rollups)
    return ctx.fetch(
        f"""WITH a AS ({ACTIVITIES.format(unit=UNIT_FILTER[f.level])})
SELECT a.*, count(t.person_id) AS roll,
    count(*) FILTER (WHERE t.status = $s_present) AS present,
    count(*) FILTER (WHERE t.status = $s_leave) AS leave,
    count(*) FILTER (WHERE t.status = $s_absent) AS absent,
    count(*) FILTER (WHERE t.status = $s_present AND t.mode = $m_home) AS home
FROM a LEFT JOIN attendance t ON t.activity_id = a.activity_id
GROUP BY ALL
ORDER BY a.activity_date, a.activity_id""",
        unit=unit_id,
        s_absent="缺席",
    )


@scoped
def attendance_rows(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    unit_id: str | None = None,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Sign-ins at the activities of :func:`activity_rows`: ``activity_id,
    activity_date, activity_type, village_id, subgrid_id, person_id, name, status,
    mode, signed_at``."""
    ctx = Context.of(con, f, config, rollups)
    return ctx.fetch(
        f"""WITH a AS ({ACTIVITIES.format(unit=UNIT_FILTER[f.level])})
SELECT a.activity_id, a.activity_date, a.activity_type, a.village_id, a.subgrid_id,
    t.person_id, p.name, t.status, t.mode, t.signed_at
FROM a
JOIN attendance t ON t.activity_id = a.activity_id
LEFT JOIN person p ON p.person_id = t.person_id
ORDER BY a.activity_date, a.activity_id, t.person_id""",
        unit=unit_id,
    )


@scoped
def report_rows(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    unit_id: str | None = None,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Reports reported in the range with their durations and on-time flags:
    ``report_id, subgrid_id, village_id, reporter_id, category, summary, status,
    reported_at, accepted_at, verified_at, resolved_at, accept_h, resolve_h, limit_h,
    on_time_accept, on_time_resolve, satisfaction``."""
    ctx = Context.of(con, f, config, rollups)
    frame = range_reports(ctx, listed=True)
    if unit_id is not None:
        frame = frame.filter(pl.col(ctx.unit_column) == unit_id)
    return frame.select(
        "report_id",
        "subgrid_id",
        "village_id",
        "reporter_id",
        "category",
        "summary",
        "status",
        "reported_at",
        "accepted_at",
        "verified_at",
        "resolved_at",
        "accept_h",
        "resolve_h",
        "limit_h",
        "on_time_accept",
        "on_time_resolve",
        "satisfaction",
    ).sort("reported_at", "report_id")
