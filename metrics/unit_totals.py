"""The pooled sums per unit of the filter's level and bucket: activity, member and
report numbers added up over the unit's sub-grids (plus the village-level
requirements), which 制度落实, 学习覆盖率, the 总览 KPIs and the 考核 components are
ratios of.

Pooling sums first and divides last (a village's coverage is Σ met ÷ Σ due over its
sub-grids, not a mean of their rates); see docs/metrics.md.
"""

from __future__ import annotations

import polars as pl

from metrics.activity_sums import ACTIVITY_SUMS, subgrid_sums, village_sums
from metrics.batch_cache import already_computed, per_context, per_subgrid
from metrics.deductions_and_surveys import subgrid_deduction_points, survey_by_subgrid
from metrics.query_context import Context
from metrics.reported_only import without_unreported
from metrics.reports import report_sums_by_subgrid

# The report sums that pool up from sub-grids to units.
REPORT_SUMS = (
    "reports",
    "accept_due",
    "accept_on_time",
    "resolve_due",
    "resolve_on_time",
    "resolved",
    "satisfaction_sum",
    "satisfaction_n",
)


@per_subgrid()
def subgrid_totals(ctx: Context) -> pl.DataFrame:
    """Sub-grid × bucket: the :func:`~metrics.activity_sums.subgrid_sums`, the report
    sums (:func:`~metrics.reports.report_sums_by_subgrid`), ``survey_score`` and
    ``points`` (deductions on the sub-grid) — every sub-grid in scope × every bucket
    with data. This is what the 堡垒指数 and the pooled sums read."""
    keys = ["subgrid_key", "bucket"]
    # Deductions first: before the scope's size is known their fetch runs as a small
    # result (Context._execute), which they are even for a city.
    points = subgrid_deduction_points(ctx)
    return (
        subgrid_sums(ctx)
        .join(report_sums_by_subgrid(ctx), on=keys, how="left")
        .join(survey_by_subgrid(ctx), on=keys, how="left")
        .join(points, on=keys, how="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in REPORT_SUMS)
    )


@per_context
def unit_activity_totals(ctx: Context) -> pl.DataFrame:
    """Unit × bucket: the pooled activity and member numbers (``subgrid_months, due,
    met, compliant, member_months, reached, reached_home, volunteer_members,
    org_credit, org_expected``) — what coverage and study need, no reports."""
    # The sub-grid totals hold the same sums: reuse them when a page computed them.
    computed = already_computed(ctx, subgrid_totals)
    return _pooled(ctx, subgrid_totals(ctx) if computed else subgrid_sums(ctx), ())


@per_context
def unit_totals(ctx: Context) -> pl.DataFrame:
    """Unit × bucket: what :func:`unit_activity_totals` holds plus the pooled report
    numbers (``reports, accept_due, accept_on_time, resolve_due, resolve_on_time,
    resolved, satisfaction_sum, satisfaction_n``), from :func:`subgrid_totals`."""
    return _pooled(ctx, subgrid_totals(ctx), REPORT_SUMS)


def _pooled(ctx: Context, subgrid_rows: pl.DataFrame, extra: tuple[str, ...]) -> pl.DataFrame:
    """Per unit of the level and bucket: the sums of ``subgrid_rows`` (activity and
    member columns, plus ``extra``) and the village-level requirements."""
    u = ctx.unit_column
    sums = [*ACTIVITY_SUMS, *extra]
    subgrid_rows = without_unreported(ctx, subgrid_rows)
    frame = ctx.units_by_bucket().join(
        subgrid_rows.group_by(pl.col(u).alias("unit_id"), "bucket").agg(
            pl.col("months").sum().alias("subgrid_months"), *[pl.col(c).sum() for c in sums]
        ),
        on=["unit_id", "bucket"],
        how="left",
    )
    if ctx.filter.level != "subgrid":
        village = (
            without_unreported(ctx, village_sums(ctx))
            .group_by(pl.col(u).alias("unit_id"), "bucket")
            .agg(v_due=pl.col("due").sum(), v_met=pl.col("met").sum())
        )
        frame = (
            frame.join(village, on=["unit_id", "bucket"], how="left")
            .with_columns(
                due=pl.col("due").fill_null(0) + pl.col("v_due").fill_null(0),
                met=pl.col("met").fill_null(0) + pl.col("v_met").fill_null(0),
            )
            .drop("v_due", "v_met")
        )
    counts = ["subgrid_months", *(c for c in sums if c != "org_credit")]
    return frame.with_columns(
        *[pl.col(c).fill_null(0).cast(pl.Int64) for c in counts],
        pl.col("org_credit").fill_null(0.0).cast(pl.Float64),
    ).sort("unit_id", "bucket")
