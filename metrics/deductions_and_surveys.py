"""反向扣分 and 党员群众测评: the deductions of the span per unit, sub-grid and member,
and the survey score of each sub-grid per bucket.

Deductions lower the 堡垒指数, the 先锋指数 and the 考核 total; the survey is the
测评 part of the 堡垒指数. The definitions are in docs/metrics.md (反向扣分,
党员群众测评).
"""

from __future__ import annotations

import polars as pl

from metrics.batch_cache import per_subgrid, shared_in_scope
from metrics.query_context import Context


@shared_in_scope
def deductions(ctx: Context) -> pl.DataFrame:
    """The deductions of the span's calendar months with their ``bucket``:
    ``unit_id, points, subgrid_key, on_subgrid, on_person, person_key``."""
    rows = ctx.fetch_by_month(
        f"""SELECT r.unit_id, r.month AS grain, r.points, r.subgrid_key, r.on_subgrid,
    r.on_person, r.person_key
FROM {ctx.tables["ru_deduction"]} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)""",
        ctx.span_months,
    )
    return rows.join(ctx.calendar, left_on="grain", right_on="month").drop("grain")


@shared_in_scope
def deduction_points_by_unit(ctx: Context) -> pl.DataFrame:
    """``unit_id, bucket, points``: deductions per unit id (of any kind) and bucket."""
    return deductions(ctx).group_by("unit_id", "bucket").agg(pl.col("points").sum())


@shared_in_scope
def member_deduction_points_by_subgrid(ctx: Context) -> pl.DataFrame:
    """``subgrid_key, bucket, points``: deductions of people, by their sub-grid."""
    return (
        deductions(ctx)
        .filter(pl.col("on_person") & pl.col("subgrid_key").is_not_null())
        .group_by("subgrid_key", "bucket")
        .agg(pl.col("points").sum())
    )


def subgrid_deduction_points(ctx: Context) -> pl.DataFrame:
    """``subgrid_key, bucket, points``: deductions recorded on the sub-grids themselves."""
    return (
        deductions(ctx)
        .filter(pl.col("on_subgrid"))
        .group_by("subgrid_key", "bucket")
        .agg(pl.col("points").sum())
    )


def member_deduction_points(ctx: Context) -> pl.DataFrame:
    """``person_key, bucket, deductions``: deductions per party member and bucket."""
    return (
        deductions(ctx)
        .filter(pl.col("person_key").is_not_null())
        .group_by("person_key", "bucket")
        .agg(deductions=pl.col("points").sum())
    )


@per_subgrid()
def survey_by_subgrid(ctx: Context) -> pl.DataFrame:
    """``subgrid_key, bucket, survey_score``: the mean over the bucket's calendar
    months of the mean score of the survey periods covering each month."""
    fo = ctx.config.fortress
    rows = ctx.fetch_by_month(
        f"""SELECT s.subgrid_key, m.month AS grain, avg(s.score) AS score
FROM {ctx.tables["ru_survey"]} s
JOIN (SELECT unnest($months::DATE[]) AS month) m ON m.month BETWEEN s.p_start AND s.p_end
WHERE s.index_name = $survey_index AND s.rater = $survey_rater
  AND {ctx.subgrid_in_scope_sql("s.subgrid_key")}
GROUP BY ALL""",
        ctx.span_months,
        survey_index=fo.survey_index,
        survey_rater=fo.survey_rater,
        **ctx.subgrid_key_range,
    )
    return (
        rows.join(ctx.calendar, left_on="grain", right_on="month")
        .group_by("subgrid_key", "bucket")
        .agg(survey_score=pl.col("score").mean())
    )
