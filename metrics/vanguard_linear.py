"""The 先锋指数 sums of a large scope's sub-grids without computing every member.

A member on the roll the whole bucket, without deductions and surveyed as most such
members of the sub-grid enters the sub-grid's sums linearly, given its rollup; only
the others are computed one by one (:mod:`metrics.vanguard_at_scale`). Same numbers
as summing every member (:mod:`metrics.vanguard_index`), to rounding; the formula is
in docs/metrics.md (先锋指数).
"""

from __future__ import annotations

import polars as pl

from metrics.activity_sums import subgrid_sums
from metrics.query_context import Context
from metrics.vanguard_at_scale import (
    capped_role_sql,
    contribution_sql,
    run_vanguard_sql,
    vanguard_ctes,
)


def vanguard_by_subgrid_linear(ctx: Context) -> pl.DataFrame:
    """Large scope: the per-sub-grid sums without computing every member.

    A member on the roll the whole bucket, without deductions and surveyed as most
    such members of the sub-grid (all of the bucket's months, or none) enters the sums
    linearly, given the sub-grid's rollup: the same months on the roll, 组织生活 due
    (``held_org``) and parts present, so the same weights, and the sub-grid's credit
    and study months are the sums of its members'. Only 作用发挥 is capped per member
    and the survey score is the member's own: both are summed over these members.
    The others (on the roll part of the bucket, with deductions, or surveyed
    otherwise: a few per cent) are computed one by one. Same numbers as summing every
    member, to rounding."""
    va = ctx.config.vanguard
    rows = run_vanguard_sql(
        ctx,
        vanguard_ctes(ctx, everyone=False)
        + f""",
exact AS (
    SELECT subgrid_key, bucket, count(*) AS x_members,
        sum(vanguard_index) AS x_vanguard, sum(coalesce(attendance_pts, 0)) AS x_attendance,
        sum(coalesce(study_pts, 0)) AS x_study_pts, sum(coalesce(role_pts, 0)) AS x_role,
        sum(coalesce(survey_pts, 0)) AS x_survey, sum(survey_share) AS x_share,
        count(*) FILTER (WHERE survey_share >= 1) AS x_surveyed,
        count(*) FILTER (WHERE survey_share > 0) AS x_some,
        sum(deductions) AS x_deductions, sum(org_credit) AS x_credit,
        sum(study_months) AS x_study_months
    FROM vm GROUP BY ALL
),
-- Every member of x (those without a data month on the roll are not in vm): their
-- credits and study months are in the sub-grid's sums only through vm.
lin AS (
    SELECT roll.person_key, roll.subgrid_key, roll.bucket, vb.b_months
    FROM roll
    JOIN vb ON vb.bucket = roll.bucket
    WHERE roll.whole_bucket
      AND NOT EXISTS (SELECT 1 FROM x
                      WHERE x.person_key = roll.person_key AND x.bucket = roll.bucket)
),
linear AS (
    SELECT lin.subgrid_key, lin.bucket, count(*) AS n_members,
        sum(coalesce({capped_role_sql(contribution_sql("role"), "lin.b_months")}, 0))
            AS n_role,
        sum(sv.survey_score) AS n_survey
    FROM lin
    LEFT JOIN role ON role.person_key = lin.person_key AND role.bucket = lin.bucket
    LEFT JOIN sv ON sv.person_key = lin.person_key AND sv.bucket = lin.bucket
    GROUP BY ALL
)
SELECT subgrid_key, bucket, exact.* EXCLUDE (subgrid_key, bucket),
    linear.* EXCLUDE (subgrid_key, bucket), pat.full_survey
FROM (SELECT subgrid_key, bucket FROM exact UNION SELECT subgrid_key, bucket FROM linear) u
LEFT JOIN exact USING (subgrid_key, bucket)
LEFT JOIN linear USING (subgrid_key, bucket)
LEFT JOIN pat USING (subgrid_key, bucket)""",
    )
    zero = ["x_members", "x_vanguard", "x_attendance", "x_study_pts", "x_role", "x_survey"]
    zero += ["x_share", "x_surveyed", "x_some", "x_deductions", "x_credit", "x_study_months"]
    zero += ["n_members", "n_role", "n_survey"]
    sums = subgrid_sums(ctx).select(
        "subgrid_key", "bucket", "org_credit", "reached", "held_org", "months"
    )
    # (DuckDB's integer sums are 128-bit: decimals in Polars, whose division rounds.)
    frame = (
        rows.join(sums, on=["subgrid_key", "bucket"], how="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Float64) for c in zero)
        .with_columns(pl.col("full_survey").fill_null(False))
    )
    wa, ws, wr, wv = va.attendance, va.study, va.role, va.survey
    due = pl.col("held_org") > 0
    surveyed = pl.col("full_survey")
    available = (
        pl.when(due).then(wa).otherwise(0.0)
        + ws
        + (wr if wr > 0 else 0.0)
        + pl.when(surveyed).then(wv).otherwise(0.0)
    )
    some = (pl.col("n_members") > 0) & (available > 0)
    attendance = (
        pl.when(some & due)
        .then(
            wa
            * ((pl.col("org_credit") - pl.col("x_credit")) / pl.col("held_org"))
            * 100.0
            / available
        )
        .otherwise(0.0)
    )
    study = (
        pl.when(some)
        .then(
            ws
            * ((pl.col("reached") - pl.col("x_study_months")) / pl.col("months"))
            * 100.0
            / available
        )
        .otherwise(0.0)
    )
    role = pl.when(some).then(wr * pl.col("n_role") * 100.0 / available).otherwise(0.0)
    survey = pl.when(some & surveyed).then(wv * pl.col("n_survey") / available).otherwise(0.0)
    linear_surveyed = pl.when(surveyed).then(pl.col("n_members")).otherwise(0.0)
    return frame.select(
        "subgrid_key",
        "bucket",
        members=(pl.col("x_members") + pl.col("n_members")).cast(pl.Int64),
        vanguard_index=pl.col("x_vanguard") + attendance + study + role + survey,
        attendance_pts=pl.col("x_attendance") + attendance,
        study_pts=pl.col("x_study_pts") + study,
        role_pts=pl.col("x_role") + role,
        survey_pts=pl.col("x_survey") + survey,
        deductions=pl.col("x_deductions").cast(pl.Float64),
        survey_share=pl.col("x_share") + linear_surveyed,
        surveyed_members=(pl.col("x_surveyed") + linear_surveyed).cast(pl.Int64),
        some_survey_members=(pl.col("x_some") + linear_surveyed).cast(pl.Int64),
    ).filter(pl.col("members") > 0)
