"""未报送 is not zero: the monthly sums of a village-month that has not reported a kind
of data are left out, so its rates are null (not 0 %) and the town's rates are those of
the villages that reported (docs/metrics.md, 报送情况 and "A range of months").

Only month buckets are touched (a range is the mean of its months, so leaving a month
out there is enough); which units are 未报送 comes from :mod:`metrics.completeness`.
"""

from __future__ import annotations

import polars as pl

from metrics.completeness import unreported_units
from metrics.query_context import Context
from store.python_values import mapped

# The monthly sums each kind of data feeds: activities (held, requirements met) and the
# sign-ins (members reached, attendance credits) of the activities, and the reports.
SUMS_BY_KIND = {
    "activity": ("months", "subgrid_months", "due", "met", "compliant"),
    "attendance": (
        "member_months",
        "reached",
        "reached_home",
        "volunteer_members",
        "org_credit",
        "org_expected",
    ),
    "report": (
        "reports",
        "accept_due",
        "accept_on_time",
        "resolve_due",
        "resolve_on_time",
        "resolved",
        "satisfaction_sum",
        "satisfaction_n",
    ),
}


def unreported_months(ctx: Context, kinds=tuple(SUMS_BY_KIND)) -> pl.DataFrame:
    """``village_id, bucket``: the village-months of a month context with any of
    ``kinds`` 未报送 (empty for other contexts)."""
    if ctx.bucket_mode != "month":
        return pl.DataFrame(schema={"village_id": pl.String, "bucket": pl.Date})
    return (
        unreported_units(ctx)
        .filter(pl.col("kind").is_in(list(kinds)))
        .select("village_id", pl.col("month").alias("bucket"))
        .unique()
    )


def without_unreported(ctx: Context, rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (with ``village_id`` and a month ``bucket``) with the sums of each kind
    nulled where the village has not reported that kind for the month."""
    if ctx.bucket_mode != "month":
        return rows
    units = unreported_units(ctx)
    if units.is_empty():
        return rows
    out = rows
    for kind, sums in SUMS_BY_KIND.items():
        present = [c for c in sums if c in out.columns]
        missing = units.filter(pl.col("kind") == kind).select(
            "village_id", pl.col("month").alias("bucket"), pl.lit(True).alias("_unreported")
        )
        if not present or missing.is_empty():
            continue
        out = (
            out.join(missing, on=["village_id", "bucket"], how="left")
            .with_columns(
                pl.when(pl.col("_unreported")).then(None).otherwise(pl.col(c)).alias(c)
                for c in present
            )
            .drop("_unreported")
        )
    return out


def reported_flags(ctx: Context, kinds=tuple(SUMS_BY_KIND)) -> pl.DataFrame:
    """``unit_id, bucket, reported``: per unit of ``ctx``'s level and bucket, whether
    every due month of the bucket is reported (已报送, 迟报 or 零报告) for ``kinds`` by
    the unit's village(s) — false when any is 未报送."""
    months = (
        unreported_units(ctx)
        .filter(pl.col("kind").is_in(list(kinds)))
        .select("village_id", "month")
        .unique()
    )
    units = ctx.units_by_bucket().select("unit_id", "bucket")
    if months.is_empty():
        return units.with_columns(reported=pl.lit(True))
    months = months.with_columns(mapped(months["month"], ctx.bucket_of, pl.Date, name="bucket"))
    level = ctx.filter.level
    if level == "village":
        owners = months.select(pl.col("village_id").alias("unit_id"), "bucket")
    elif level == "subgrid":
        owners = ctx.subgrids.select(pl.col("subgrid_id").alias("unit_id"), "village_id").join(
            months, on="village_id"
        )
    else:
        owners = ctx.units.select("unit_id").join(months.select("bucket"), how="cross")
    missing = owners.select("unit_id", "bucket").unique().with_columns(gap=pl.lit(True))
    return (
        units.join(missing, on=["unit_id", "bucket"], how="left")
        .with_columns(reported=pl.col("gap").is_null())
        .drop("gap")
    )
