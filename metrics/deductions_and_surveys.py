"""反向扣分 and 测评: the deductions of the span per unit, sub-grid and member, and the
survey scores of sub-grids and members per month and bucket.

Deductions lower the 堡垒指数, the 先锋指数 and the 考核 total, except those whose item
the deduction catalogue marks as already scored by a metric (they would penalise one
failure twice). A survey feeds the 测评 part of the 堡垒指数 (sub-grids) or of the
先锋指数 (members): each month's score is the rater-weighted mean of the 测评类型 that
scored the unit for a period covering the month (a rater without a score is left out
and the others rescaled), and a bucket's score is the mean over its covered months.
Definitions: docs/metrics.md (测评, 反向扣分).
"""

from __future__ import annotations

import polars as pl

from metrics.batch_cache import per_subgrid, shared_in_scope
from metrics.query_context import Context

# How much of a range a survey covers (docs/metrics.md, 测评).
SURVEYED, PARTLY_SURVEYED, NOT_SURVEYED = "已测评", "部分测评", "无测评"
# A share of the months this close to 1 counts as whole (a mean of shares).
_WHOLE = 1e-9


@shared_in_scope
def deductions(ctx: Context) -> pl.DataFrame:
    """The counted deductions of the span's calendar months with their ``bucket``:
    ``unit_id, points, subgrid_key, on_subgrid, on_person, person_key``."""
    rows = ctx.fetch_by_month(
        f"""SELECT r.unit_id, r.month AS grain, r.points, r.subgrid_key, r.on_subgrid,
    r.on_person, r.person_key
FROM {ctx.tables["ru_deduction"]} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)
  AND {counted_sql("r")}""",
        ctx.span_months,
        **deduction_values(ctx),
    )
    return rows.join(ctx.calendar, left_on="grain", right_on="month").drop("grain")


def counted_sql(alias: str) -> str:
    """SQL condition over ``ru_deduction`` rows ``alias``: the deduction counts (its item
    is not one a metric already scores; binds :func:`deduction_values`)."""
    return f"NOT list_contains($not_counted::VARCHAR[], {alias}.item)"


def deduction_values(ctx: Context) -> dict[str, list[str]]:
    """The values :func:`counted_sql` binds."""
    return {"not_counted": list(ctx.config.deductions.not_counted)}


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


def survey_month_sql(ctx: Context, members: bool, months: str = "months") -> str:
    """SQL: ``subgrid_key, [person_key,] month, score`` — per sub-grid or, with
    ``members``, per member (``person_key``, with the member's sub-grid) in scope, and
    per month of the DATE list ``$<months>`` that a survey of its index covers: the
    rater-weighted mean score (binds the values of :func:`survey_values`)."""
    key = "subgrid_key, s.person_key" if members else "subgrid_key"
    out = "subgrid_key, r.person_key" if members else "subgrid_key"
    unit = "s.person_key IS NOT NULL" if members else "s.person_key IS NULL"
    prefix = "v" if members else "f"
    return f"""(WITH w AS (
    SELECT unnest(${prefix}_raters::VARCHAR[]) AS rater,
        unnest(${prefix}_rater_weights::DOUBLE[]) AS weight
),
by_rater AS (
    SELECT s.{key}, m.month, s.rater, avg(s.score) AS score
    FROM {ctx.tables["ru_survey"]} s
    JOIN (SELECT unnest(${months}::DATE[]) AS month) m ON m.month BETWEEN s.p_start AND s.p_end
    WHERE s.index_name = ${prefix}_survey_index AND {unit}
      AND {ctx.subgrid_in_scope_sql("s.subgrid_key")}
    GROUP BY ALL
)
SELECT r.{out}, r.month, sum(r.score * w.weight) / sum(w.weight) AS score
FROM by_rater r
JOIN w ON w.rater = r.rater AND w.weight > 0
GROUP BY ALL)"""


def survey_values(ctx: Context) -> dict[str, object]:
    """The values :func:`survey_month_sql` binds (both indices' raters and weights, and
    the scope's sub-grid keys)."""
    fo, va = ctx.config.fortress, ctx.config.vanguard
    return {
        "f_survey_index": fo.survey_index,
        "f_raters": [r for r, _ in fo.survey_raters],
        "f_rater_weights": [w for _, w in fo.survey_raters],
        "v_survey_index": va.survey_index,
        "v_raters": [r for r, _ in va.survey_raters],
        "v_rater_weights": [w for _, w in va.survey_raters],
        **ctx.subgrid_key_range,
    }


@per_subgrid()
def survey_by_subgrid(ctx: Context) -> pl.DataFrame:
    """``subgrid_key, bucket, survey_score, survey_months``: the mean over the bucket's
    data months that a 堡垒指数 survey covers of the month's rater-weighted score, and
    how many such months there are."""
    rows = ctx.fetch_by_month(
        f"SELECT subgrid_key, month AS grain, score FROM {survey_month_sql(ctx, False)}",
        ctx.span_data_months,
        **survey_values(ctx),
    )
    return (
        rows.join(ctx.calendar, left_on="grain", right_on="month")
        .group_by("subgrid_key", "bucket")
        .agg(survey_score=pl.col("score").mean(), survey_months=pl.len().cast(pl.Int64))
    )


@per_subgrid()
def member_survey_by_month(ctx: Context) -> pl.DataFrame:
    """``subgrid_key, person_key, month, score``: the rater-weighted 先锋指数 survey score of each
    member in scope per data month of the span that a survey covers."""
    return ctx.fetch_by_month(
        f"SELECT subgrid_key, person_key, month AS grain, score FROM {survey_month_sql(ctx, True)}",
        ctx.span_data_months,
        **survey_values(ctx),
    ).rename({"grain": "month"})


def whole_survey(share: str) -> pl.Expr:
    """Whether a survey covers every month, from the share of the months it covers."""
    return pl.col(share).fill_null(0.0) >= 1.0 - _WHOLE


def survey_status(whole: pl.Expr, some: pl.Expr) -> pl.Expr:
    """已测评 when a survey covers every month (of every unit inside), 部分测评 when it
    covers some, else 无测评."""
    return (
        pl.when(whole)
        .then(pl.lit(SURVEYED))
        .when(some)
        .then(pl.lit(PARTLY_SURVEYED))
        .otherwise(pl.lit(NOT_SURVEYED))
    )
