"""两个指数 / the two indices per unit, member and month, shaped for pages and the CLI;
weights in ``data/config/indices.toml``. Defined in docs/metrics.md (堡垒指数,
先锋指数); computed by :mod:`metrics.fortress_index` and :mod:`metrics.vanguard_index`.

党组织堡垒指数, per sub-grid and range, 0–100:
  制度落实 30 × coverage + 学习覆盖 20 × study coverage + 民情处置 (10 × min(1, reports
  ÷ (target × data months)) + 10 × 按期办结率) + 测评 30 × (党员群众测评 score ÷ 100),
  minus the sub-grid's 反向扣分, floored at 0. A part with nothing to measure (no
  survey covering the range, no members, no report decided) is left out and the other
  parts are rescaled to 100; without a survey the index is marked 无测评
  (``surveyed`` false). Survey periods (``2026H1``, ``2026Q3``, ``2026``, ``2026-05``)
  overlapping the range count, each weighted by the months it overlaps.
  A village's index is the member-month-weighted mean of its sub-grids' indices minus
  the village's own deductions (floored at 0); the town's, of its villages'. A
  village counts as surveyed only when all its sub-grids are. The parts shown for a
  village or the town are the weighted means of its sub-grids' parts (a part left out
  counts 0 there), before the sub-grids' deductions.

党员先锋指数, per party member and range, 0–100:
  组织生活出勤 40 × (Σ credits ÷ activities due) over the 组织生活 activities of the
  member's own sub-grid in the months on the roll (出席 1, 请假 0.5, 缺席 or not on
  the sign-in sheet 0) + 学习 30 × months reached ÷ months on the roll + 作用发挥
  min(30, 10 × (reports filed anywhere + 志愿服务 attended)), minus the member's
  反向扣分, floored at 0; the 出勤 part is left out (and the rest rescaled) when the
  sub-grid held no 组织生活 activity. Sub-grids, villages and the town take the plain
  mean over their members. The 先锋指数 surveys are not part of the formula.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.config import Config
from metrics.filters import Filter
from metrics.formulas import label_for
from metrics.fortress_index import FORTRESS_PARTS, fortress_by_unit
from metrics.monthly_means import FORTRESS_VALUES, unit_means
from metrics.query_context import Context
from metrics.reported_only import reported_flags
from metrics.scope import scoped
from metrics.vanguard_index import (
    VANGUARD_PARTS,
    party_members,
    vanguard_by_member,
    vanguard_by_unit,
)

FORTRESS_POINTS = [f"{p}_pts" for p in FORTRESS_PARTS]
VANGUARD_POINTS = [f"{p}_pts" for p in VANGUARD_PARTS]


def _fortress_frame(ctx: Context) -> pl.DataFrame:
    """堡垒指数 per unit (and bucket) with its ``stars``: every month for ``month``
    buckets, else the range's — the index and its parts the mean of the range's
    months (metrics.monthly_means), the member-months and survey marks pooled."""
    frame = fortress_by_unit(ctx)
    if ctx.bucket_mode != "month":
        means = unit_means(ctx, FORTRESS_VALUES).drop("value_months")
        frame = (
            ctx.range_rows(frame)
            .drop(*FORTRESS_VALUES)
            .join(means, on=["unit_id", "bucket"], how="left")
        )
    return frame.join(reported_flags(ctx), on=["unit_id", "bucket"], how="left").with_columns(
        stars=label_for(ctx.config.fortress.stars, "fortress_index")
    )


@scoped
def fortress(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """堡垒指数 per unit of ``f.level`` over the range.

    Columns ``unit_id, unit_name, fortress_index, stars, surveyed, coverage_pts,
    study_pts, collection_pts, handling_pts, survey_pts, raw`` (before the unit's own
    deductions), ``deductions, member_months``.
    """
    ctx = Context.of(con, f, config, rollups)
    return (
        ctx.units.join(_fortress_frame(ctx), on="unit_id")
        .select(
            "unit_id",
            "unit_name",
            "fortress_index",
            "stars",
            "surveyed",
            "reported",
            *FORTRESS_POINTS,
            "raw",
            "deductions",
            "member_months",
        )
        .sort("unit_id")
    )


@scoped
def vanguard_members(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """先锋指数 per party member on a roll in scope during the range.

    Columns ``person_id, name, subgrid_id, village_id, vanguard_index, grade,
    attendance_pts, study_pts, role_pts`` (null: the part was left out and the others
    rescaled), ``deductions, months_on_roll, study_months, org_credit, org_expected,
    reports, volunteer``.
    """
    ctx = Context.of(con, f, config, rollups)
    return (
        ctx.range_rows(vanguard_by_member(ctx))
        .join(party_members(ctx).select("person_id", "name"), on="person_id", how="left")
        .join(ctx.subgrids.select("subgrid_key", "subgrid_id", "village_id"), on="subgrid_key")
        .sort("village_id", "subgrid_id", "person_id")
        .with_columns(grade=label_for(ctx.config.vanguard.grades, "vanguard_index"))
        .select(
            "person_id",
            "name",
            "subgrid_id",
            "village_id",
            "vanguard_index",
            "grade",
            *VANGUARD_POINTS,
            "deductions",
            "months_on_roll",
            "study_months",
            "org_credit",
            "org_expected",
            "reports",
            "volunteer",
        )
    )


@scoped
def vanguard(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """先锋指数 per unit, the mean over its members: ``unit_id, unit_name, members,
    vanguard_index, grade, attendance_pts, study_pts, role_pts, deductions`` (the
    components are means too)."""
    ctx = Context.of(con, f, config, rollups)
    return (
        ctx.units.join(
            ctx.range_rows(vanguard_by_unit(ctx)).drop("bucket"), on="unit_id", how="left"
        )
        .with_columns(
            members=pl.col("members").fill_null(0).cast(pl.Int64),
            grade=label_for(ctx.config.vanguard.grades, "vanguard_index"),
        )
        .select(
            "unit_id",
            "unit_name",
            "members",
            "vanguard_index",
            "grade",
            *VANGUARD_POINTS,
            "deductions",
        )
        .sort("unit_id")
    )


@scoped
def indices(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Both indices per unit (the CLI's ``indices``): ``unit_id, unit_name,
    fortress_index, vanguard_index, stars, grade, surveyed, reported`` (``reported``
    false: a month of the range is 未报送 for the unit's village; a unit with no month
    reported has no 堡垒指数 and no star) plus the 堡垒指数 parts
    (``coverage_pts`` … ``survey_pts``, ``raw, deductions, member_months``) and the
    number of ``members`` averaged for the 先锋指数."""
    ctx = Context.of(con, f, config, rollups)
    vang = ctx.range_rows(vanguard_by_unit(ctx)).drop(
        "bucket", "attendance_pts", "study_pts", "role_pts", "deductions"
    )
    return (
        ctx.units.join(_fortress_frame(ctx).drop("bucket"), on="unit_id", how="left")
        .join(vang, on="unit_id", how="left")
        .filter(pl.col("fortress_index").is_not_null() | pl.col("vanguard_index").is_not_null())
        .with_columns(
            # A unit with no month reported has no values at all (未报送, not 0).
            vanguard_index=pl.when(pl.col("reported").not_() & pl.col("fortress_index").is_null())
            .then(None)
            .otherwise(pl.col("vanguard_index")),
        )
        .with_columns(
            grade=label_for(ctx.config.vanguard.grades, "vanguard_index"),
            members=pl.col("members").fill_null(0).cast(pl.Int64),
        )
        .select(
            "unit_id",
            "unit_name",
            "fortress_index",
            "vanguard_index",
            "stars",
            "grade",
            "surveyed",
            "reported",
            *FORTRESS_POINTS,
            "raw",
            "deductions",
            "member_months",
            "members",
        )
        .sort("unit_id")
    )


@scoped
def indices_by_month(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Both indices per unit and data month, each month its own range: ``unit_id,
    unit_name, month, fortress_index, stars, surveyed, vanguard_index, grade``."""
    ctx = Context.of(con, f, config, rollups, buckets="month")
    vang = vanguard_by_unit(ctx).select("unit_id", "bucket", "vanguard_index")
    return (
        ctx.units.join(_fortress_frame(ctx), on="unit_id")
        .join(vang, on=["unit_id", "bucket"], how="left")
        .with_columns(grade=label_for(ctx.config.vanguard.grades, "vanguard_index"))
        .select(
            "unit_id",
            "unit_name",
            pl.col("bucket").alias("month"),
            "fortress_index",
            "stars",
            "surveyed",
            "reported",
            "vanguard_index",
            "grade",
        )
        .sort("unit_id", "month")
    )
