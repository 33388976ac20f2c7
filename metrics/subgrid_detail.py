"""子网格详情: everything about one sub-grid over a range — its registry row, KPIs,
scorecard, monthly trend, the 制度清单 requirements of the latest data month, the
members not reached by study, the reports still open, and its team.

The town-wide functions compute every unit of a level; these select one sub-grid from
them (the page asks for one, and a Filter has no unit). Pass a ``subgrid``-level
:class:`Filter` holding the sub-grid's village: the functions then compute that
village's handful of sub-grids only, and the village scope of a 村居书记 applies as it
does everywhere (a sub-grid outside it is simply not found). Definitions are those of
the functions selected from (docs/metrics.md); the team is the roster on the range's
last day, as :mod:`metrics.posts` counts it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import duckdb
import polars as pl

from metrics.config import Config
from metrics.coverage import coverage_matrix
from metrics.filters import Filter
from metrics.overview import kpi_trend, kpis, scorecard
from metrics.posts import posts
from metrics.query_context import Context
from metrics.reports import open_reports_at_end
from metrics.scope import scoped
from metrics.study import not_reached
from store.duty_catalogue import DutyCatalogue

# The sub-grid's own team, top down (the village posts above it are on 村居详情).
TEAM_ROLES = ("子网格长", "网格员", "网格志愿者")
TEAM_COLUMNS = {
    "role": pl.String,
    "person_id": pl.String,
    "name": pl.String,
    "is_party_member": pl.Boolean,
    "volunteer_type": pl.String,
    "active_from": pl.Date,
}


def _one(frame: pl.DataFrame, column: str, subgrid_id: str) -> pl.DataFrame:
    return frame.filter(pl.col(column) == subgrid_id)


def _subgrids_of(f: Filter) -> Filter:
    return f if f.level == "subgrid" else f.at_level("subgrid")


@scoped
def find_subgrid(
    con: duckdb.DuckDBPyConnection, subgrid_id: str, village_id: str | None = None
) -> dict | None:
    """``subgrid_id, name, village_id, village_name`` of the sub-grid, or None when it
    does not exist or lies outside ``village_id`` (and the caller's scope)."""
    rows = con.execute(
        """SELECT s.subgrid_id, s.name, s.village_id, v.name
FROM subgrid s JOIN village v USING (village_id)
WHERE s.subgrid_id = $subgrid AND ($village::VARCHAR IS NULL OR s.village_id = $village)""",
        {"subgrid": subgrid_id, "village": village_id},
    ).fetchall()
    if not rows:
        return None
    return dict(zip(("subgrid_id", "name", "village_id", "village_name"), rows[0], strict=True))


@scoped
def subgrid_kpis(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    subgrid_id: str,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The sub-grid's rows of :func:`metrics.overview.kpis` (value, 环比, 同比)."""
    frame = kpis(con, _subgrids_of(f), config=config, rollups=rollups)
    return _one(frame, "unit_id", subgrid_id)


@scoped
def subgrid_scorecard(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    subgrid_id: str,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The sub-grid's row of :func:`metrics.overview.scorecard` (its ``rank`` is among
    the sub-grids of ``f``'s village)."""
    frame = scorecard(con, _subgrids_of(f), config=config, rollups=rollups)
    return _one(frame, "unit_id", subgrid_id)


@scoped
def subgrid_trend(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    subgrid_id: str,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The sub-grid's rows of :func:`metrics.overview.kpi_trend`, one per data month."""
    frame = kpi_trend(con, _subgrids_of(f), config=config, rollups=rollups)
    return _one(frame, "unit_id", subgrid_id)


@scoped
def requirements_of_month(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    subgrid_id: str,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The 制度清单's sub-grid requirements in the latest data month of ``f``'s range:
    ``month, requirement, label, activity_type, min_count, held, met`` — ``met`` as
    the 网格覆盖 heat map has it (the requirement was met that month). Empty when the
    range has no data month."""
    ctx = Context.of(con, f, config, rollups)
    months = ctx.range_data_months
    schema = {
        "month": pl.Date,
        "requirement": pl.String,
        "label": pl.String,
        "activity_type": pl.String,
        "min_count": pl.Int64,
        "held": pl.Int64,
        "met": pl.Boolean,
    }
    if not months:
        return pl.DataFrame(schema=schema)
    month = months[-1]
    matrix = coverage_matrix(
        con, replace(_subgrids_of(f), start=month, end=month), config=config, rollups=rollups
    )
    return (
        matrix.filter((pl.col("level") == "subgrid") & (pl.col("unit_id") == subgrid_id))
        .with_columns(
            month=pl.lit(month, pl.Date),
            met=(pl.col("months_met") >= pl.col("months")) & (pl.col("months") > 0),
        )
        .select(list(schema))
    )


@scoped
def members_not_reached(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    subgrid_id: str,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The sub-grid's rows of :func:`metrics.study.not_reached` (names as stored)."""
    frame = not_reached(con, _subgrids_of(f), config=config, rollups=rollups)
    return _one(frame, "subgrid_id", subgrid_id)


@scoped
def open_reports(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    subgrid_id: str,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The sub-grid's reports open at the end of the range, overdue ones first, then
    oldest: ``report_id, category, summary, reporter_id, reporter_name, reported_at,
    status_at_end, age_h, limit_h, overdue_reason, overdue`` (as
    :func:`metrics.reports.open_reports_at_end`; the reporter's name as stored)."""
    ctx = Context.of(con, _subgrids_of(f), config, rollups)
    frame = _one(open_reports_at_end(ctx), "subgrid_id", subgrid_id)
    reporters = frame["reporter_id"].drop_nulls().unique().to_list()
    names = con.execute(
        "SELECT person_id, name FROM person WHERE list_contains($ids::VARCHAR[], person_id)",
        {"ids": reporters},
    ).fetchall()
    return (
        frame.with_columns(
            reporter_name=pl.col("reporter_id").replace_strict(dict(names), default=None)
        )
        .sort("overdue", "reported_at", "report_id", descending=[True, False, False])
        .select(
            "report_id",
            "category",
            "summary",
            "reporter_id",
            "reporter_name",
            "reported_at",
            "status_at_end",
            "age_h",
            "limit_h",
            "overdue_reason",
            "overdue",
        )
    )


@scoped
def subgrid_team(con: duckdb.DuckDBPyConnection, f: Filter, subgrid_id: str) -> pl.DataFrame:
    """The sub-grid's 子网格长, 网格员 and 网格志愿者 on the roll on the range's last day,
    in that order: ``role, person_id, name, is_party_member, volunteer_type,
    active_from`` (names as stored)."""
    day = f.end_exclusive - timedelta(days=1)
    frame = con.sql(
        """SELECT p.role, p.person_id, p.name, p.is_party_member, p.volunteer_type,
    p.active_from
FROM person p
WHERE p.subgrid_id = $subgrid AND list_contains($roles::VARCHAR[], p.role)
  AND ($village::VARCHAR IS NULL OR p.village_id = $village)
  AND p.active_from <= $day AND (p.active_to IS NULL OR p.active_to >= $day)
ORDER BY p.person_id""",
        params={
            "subgrid": subgrid_id,
            "roles": list(TEAM_ROLES),
            "village": f.village_id,
            "day": day,
        },
    ).pl()
    order = {role: i for i, role in enumerate(TEAM_ROLES)}
    return (
        frame.cast(TEAM_COLUMNS)
        .sort(pl.col("role").replace_strict(order, return_dtype=pl.Int64), "person_id")
        .select(list(TEAM_COLUMNS))
    )


@scoped
def team_posts(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    subgrid_id: str,
    catalogue: DutyCatalogue | None = None,
) -> pl.DataFrame:
    """The sub-grid's posts (:func:`metrics.posts.posts`): ``role, needed, held,
    vacant`` for each sub-grid role the 责任清单 staffs."""
    frame = posts(con, f, catalogue)
    return _one(frame, "subgrid_id", subgrid_id).select("role", "needed", "held", "vacant")
