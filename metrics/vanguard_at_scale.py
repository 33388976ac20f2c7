"""The 先锋指数 of a large scope (a city), computed in SQL where the members are.

A city's members are too many to move into Polars one by one. Here one statement
(:func:`vanguard_ctes`, run by :func:`run_vanguard_sql`) computes each member's
inputs and formula; the per-sub-grid sums (:mod:`metrics.vanguard_linear`) compute
only the few members who do not enter them linearly. Same numbers as the
small-scope path in :mod:`metrics.vanguard_index`; the formula is in docs/metrics.md
(先锋指数).
"""

from __future__ import annotations

import polars as pl

from metrics.deductions_and_surveys import (
    counted_sql,
    deduction_values,
    survey_month_sql,
    survey_values,
)
from metrics.query_context import Context
from store.rollup_layout import OPEN_END, TYPE_KEYS, packed_column, type_count

# The inputs of a member's 先锋指数 and their types (vanguard_index.member_inputs).
MEMBER_INPUTS = {
    "person_key": pl.Int32,
    "person_id": pl.String,
    "subgrid_key": pl.Int32,
    "bucket": pl.Date,
    "months_on_roll": pl.Int32,
    "study_months": pl.Int32,
    "volunteer": pl.Int64,
    "reception": pl.Int64,
    "patrol": pl.Int64,
    "org_credit": pl.Float64,
    "org_expected": pl.Int64,
    "reports": pl.Int64,
    "survey_score": pl.Float64,
    "survey_months": pl.Int64,
    "deductions": pl.Float64,
}
# 作用发挥: the column counting each kind of thing done (config.CONTRIBUTION_KINDS).
CONTRIBUTION_COLUMNS = {
    "report": "reports",
    "volunteer": "volunteer",
    "reception": "reception",
    "patrol": "patrol",
}
# The activity types of the member's own sub-grid whose 出席 counts as 作用发挥.
OWN_SUBGRID_TYPES = {"reception": "子网格长接待日", "patrol": "网格长巡查"}
# The official period, in months, that ``full_marks_per_half_year`` is given for.
HALF_YEAR_MONTHS = 6


def org_life_credit_sql(ctx: Context, alias: str = "r") -> str:
    """SQL over member-month rows (or sums of them) ``alias``: the 组织生活 credit."""
    return " + ".join(
        f"$present_credit * {type_count(f'{alias}.present', t)}"
        f" + $leave_credit * {type_count(f'{alias}.leave', t)}"
        for t in ctx.config.vanguard.org_life_types
    )


def own_type_sql(kind: str, alias: str = "r") -> str:
    """SQL over member-month rows ``alias``: the member's 出席 at activities of the
    type of 作用发挥 ``kind`` (reception, patrol) held by the member's own sub-grid."""
    return type_count(f"{alias}.present", OWN_SUBGRID_TYPES[kind])


def contribution_sql(alias: str = "") -> str:
    """SQL: 作用发挥 points from the counts of :data:`CONTRIBUTION_COLUMNS` (binds
    ``$p_<kind>``)."""
    prefix = f"{alias}." if alias else ""
    return " + ".join(f"$p_{k} * {prefix}{c}" for k, c in CONTRIBUTION_COLUMNS.items())


def capped_role_sql(points: str, months: str) -> str:
    """SQL: the 作用发挥 fraction, ``points`` (null: none) over full marks for
    ``months`` on the roll (pro rata of ``$full_half`` per half-year), capped at 1;
    null when the part weighs nothing."""
    # (least() skips a null: without coalesce no points would give full marks.)
    return (
        f"CASE WHEN $w_role > 0 THEN least(1.0, coalesce({points}, 0) "
        f"/ ($full_half * ({months}) / {HALF_YEAR_MONTHS}.0)) END"
    )


def vanguard_ctes(ctx: Context, everyone: bool) -> str:
    """The CTEs of the large-scope 先锋指数 (see :func:`run_vanguard_sql`), ending in
    ``vm``: the formula for every member of ``roll`` (members on a roll in scope,
    per bucket), or without ``everyone`` for the members who do not enter the
    sub-grid sums linearly (:mod:`metrics.vanguard_linear`): on the roll part of
    the bucket, with deductions, or surveyed otherwise than most such members of their
    sub-grid (``pat``). Also ``role`` (what each member did, per sub-grid and bucket)
    and ``sv`` (each member's survey score and months covered)."""
    va = ctx.config.vanguard
    held = " + ".join(f"g.held_{TYPE_KEYS[t]}" for t in va.org_life_types)
    # Sums of the packed per-type counts, unpacked per member afterwards (FIELD_BITS).
    halves = {packed_column(st, t) for t in va.org_life_types for st in ("present", "leave")}
    packed = ", ".join(f"sum(r.{c}) AS {c}" for c in sorted(halves))
    cal = "(SELECT unnest($cal_months::DATE[]) AS month, unnest($cal_buckets::DATE[]) AS bucket)"
    bucket = ctx.bucket_sql("r.month")
    # One bucket: group by the member key alone (DuckDB's perfect-hash aggregate; a
    # member's sub-grid is one).
    single = ctx.bucket_mode == "range"
    role_bucket = "$start::DATE" if single else "bucket"
    role_group = "person_key, subgrid_key" if single else "person_key, subgrid_key, bucket"
    reception, patrol = own_type_sql("reception"), own_type_sql("patrol")
    if everyone:
        x = """x AS (
    SELECT roll.*, coalesce(ded.points, 0)::DOUBLE AS deductions
    FROM roll
    LEFT JOIN ded ON ded.person_key = roll.person_key AND ded.bucket = roll.bucket
),"""
    else:
        x = """pat AS (
    SELECT roll.subgrid_key, roll.bucket,
        count(*) FILTER (WHERE sv.survey_months = vb.b_months)
            >= count(*) FILTER (WHERE sv.survey_months IS NULL) AS full_survey
    FROM roll
    JOIN vb ON vb.bucket = roll.bucket
    LEFT JOIN sv ON sv.person_key = roll.person_key AND sv.bucket = roll.bucket
    WHERE roll.whole_bucket
      AND NOT EXISTS (SELECT 1 FROM ded
                      WHERE ded.person_key = roll.person_key AND ded.bucket = roll.bucket)
    GROUP BY ALL
),
x AS (
    SELECT roll.*, coalesce(ded.points, 0)::DOUBLE AS deductions
    FROM roll
    JOIN vb ON vb.bucket = roll.bucket
    LEFT JOIN ded ON ded.person_key = roll.person_key AND ded.bucket = roll.bucket
    LEFT JOIN sv ON sv.person_key = roll.person_key AND sv.bucket = roll.bucket
    LEFT JOIN pat ON pat.subgrid_key = roll.subgrid_key AND pat.bucket = roll.bucket
    WHERE NOT roll.whole_bucket OR ded.person_key IS NOT NULL
       OR coalesce(sv.survey_months, 0) <> CASE WHEN pat.full_survey THEN vb.b_months ELSE 0 END
),"""
    return f"""WITH vb AS (
    SELECT unnest($v_buckets::DATE[]) AS bucket, unnest($v_firsts::DATE[]) AS b_first,
        unnest($v_lasts::DATE[]) AS b_last, unnest($v_months::BIGINT[]) AS b_months
),
roll AS (
    SELECT m.person_key, m.person_id, m.subgrid_key, vb.bucket,
        greatest(m.first_month, vb.b_first) AS lo,
        least(coalesce(m.last_month, $open_end), vb.b_last) AS hi,
        m.first_month <= vb.b_first
            AND coalesce(m.last_month, $open_end) >= vb.b_last AS whole_bucket
    FROM {ctx.tables["ru_member"]} m
    JOIN vb ON m.first_month <= vb.b_last AND coalesce(m.last_month, $open_end) >= vb.b_first
    WHERE {ctx.subgrid_in_scope_sql("m.subgrid_key")}
),
ded AS (
    SELECT x.person_key, c.bucket, sum(x.points) AS points
    FROM {ctx.tables["ru_deduction"]} x
    JOIN {cal} c ON c.month = x.month
    WHERE x.person_key IS NOT NULL AND x.month BETWEEN $span_start AND $end
      AND {counted_sql("x")}
    GROUP BY ALL
),
sv AS (
    SELECT roll.person_key, roll.bucket, avg(sm.score) AS survey_score,
        count(*) AS survey_months
    FROM {survey_month_sql(ctx, True, "v_data_months")} sm
    JOIN roll ON roll.person_key = sm.person_key AND sm.month BETWEEN roll.lo AND roll.hi
    GROUP BY ALL
),
rep AS (
    SELECT m.person_key, m.subgrid_key, c.bucket, sum(r.reports) AS reports
    FROM (
        SELECT reporter_id, month, count(*) AS reports
        FROM {ctx.tables["report"]}
        WHERE reported_at >= $span_start AND reported_at < $end_excl
        GROUP BY ALL
    ) r
    JOIN {ctx.tables["ru_member"]} m ON m.person_id = r.reporter_id
    JOIN {cal} c ON c.month = r.month
    JOIN vb ON vb.bucket = c.bucket
    WHERE {ctx.subgrid_in_scope_sql("m.subgrid_key")} AND m.first_month <= vb.b_last
      AND coalesce(m.last_month, $open_end) >= vb.b_first
    GROUP BY ALL
),
role AS (
    SELECT person_key, subgrid_key, {role_bucket} AS bucket, sum(volunteer) AS volunteer,
        sum(reception) AS reception, sum(patrol) AS patrol, sum(reports) AS reports
    FROM (
        SELECT person_key, subgrid_key, bucket, volunteer, reception, patrol, 0 AS reports
        FROM (
            SELECT r.person_key, r.subgrid_key, {bucket} AS bucket, r.volunteer,
                {reception} AS reception, {patrol} AS patrol
            FROM {ctx.tables["ru_member_month"]} r
            WHERE r.month BETWEEN $v_first AND $v_last
              AND {ctx.subgrid_in_scope_sql("r.subgrid_key")}
        )
        WHERE volunteer > 0 OR reception > 0 OR patrol > 0
        UNION ALL
        SELECT person_key, subgrid_key, bucket, 0, 0, 0, reports FROM rep
    )
    GROUP BY {role_group}
),
{x}
iv AS (
    SELECT i.subgrid_key, i.lo, i.hi, count(*) AS months_on_roll,
        sum({held}) AS org_expected
    FROM (SELECT DISTINCT subgrid_key, lo, hi FROM x) i
    JOIN {ctx.tables["ru_subgrid_month"]} g
      ON g.subgrid_key = i.subgrid_key AND g.month BETWEEN i.lo AND i.hi
    GROUP BY ALL
),
sp AS (
    SELECT r.person_key, {bucket} AS bucket, sum(r.reached::INTEGER) AS study_months,
        {packed}
    FROM {ctx.tables["ru_member_month"]} r
    WHERE r.month BETWEEN $v_first AND $v_last AND {ctx.subgrid_in_scope_sql("r.subgrid_key")}
      AND r.person_key IN (SELECT person_key FROM x)
    GROUP BY ALL
),
parts AS (
    SELECT x.bucket, x.person_key, x.person_id, x.subgrid_key, iv.months_on_roll,
        coalesce(sp.study_months, 0) AS study_months,
        coalesce(role.volunteer, 0) AS volunteer,
        coalesce(role.reception, 0) AS reception,
        coalesce(role.patrol, 0) AS patrol,
        coalesce(({org_life_credit_sql(ctx, "sp")})::DOUBLE, 0) AS org_credit, iv.org_expected,
        coalesce(role.reports, 0) AS reports,
        sv.survey_score, coalesce(sv.survey_months, 0) AS survey_months, x.deductions
    FROM x
    JOIN iv ON iv.subgrid_key = x.subgrid_key AND iv.lo = x.lo AND iv.hi = x.hi
    LEFT JOIN sp ON sp.person_key = x.person_key AND sp.bucket = x.bucket
    LEFT JOIN role ON role.person_key = x.person_key AND role.bucket = x.bucket
    LEFT JOIN sv ON sv.person_key = x.person_key AND sv.bucket = x.bucket
),
fractions AS (
    SELECT *, org_credit / nullif(org_expected, 0) AS v_attendance,
        study_months / months_on_roll AS v_study,
        {capped_role_sql(contribution_sql(), "months_on_roll")} AS v_role,
        survey_score / 100.0 AS v_survey,
        survey_months / months_on_roll AS survey_share
    FROM parts
),
avail AS (
    SELECT *, CASE WHEN v_attendance IS NULL THEN 0 ELSE $w_attendance END
              + CASE WHEN v_study IS NULL THEN 0 ELSE $w_study END
              + CASE WHEN v_role IS NULL THEN 0 ELSE $w_role END
              + CASE WHEN v_survey IS NULL THEN 0 ELSE $w_survey * survey_share END
              AS w_available
    FROM fractions
),
pts AS (
    SELECT *,
        $w_attendance * v_attendance * 100.0 / nullif(w_available, 0) AS attendance_pts,
        $w_study * v_study * 100.0 / nullif(w_available, 0) AS study_pts,
        $w_role * v_role * 100.0 / nullif(w_available, 0) AS role_pts,
        $w_survey * survey_share * v_survey * 100.0 / nullif(w_available, 0) AS survey_pts
    FROM avail
),
vm AS (
    SELECT *,
        coalesce(attendance_pts, 0) + coalesce(study_pts, 0) + coalesce(role_pts, 0)
            + coalesce(survey_pts, 0) AS raw,
        greatest(0.0, coalesce(attendance_pts, 0) + coalesce(study_pts, 0)
                      + coalesce(role_pts, 0) + coalesce(survey_pts, 0) - deductions)
            AS vanguard_index
    FROM pts
)"""


def run_vanguard_sql(ctx: Context, sql: str) -> pl.DataFrame:
    """Large scope: run ``sql`` (built on :func:`vanguard_ctes`) in one statement
    (a city's members are too many to move into Polars one by one)."""
    bounds = ctx.bucket_bounds
    va = ctx.config.vanguard
    months = {b: 0 for b in bounds}
    for m in ctx.span_data_months:
        months[ctx.bucket_of(m)] += 1
    return ctx.fetch(
        sql,
        v_buckets=list(bounds),
        v_firsts=[b[0] for b in bounds.values()],
        v_lasts=[b[1] for b in bounds.values()],
        v_months=list(months.values()),
        v_first=min(b[0] for b in bounds.values()),
        v_last=max(b[1] for b in bounds.values()),
        v_data_months=ctx.span_data_months,
        open_end=OPEN_END,
        present_credit=va.present_credit,
        leave_credit=va.leave_credit,
        full_half=va.contribution.full_marks_per_half_year,
        **{f"p_{k}": p for k, p in va.contribution.points},
        w_attendance=va.attendance,
        w_study=va.study,
        w_role=va.role,
        w_survey=va.survey,
        **survey_values(ctx),
        **deduction_values(ctx),
    )


def vanguard_by_member_at_scale(ctx: Context) -> pl.DataFrame:
    """Large scope: every member's inputs (:data:`MEMBER_INPUTS`), parts
    (``v_*`` fractions, ``*_pts`` points), ``raw`` and ``vanguard_index``, in SQL."""
    columns = ", ".join(MEMBER_INPUTS)
    return run_vanguard_sql(
        ctx,
        vanguard_ctes(ctx, everyone=True)
        + f"""
SELECT {columns}, v_attendance, v_study, v_role, v_survey, attendance_pts, study_pts,
    role_pts, survey_pts, raw, vanguard_index
FROM vm""",
    ).with_columns(pl.col(c).cast(t) for c, t in MEMBER_INPUTS.items())
