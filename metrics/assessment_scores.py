"""The 考核 scores per unit and bucket: the components, the four area scores, the
deductions, the total and the rank, from the pooled totals of each sub-grid and
village. The town's are the member-month-weighted means of its villages' (a town is
not one more unit on a 100-point scale: every village's deductions against it would
floor it at 0), minus the deductions recorded on the town itself.

The components, areas and weights are configured in ``data/config/assessment.toml``
and defined in docs/metrics.md (考核清单); :mod:`metrics.assessment` and
:mod:`metrics.overview` shape the results for pages.
"""

from __future__ import annotations

import polars as pl

from metrics.config import AREA_KEYS, COMPONENTS
from metrics.deductions_and_surveys import (
    deduction_points_by_unit,
    member_deduction_points_by_subgrid,
)
from metrics.formulas import ratio
from metrics.query_context import Context
from metrics.reported_only import reported_flags
from metrics.scope import unscoped
from metrics.unit_totals import unit_totals


@unscoped
def component_exprs(target: float) -> dict[str, pl.Expr]:
    """Every assessment component as a Polars expression over the columns of
    :func:`~metrics.unit_totals.unit_totals` (a fraction in [0, 1]; null: nothing to
    measure); ``target`` is the reports expected per sub-grid and month."""
    mean_satisfaction = ratio("satisfaction_sum", "satisfaction_n")
    return {
        "activity_coverage": ratio("met", "due"),
        "compliant_share": ratio("compliant", "subgrid_months"),
        "study_coverage": ratio("reached", "member_months"),
        "home_study_share": ratio("reached_home", "reached"),
        "attendance_rate": ratio("org_credit", "org_expected"),
        "volunteer_reach": ratio("volunteer_members", "member_months"),
        "report_collection": pl.when(pl.col("subgrid_months") > 0)
        .then(
            pl.min_horizontal(pl.lit(1.0), pl.col("reports") / (target * pl.col("subgrid_months")))
        )
        .otherwise(None),
        "on_time_accept_rate": ratio("accept_on_time", "accept_due"),
        "on_time_resolve_rate": ratio("resolve_on_time", "resolve_due"),
        "satisfaction": (mean_satisfaction - 1.0) / 4.0,
    }


def assessment_deductions(ctx: Context) -> pl.DataFrame:
    """``unit_id, bucket, deductions`` at the filter's level: those recorded on the
    unit and on every unit inside it and, when ``member_deductions`` is true, on the
    people whose sub-grid is inside it."""
    u = ctx.unit_column
    maps = [ctx.subgrids.select(unit_id="subgrid_id", target=pl.col(u))]
    if u != "subgrid_id":
        maps.append(ctx.villages.select(unit_id="village_id", target=pl.col(u)))
    if u == "town_id":
        maps.append(ctx.villages.select(unit_id="town_id", target=pl.col(u)).unique())
    own = (
        deduction_points_by_unit(ctx)
        .join(pl.concat(maps).unique(), on="unit_id")
        .select("target", "bucket", "points")
    )
    parts = [own]
    if ctx.config.assessment.member_deductions:
        parts.append(
            member_deduction_points_by_subgrid(ctx)
            .join(ctx.subgrids.select("subgrid_key", target=pl.col(u)), on="subgrid_key")
            .select("target", "bucket", "points")
        )
    return (
        pl.concat(parts)
        .group_by("target", "bucket")
        .agg(deductions=pl.col("points").sum())
        .rename({"target": "unit_id"})
    )


def assessment_scores(ctx: Context) -> pl.DataFrame:
    """Unit × bucket: the columns of :func:`~metrics.unit_totals.unit_totals`, the
    component values (:func:`component_exprs`), the area scores (``daily_ops,
    org_life, public_opinion, governance``), ``deductions``, ``total``, ``rank``
    (within the bucket; ties share the better rank) and ``reported``. A unit with a
    month 未报送 in the bucket has no components, area scores, total or rank (null,
    not 0: nothing was measured). At the town level the components, areas,
    deductions and total are the means of the reporting villages'
    (:func:`town_scores`)."""
    flags = reported_flags(ctx)
    if ctx.filter.level == "town":
        return _ranked(town_scores(ctx)).join(flags, on=["unit_id", "bucket"], how="left")
    comps = component_exprs(ctx.config.response.target_per_subgrid_month)
    frame = unit_totals(ctx).with_columns(v.alias(k) for k, v in comps.items())
    for area in ctx.config.assessment.areas:
        available = pl.sum_horizontal(
            [pl.when(pl.col(c).is_null()).then(0.0).otherwise(w) for c, w in area.components]
        )
        weighted = pl.sum_horizontal([pl.col(c).fill_null(0.0) * w for c, w in area.components])
        frame = frame.with_columns(
            pl.when(available > 0)
            .then(area.points * weighted / available)
            .otherwise(0.0)
            .alias(area.key)
        )
    frame = frame.join(
        assessment_deductions(ctx), on=["unit_id", "bucket"], how="left"
    ).with_columns(deductions=pl.col("deductions").fill_null(0.0))
    frame = frame.with_columns(
        total=pl.max_horizontal(pl.lit(0.0), pl.sum_horizontal(AREA_KEYS) - pl.col("deductions"))
    ).join(flags, on=["unit_id", "bucket"], how="left")
    measured = pl.col("reported").fill_null(True)
    frame = frame.with_columns(
        pl.when(measured).then(pl.col(c)).otherwise(None).alias(c)
        for c in (*comps, *AREA_KEYS, "total")
    )
    return _ranked(frame)


def _ranked(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        rank=pl.col("total").rank(method="min", descending=True).over("bucket").cast(pl.Int64)
    )


def town_scores(ctx: Context) -> pl.DataFrame:
    """The town × bucket: its pooled :func:`~metrics.unit_totals.unit_totals` and, as
    the member-month-weighted means of its villages' scores (plain means when no
    village has member-months; a component is averaged over the villages that have
    it), the components, areas and ``deductions``; ``total`` is the villages' mean
    total minus the deductions recorded on the town itself, floored at 0."""
    village_ctx = Context.of(
        ctx.con, ctx.filter.at_level("village"), ctx.config, ctx.use_rollups, ctx.bucket_mode
    )
    values = [*COMPONENTS, *AREA_KEYS, "deductions", "total"]
    villages = assessment_scores(village_ctx).join(
        ctx.villages.select(unit_id="village_id", town_id="town_id"), on="unit_id"
    )
    weight = pl.col("member_months").cast(pl.Float64)
    any_weight = weight.sum().over("town_id", "bucket") > 0
    villages = villages.with_columns(w=pl.when(any_weight).then(weight).otherwise(1.0))
    means = villages.group_by(unit_id="town_id", bucket="bucket").agg(
        (pl.col(v) * pl.col("w")).sum() / pl.col("w").filter(pl.col(v).is_not_null()).sum()
        for v in values
    )
    own = (
        deduction_points_by_unit(ctx)
        .rename({"points": "own_deductions"})
        .join(ctx.villages.select(unit_id="town_id").unique(), on="unit_id")
    )
    return (
        unit_totals(ctx)
        .join(means, on=["unit_id", "bucket"], how="left")
        .join(own, on=["unit_id", "bucket"], how="left")
        .with_columns(pl.col("own_deductions").fill_null(0.0))
        .with_columns(
            deductions=pl.col("deductions").fill_null(0.0) + pl.col("own_deductions"),
            total=pl.max_horizontal(
                pl.lit(0.0), pl.col("total").fill_null(0.0) - pl.col("own_deductions")
            ),
        )
        .drop("own_deductions")
    )
