"""A range of months is the mean of its months.

Every monthly metric over a range — 制度落实 (coverage and the compliant share),
学习覆盖率 and the 送学上门 share, 按时受理率 and 按期办结率, the 堡垒指数 and its
parts — is the mean of its monthly values over the range's data months: a card then
equals the mean of the points its monthly chart shows, a bad month is not averaged
away by pooling it with good ones, and a change compares the means of two equally long
ranges. A month without a value (nothing due, no member, not reported) is left out of
the mean rather than counted as zero. Counts (activities held, reports, member-months)
still add up over the range. Definitions: docs/metrics.md ("A range of months").

The monthly values are computed by the same functions at one bucket per month (a
context of the span with ``buckets="month"``, sharing the batch cache), then averaged
into the caller's buckets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import polars as pl

from metrics.formulas import ratio
from metrics.fortress_index import FORTRESS_PARTS, fortress_by_unit
from metrics.query_context import Context
from metrics.reported_only import unreported_months
from metrics.unit_totals import unit_activity_totals, unit_totals


def monthly_context(ctx: Context) -> Context:
    """The context of ``ctx``'s span (the range, and for ``compare`` the range before
    it) with one bucket per month; ``ctx`` itself when it is one already."""
    if ctx.bucket_mode == "month":
        return ctx
    f = ctx.filter
    start = f.previous().start if ctx.bucket_mode == "compare" else f.start
    return Context.of(ctx.con, replace(f, start=start), ctx.config, ctx.use_rollups, "month")


def mean_of_months(
    ctx: Context,
    by_month: pl.DataFrame,
    values: Sequence[str],
    keys: Sequence[str] = ("unit_id",),
) -> pl.DataFrame:
    """``keys, bucket, *values, value_months``: per key and bucket of ``ctx``, the mean of
    each value of ``by_month`` (whose ``bucket`` is a month) over the bucket's months
    with a value; ``value_months`` counts the months that had one (of the first value).
    """
    if ctx.bucket_mode == "month":
        present = pl.col(values[0]).is_not_null().cast(pl.Int64)
        return by_month.select(*keys, "bucket", *values, present.alias("value_months"))
    months = sorted(set(by_month["bucket"].to_list()))
    buckets = pl.DataFrame(
        {"bucket": months, "range_bucket": [ctx.bucket_of(m) for m in months]},
        schema={"bucket": pl.Date, "range_bucket": pl.Date},
    )
    return (
        by_month.join(buckets, on="bucket")
        .group_by(*keys, "range_bucket")
        .agg(
            *[pl.col(v).mean() for v in values],
            pl.col(values[0]).is_not_null().sum().cast(pl.Int64).alias("value_months"),
        )
        .rename({"range_bucket": "bucket"})
        .sort(*keys, "bucket")
    )


def with_monthly_means(
    ctx: Context,
    totals: pl.DataFrame,
    monthly: Callable[[Context], pl.DataFrame],
    values: Sequence[str],
    keys: Sequence[str] = ("unit_id",),
) -> pl.DataFrame:
    """``totals`` (per key and bucket of ``ctx``) with ``values`` replaced by the means
    of their monthly values: ``monthly(month_context)`` computes them per month."""
    means = mean_of_months(ctx, monthly(monthly_context(ctx)), values, keys)
    return totals.drop([v for v in values if v in totals.columns]).join(
        means.drop("value_months"), on=[*keys, "bucket"], how="left"
    )


# The monthly rates of a unit, from its pooled month totals (metrics.unit_totals).
ACTIVITY_RATES = {
    "activity_coverage": ratio("met", "due"),
    "compliant_share": ratio("compliant", "subgrid_months"),
    "study_coverage": ratio("reached", "member_months"),
    "home_share": ratio("reached_home", "reached"),
    "home_coverage": ratio("reached_home", "member_months"),
}
REPORT_RATES = {
    "on_time_accept_rate": ratio("accept_on_time", "accept_due"),
    "on_time_resolve_rate": ratio("resolve_on_time", "resolve_due"),
}
RATES = ACTIVITY_RATES | REPORT_RATES
# The 堡垒指数 and its parts, per unit and month (metrics.fortress_index).
FORTRESS_VALUES = (*(f"{p}_pts" for p in FORTRESS_PARTS), "raw", "deductions", "fortress_index")


def unit_monthly_values(ctx: Context, names: Sequence[str]) -> pl.DataFrame:
    """``unit_id, bucket`` (a month) and ``names`` — rates of :data:`RATES` and values
    of :data:`FORTRESS_VALUES` — per unit of the level and month of ``ctx``'s span."""
    month_ctx = monthly_context(ctx)
    rates = [n for n in names if n in RATES]
    totals = unit_totals if any(n in REPORT_RATES for n in rates) else unit_activity_totals
    by_month = (
        totals(month_ctx)
        .with_columns(RATES[n].alias(n) for n in rates)
        .select("unit_id", "bucket", *rates)
    )
    fortress = [n for n in names if n in FORTRESS_VALUES]
    if fortress:
        by_month = by_month.join(
            reported_fortress(month_ctx).select("unit_id", "bucket", *fortress),
            on=["unit_id", "bucket"],
            how="full",
            coalesce=True,
        )
    return by_month.select("unit_id", "bucket", *names)


def reported_fortress(month_ctx: Context) -> pl.DataFrame:
    """:func:`fortress_by_unit` per month, without the village-months that have not
    reported (any kind): such a village, and its sub-grids, have no index that month,
    and the town's is the member-month-weighted mean of the villages that reported."""
    frame = fortress_by_unit(month_ctx)
    missing = unreported_months(month_ctx)
    if missing.is_empty():
        return frame
    level = month_ctx.filter.level
    if level == "town":
        f = month_ctx.filter
        by_village = Context.of(
            month_ctx.con,
            replace(f, level="village"),
            month_ctx.config,
            month_ctx.use_rollups,
            "month",
        )
        villages = reported_fortress(by_village).filter(pl.col("fortress_index").is_not_null())
        weight = pl.col("member_months")
        means = villages.group_by("bucket").agg(
            *[((pl.col(v) * weight).sum() / weight.sum()).alias(v) for v in FORTRESS_VALUES],
            weight.sum().alias("member_months"),
        )
        return frame.drop(*FORTRESS_VALUES, "member_months").join(means, on="bucket", how="left")
    village_of = (
        month_ctx.subgrids.select(pl.col("subgrid_id").alias("unit_id"), "village_id")
        if level == "subgrid"
        else frame.select("unit_id", pl.col("unit_id").alias("village_id")).unique()
    )
    gone = village_of.join(missing, on="village_id").select("unit_id", "bucket", _gone=pl.lit(True))
    return (
        frame.join(gone, on=["unit_id", "bucket"], how="left")
        .with_columns(
            pl.when(pl.col("_gone")).then(None).otherwise(pl.col(v)).alias(v)
            for v in FORTRESS_VALUES
        )
        .drop("_gone")
    )


def unit_means(ctx: Context, names: Sequence[str]) -> pl.DataFrame:
    """``unit_id, bucket, *names, value_months``: per unit and bucket of ``ctx``, the
    mean of each monthly value over the bucket's months (see the module docstring)."""
    return mean_of_months(ctx, unit_monthly_values(ctx, names), names)
