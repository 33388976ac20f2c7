"""党员先锋指数: per party member on a roll and bucket, and per sub-grid and unit as the
mean over their members.

A member's sums over a bucket come from ``ru_member_month`` (one row per member and
data month on the roll with sign-ins) and the roster (``ru_member``). For a small
scope they are assembled in Polars from short queries and the frames a page reads
anyway (:func:`member_inputs`); for a large one they are computed in SQL
(:mod:`metrics.vanguard_at_scale`, :mod:`metrics.vanguard_linear`). The formula and
its weights (``data/config/indices.toml``) are defined in docs/metrics.md (先锋指数);
:mod:`metrics.indices` shapes the results for pages.
"""

from __future__ import annotations

import polars as pl

from metrics.activity_sums import subgrid_month_sums
from metrics.batch_cache import per_context, per_subgrid
from metrics.deductions_and_surveys import (
    member_deduction_points,
    member_survey_by_month,
    survey_status,
    whole_survey,
)
from metrics.formulas import score
from metrics.query_context import Context
from metrics.reports import span_reports
from metrics.vanguard_at_scale import (
    CONTRIBUTION_COLUMNS,
    HALF_YEAR_MONTHS,
    MEMBER_INPUTS,
    org_life_credit_sql,
    own_type_sql,
    vanguard_by_member_at_scale,
)
from metrics.vanguard_linear import vanguard_by_subgrid_linear
from store.rollup_layout import OPEN_END

# ``role`` is 作用发挥 (the CLI calls it contribution), ``survey`` the member survey.
VANGUARD_PARTS = ("attendance", "study", "role", "survey")
# What a unit averages over its members.
UNIT_VALUES = ("vanguard_index", *(f"{p}_pts" for p in VANGUARD_PARTS), "deductions")


@per_subgrid()
def party_members(ctx: Context) -> pl.DataFrame:
    """Members in scope: ``person_key, person_id, name, subgrid_key, first_month,
    last_month`` (the months on the roll; null: still on it)."""
    return ctx.fetch(
        f"""SELECT m.person_key, m.person_id, p.name, m.subgrid_key, m.first_month,
    m.last_month
FROM {ctx.tables["ru_member"]} m
JOIN person p ON p.person_id = m.person_id
WHERE {ctx.subgrid_in_scope_sql("m.subgrid_key")}""",
        **ctx.subgrid_key_range,
    )


@per_subgrid()
def member_inputs(ctx: Context) -> pl.DataFrame:
    """One row per member on a roll in scope and bucket: ``person_key, person_id,
    subgrid_key, bucket, months_on_roll`` (data months on the roll),
    ``study_months, volunteer`` (志愿服务 attended anywhere), ``reception, patrol``
    (those of the own sub-grid attended), ``org_credit, org_expected`` (the 组织生活
    activities the member's sub-grid held in those months), ``reports`` (filed
    anywhere), ``survey_score, survey_months`` (the mean rater-weighted survey score
    over the months on the roll a survey covers, and how many) and ``deductions``.
    Small scope only: assembled in Polars from short queries and the
    frames a page reads anyway (see :mod:`metrics.vanguard_at_scale` for a large
    scope)."""
    if not ctx.bucket_bounds:
        return pl.DataFrame(schema=MEMBER_INPUTS)
    return _small_scope_member_inputs(ctx).select(
        pl.col(c).cast(t) for c, t in MEMBER_INPUTS.items()
    )


def _small_scope_member_inputs(ctx: Context) -> pl.DataFrame:
    va = ctx.config.vanguard
    bounds = pl.DataFrame(
        {
            "bucket": list(ctx.bucket_bounds),
            "b_first": [b[0] for b in ctx.bucket_bounds.values()],
            "b_last": [b[1] for b in ctx.bucket_bounds.values()],
        },
        schema={"bucket": pl.Date, "b_first": pl.Date, "b_last": pl.Date},
    )
    last = pl.col("last_month").fill_null(OPEN_END)
    on_roll = (
        party_members(ctx)
        .join(bounds, how="cross")
        .filter(pl.col("first_month") <= pl.col("b_last"), last >= pl.col("b_first"))
        .with_columns(
            lo=pl.max_horizontal("first_month", "b_first"),
            hi=pl.min_horizontal(last, "b_last"),
        )
    )
    # The data months on the roll and the 组织生活 activities due in them.
    held = subgrid_month_sums(ctx).select("subgrid_key", "held_org", month="grain")
    due = (
        on_roll.select("person_key", "subgrid_key", "bucket", "lo", "hi")
        .join(held, on="subgrid_key")
        .filter(pl.col("month").is_between(pl.col("lo"), pl.col("hi")))
        .group_by("person_key", "bucket")
        .agg(months_on_roll=pl.len(), org_expected=pl.col("held_org").sum())
    )
    signed = (
        ctx.fetch_by_month(
            f"""SELECT r.person_key, r.subgrid_key, r.month AS grain, r.reached, r.volunteer,
    {own_type_sql("reception")} AS reception, {own_type_sql("patrol")} AS patrol,
    ({org_life_credit_sql(ctx)})::DOUBLE AS org_credit
FROM {ctx.tables["ru_member_month"]} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)
  AND {ctx.subgrid_in_scope_sql("r.subgrid_key")}""",
            ctx.span_data_months,
            present_credit=va.present_credit,
            leave_credit=va.leave_credit,
            **ctx.subgrid_key_range,
        )
        .join(ctx.calendar, left_on="grain", right_on="month")
        .group_by("person_key", "bucket")
        .agg(
            study_months=pl.col("reached").sum(),
            volunteer=pl.col("volunteer").sum(),
            reception=pl.col("reception").sum(),
            patrol=pl.col("patrol").sum(),
            org_credit=pl.col("org_credit").sum(),
        )
    )
    # The survey of the months on the roll (the bucket's months between lo and hi).
    surveyed = (
        on_roll.select("person_key", "bucket", "lo", "hi")
        .join(member_survey_by_month(ctx).drop("subgrid_key"), on="person_key")
        .filter(pl.col("month").is_between(pl.col("lo"), pl.col("hi")))
        .group_by("person_key", "bucket")
        .agg(survey_score=pl.col("score").mean(), survey_months=pl.len())
    )
    keys = ["person_key", "bucket"]
    return (
        on_roll.select("person_key", "person_id", "subgrid_key", "bucket")
        .join(due, on=keys)
        .join(signed, on=keys, how="left")
        .join(_reports_by_member(ctx), on=keys, how="left")
        .join(surveyed, on=keys, how="left")
        .join(member_deduction_points(ctx), on=keys, how="left")
        .with_columns(
            pl.col("study_months", "volunteer", "reception", "patrol", "reports").fill_null(0),
            pl.col("survey_months").fill_null(0),
            pl.col("org_credit", "deductions").fill_null(0.0),
        )
    )


def _reports_by_member(ctx: Context) -> pl.DataFrame:
    """``person_key, bucket, reports``: the reports each member in scope filed (in any
    sub-grid) in the span's calendar months."""
    if ctx.filter.village_id is None:
        # Every report of the span is at hand (reports filed anywhere count).
        return (
            span_reports(ctx)
            .filter(pl.col("reporter_id").is_not_null())
            .group_by(person_id="reporter_id", bucket="bucket")
            .agg(reports=pl.len())
            .join(party_members(ctx).select("person_id", "person_key"), on="person_id")
            .drop("person_id")
        )
    return (
        ctx.fetch_by_month(
            f"""SELECT m.person_key, r.month AS grain, count(*) AS reports
FROM {ctx.tables["report"]} r
JOIN {ctx.tables["ru_member"]} m ON m.person_id = r.reporter_id
WHERE r.reported_at >= $m_first AND r.reported_at < $m_after
  AND list_contains($months::DATE[], r.month) AND {ctx.subgrid_in_scope_sql("m.subgrid_key")}
GROUP BY ALL""",
            ctx.span_months,
            **ctx.subgrid_key_range,
        )
        .join(ctx.calendar, left_on="grain", right_on="month")
        .group_by("person_key", "bucket")
        .agg(pl.col("reports").sum())
    )


def contribution_points(ctx: Context) -> pl.Expr:
    """作用发挥 points of a member: the things done (:data:`CONTRIBUTION_COLUMNS`), each
    worth its configured points."""
    c = ctx.config.vanguard.contribution
    return pl.sum_horizontal(
        c.per(k) * pl.col(column) for k, column in CONTRIBUTION_COLUMNS.items()
    )


def _with_survey_flags(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (members with ``survey_months`` and ``months_on_roll``) with
    ``survey_share``, ``surveyed`` and ``survey_status``."""
    share = pl.col("survey_months") / pl.col("months_on_roll")
    return frame.with_columns(survey_share=share).with_columns(
        surveyed=whole_survey("survey_share"),
        survey_status=survey_status(whole_survey("survey_share"), pl.col("survey_share") > 0),
    )


@per_subgrid()
def vanguard_by_member(ctx: Context) -> pl.DataFrame:
    """先锋指数 per member on a roll in scope and bucket: :func:`member_inputs` with
    ``contribution_points`` (作用发挥), the parts (``v_*`` fractions, ``*_pts``
    points; null = left out), ``raw``, ``vanguard_index`` and the survey's
    ``survey_share``, ``surveyed`` and ``survey_status``."""
    if not ctx.small_scope and ctx.bucket_bounds:
        frame = vanguard_by_member_at_scale(ctx)
        return _with_survey_flags(frame.with_columns(contribution_points=contribution_points(ctx)))
    va = ctx.config.vanguard
    full_marks = va.contribution.full_marks_per_half_year * pl.col("months_on_roll")
    frame = _with_survey_flags(
        member_inputs(ctx).with_columns(contribution_points=contribution_points(ctx))
    ).with_columns(
        v_attendance=pl.when(pl.col("org_expected") != 0).then(
            pl.col("org_credit") / pl.col("org_expected")
        ),
        v_study=pl.col("study_months") / pl.col("months_on_roll"),
        v_role=pl.lit(None, pl.Float64)
        if va.role <= 0
        else pl.min_horizontal(
            pl.lit(1.0), pl.col("contribution_points") * HALF_YEAR_MONTHS / full_marks
        ),
        v_survey=pl.col("survey_score") / 100.0,
    )
    weights = {p: getattr(va, p) for p in VANGUARD_PARTS}
    weights["survey"] = va.survey * pl.col("survey_share")
    frame = score(frame, weights)
    return frame.with_columns(
        vanguard_index=pl.max_horizontal(pl.lit(0.0), pl.col("raw") - pl.col("deductions"))
    )


@per_subgrid()
def vanguard_by_subgrid(ctx: Context) -> pl.DataFrame:
    """Per sub-grid and bucket: ``members``, the sums over them of ``vanguard_index``,
    its parts and ``deductions`` (averages roll up exactly from these), of the
    ``survey_share``, and how many members a survey covers wholly
    (``surveyed_members``) or at all (``some_survey_members``)."""
    if not ctx.small_scope and ctx.bucket_bounds:
        return vanguard_by_subgrid_linear(ctx)
    # Summed in member order: a float sum depends on the order of its terms, and the
    # joins leave the members in no fixed order (the same data must give the same digits).
    return (
        vanguard_by_member(ctx)
        .sort("subgrid_key", "bucket", "person_key")
        .group_by("subgrid_key", "bucket")
        .agg(
            *[pl.col(f"{p}_pts").fill_null(0.0).sum() for p in VANGUARD_PARTS],
            members=pl.len(),
            vanguard_index=pl.col("vanguard_index").sum(),
            deductions=pl.col("deductions").sum(),
            survey_share=pl.col("survey_share").sum(),
            surveyed_members=pl.col("surveyed").sum().cast(pl.Int64),
            some_survey_members=(pl.col("survey_share") > 0).sum().cast(pl.Int64),
        )
    )


@per_context
def vanguard_by_unit(ctx: Context) -> pl.DataFrame:
    """先锋指数 per unit of the level and bucket: the mean over its members
    (``members``, :data:`UNIT_VALUES`, ``survey_share``) and its ``survey_status``
    (已测评 when a survey covers every member's months, 部分测评 when some)."""
    units = ctx.subgrids.select("subgrid_key", unit_id=pl.col(ctx.unit_column))
    means = [*UNIT_VALUES, "survey_share"]
    return (
        vanguard_by_subgrid(ctx)
        .join(units, on="subgrid_key")
        .group_by("unit_id", "bucket")
        .agg(
            pl.col("members").sum().cast(pl.Int64),
            *[pl.col(c).sum() for c in means],
            pl.col("surveyed_members", "some_survey_members").sum(),
        )
        .with_columns(pl.col(c) / pl.col("members") for c in means)
        .with_columns(
            survey_status=survey_status(
                pl.col("surveyed_members") == pl.col("members"),
                pl.col("some_survey_members") > 0,
            )
        )
        .drop("surveyed_members", "some_survey_members")
    )
