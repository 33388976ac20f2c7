"""The 先锋指数 of a large scope (a city), computed in SQL where the members are.

A city's members are too many to move into Polars one by one. Here one statement
(:func:`vanguard_ctes`, run by :func:`run_vanguard_sql`) computes each member's
inputs and formula, and the per-sub-grid sums (:func:`vanguard_by_subgrid_linear`)
compute only the few members who do not enter them linearly. Same numbers as the
small-scope path in :mod:`metrics.vanguard_index`; the formula is in docs/metrics.md
(先锋指数).
"""

from __future__ import annotations

import polars as pl

from metrics.activity_sums import subgrid_sums
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
    "volunteer": pl.Int32,
    "org_credit": pl.Float64,
    "org_expected": pl.Int64,
    "reports": pl.Int64,
    "deductions": pl.Float64,
}


def org_life_credit_sql(ctx: Context, alias: str = "r") -> str:
    """SQL over member-month rows (or sums of them) ``alias``: the 组织生活 credit."""
    return " + ".join(
        f"$present_credit * {type_count(f'{alias}.present', t)}"
        f" + $leave_credit * {type_count(f'{alias}.leave', t)}"
        for t in ctx.config.vanguard.org_life_types
    )


def vanguard_ctes(ctx: Context, everyone: bool) -> str:
    """The CTEs of the large-scope 先锋指数 (see :func:`run_vanguard_sql`), ending in
    ``vm``: the formula for every member of ``roll`` (members on a roll in scope,
    per bucket), or without ``everyone`` for those on it only part of the bucket or
    with deductions (:func:`vanguard_by_subgrid_linear`); also ``role``: volunteering
    and reports per member on the roll, sub-grid and bucket."""
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
    if everyone:
        x = """x AS (
    SELECT roll.*, coalesce(ded.points, 0)::DOUBLE AS deductions
    FROM roll
    LEFT JOIN ded ON ded.person_key = roll.person_key AND ded.bucket = roll.bucket
),"""
    else:
        x = """x AS (
    SELECT roll.*, coalesce(ded.points, 0)::DOUBLE AS deductions
    FROM (SELECT person_key, bucket FROM roll WHERE NOT whole_bucket
          UNION SELECT person_key, bucket FROM ded) e
    JOIN roll ON roll.person_key = e.person_key AND roll.bucket = e.bucket
    LEFT JOIN ded ON ded.person_key = e.person_key AND ded.bucket = e.bucket
),"""
    return f"""WITH vb AS (
    SELECT unnest($v_buckets::DATE[]) AS bucket, unnest($v_firsts::DATE[]) AS b_first,
        unnest($v_lasts::DATE[]) AS b_last
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
        sum(reports) AS reports
    FROM (
        SELECT r.person_key, r.subgrid_key, {bucket} AS bucket, r.volunteer, 0 AS reports
        FROM {ctx.tables["ru_member_month"]} r
        WHERE r.month BETWEEN $v_first AND $v_last AND r.volunteer > 0
          AND {ctx.subgrid_in_scope_sql("r.subgrid_key")}
        UNION ALL
        SELECT person_key, subgrid_key, bucket, 0, reports FROM rep
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
        coalesce(({org_life_credit_sql(ctx, "sp")})::DOUBLE, 0) AS org_credit, iv.org_expected,
        coalesce(role.reports, 0) AS reports, x.deductions
    FROM x
    JOIN iv ON iv.subgrid_key = x.subgrid_key AND iv.lo = x.lo AND iv.hi = x.hi
    LEFT JOIN sp ON sp.person_key = x.person_key AND sp.bucket = x.bucket
    LEFT JOIN role ON role.person_key = x.person_key AND role.bucket = x.bucket
),
fractions AS (
    SELECT *, org_credit / nullif(org_expected, 0) AS v_attendance,
        study_months / months_on_roll AS v_study,
        CASE WHEN $w_role > 0
             THEN least(1.0, $per_item * (volunteer + reports) / $w_role) END AS v_role
    FROM parts
),
avail AS (
    SELECT *, CASE WHEN v_attendance IS NULL THEN 0 ELSE $w_attendance END
              + CASE WHEN v_study IS NULL THEN 0 ELSE $w_study END
              + CASE WHEN v_role IS NULL THEN 0 ELSE $w_role END AS w_available
    FROM fractions
),
pts AS (
    SELECT *,
        $w_attendance * v_attendance * 100.0 / nullif(w_available, 0) AS attendance_pts,
        $w_study * v_study * 100.0 / nullif(w_available, 0) AS study_pts,
        $w_role * v_role * 100.0 / nullif(w_available, 0) AS role_pts
    FROM avail
),
vm AS (
    SELECT *,
        coalesce(attendance_pts, 0) + coalesce(study_pts, 0) + coalesce(role_pts, 0) AS raw,
        greatest(0.0, coalesce(attendance_pts, 0) + coalesce(study_pts, 0)
                      + coalesce(role_pts, 0) - deductions) AS vanguard_index
    FROM pts
)"""


def run_vanguard_sql(ctx: Context, sql: str) -> pl.DataFrame:
    """Large scope: run ``sql`` (built on :func:`vanguard_ctes`) in one statement
    (a city's members are too many to move into Polars one by one)."""
    bounds = ctx.bucket_bounds
    va = ctx.config.vanguard
    return ctx.fetch(
        sql,
        v_buckets=list(bounds),
        v_firsts=[b[0] for b in bounds.values()],
        v_lasts=[b[1] for b in bounds.values()],
        v_first=min(b[0] for b in bounds.values()),
        v_last=max(b[1] for b in bounds.values()),
        open_end=OPEN_END,
        present_credit=va.present_credit,
        leave_credit=va.leave_credit,
        per_item=va.role_points_per_item,
        w_attendance=va.attendance,
        w_study=va.study,
        w_role=va.role,
        **ctx.subgrid_key_range,
    )


def vanguard_by_subgrid_linear(ctx: Context) -> pl.DataFrame:
    """Large scope: the per-sub-grid sums without computing every member.

    A member on the roll the whole bucket and without deductions enters the sums
    linearly, given the sub-grid's rollup: the same months on the roll and
    组织生活 due (``held_org``), so the same weights, and the sub-grid's credit
    and study months are the sums of its members'. Only 作用发挥 is capped per
    member, and needs the members who volunteered or reported. The others (on the
    roll part of the bucket, or with deductions: a few per cent) are computed one
    by one. Same numbers as summing every member, to rounding."""
    va = ctx.config.vanguard
    rows = run_vanguard_sql(
        ctx,
        vanguard_ctes(ctx, everyone=False)
        + """,
exact AS (
    SELECT subgrid_key, bucket, count(*) AS x_members,
        sum(vanguard_index) AS x_vanguard, sum(coalesce(attendance_pts, 0)) AS x_attendance,
        sum(coalesce(study_pts, 0)) AS x_study_pts, sum(coalesce(role_pts, 0)) AS x_role,
        sum(deductions) AS x_deductions, sum(org_credit) AS x_credit,
        sum(study_months) AS x_study_months
    FROM vm GROUP BY ALL
),
-- Every member of x (those without a data month on the roll are not in vm): how
-- many, and their capped 作用发挥, to take from the sub-grid's.
xs AS (
    SELECT x.subgrid_key, x.bucket, count(*) AS x_roll,
        sum(CASE WHEN $w_role > 0
                 THEN least(1.0, $per_item * (coalesce(role.volunteer, 0)
                                              + coalesce(role.reports, 0)) / $w_role) END)
            AS x_capped
    FROM x
    LEFT JOIN role ON role.person_key = x.person_key AND role.bucket = x.bucket
    GROUP BY ALL
),
rolls AS (SELECT subgrid_key, bucket, count(*) AS roll_members FROM roll GROUP BY ALL),
capped AS (
    SELECT subgrid_key, bucket,
        sum(CASE WHEN $w_role > 0
                 THEN least(1.0, $per_item * (volunteer + reports) / $w_role) END) AS capped
    FROM role GROUP BY ALL
)
SELECT subgrid_key, bucket, exact.* EXCLUDE (subgrid_key, bucket), xs.x_roll, xs.x_capped,
    rolls.roll_members, capped.capped
FROM rolls
LEFT JOIN exact USING (subgrid_key, bucket)
LEFT JOIN xs USING (subgrid_key, bucket)
LEFT JOIN capped USING (subgrid_key, bucket)""",
    )
    zero = ["x_members", "x_vanguard", "x_attendance", "x_study_pts", "x_role"]
    zero += ["x_deductions", "x_credit", "x_study_months", "x_roll", "x_capped"]
    zero += ["roll_members", "capped"]
    sums = subgrid_sums(ctx).select(
        "subgrid_key", "bucket", "org_credit", "reached", "held_org", "months"
    )
    # (DuckDB's integer sums are 128-bit: decimals in Polars, whose division rounds.)
    frame = (
        rows.join(sums, on=["subgrid_key", "bucket"], how="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Float64) for c in zero)
        .with_columns(
            # Members on the roll the whole bucket without deductions: the others
            # are in x (computed one by one; those without a data month on the
            # roll count in neither).
            n_members=pl.col("roll_members") - pl.col("x_roll"),
            n_role=pl.col("capped") - pl.col("x_capped"),
        )
    )
    wa, ws, wr = va.attendance, va.study, va.role
    due = pl.col("held_org") > 0
    available = pl.when(due).then(wa).otherwise(0.0) + ws + (wr if wr > 0 else 0.0)
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
    return frame.select(
        "subgrid_key",
        "bucket",
        members=(pl.col("x_members") + pl.col("n_members")).cast(pl.Int64),
        vanguard_index=pl.col("x_vanguard") + attendance + study + role,
        attendance_pts=pl.col("x_attendance") + attendance,
        study_pts=pl.col("x_study_pts") + study,
        role_pts=pl.col("x_role") + role,
        deductions=pl.col("x_deductions").cast(pl.Float64),
    ).filter(pl.col("members") > 0)


def vanguard_by_member_at_scale(ctx: Context) -> pl.DataFrame:
    """Large scope: every member's inputs (:data:`MEMBER_INPUTS`), parts
    (``v_*`` fractions, ``*_pts`` points), ``raw`` and ``vanguard_index``, in SQL."""
    columns = ", ".join(MEMBER_INPUTS)
    return run_vanguard_sql(
        ctx,
        vanguard_ctes(ctx, everyone=True)
        + f"""
SELECT {columns}, v_attendance, v_study, v_role, attendance_pts, study_pts, role_pts, raw,
    vanguard_index
FROM vm""",
    ).with_columns(pl.col(c).cast(t) for c, t in MEMBER_INPUTS.items())
