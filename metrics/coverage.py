"""制度落实 / activity coverage: requirements met per unit, by month and over the range,
and the sub-grid × requirement matrix. Defined in docs/metrics.md (制度落实覆盖率,
制度落实率).

The 制度清单 (``data/config/coverage.toml``) lists the activities due per sub-grid and
per village each month. For a sub-grid and month, ``due`` is the number of sub-grid
requirements and ``met`` how many of them the sub-grid's own activities of that month
(子网格编号 = the sub-grid) satisfy; village-level activities do not count for a
sub-grid. A village's figures add up its sub-grids' and its own village-level
requirements (counted over all of the village's activities); the town adds up its
villages. Coverage = met ÷ due; a sub-grid-month is *fully compliant* when met = due
(``compliant_share`` = fully compliant sub-grid-months ÷ sub-grid-months). Over a range
both are the mean of their monthly values. Only data months count: a month with no
activity loaded at all is left out, not scored 0.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.activity_sums import requirement_columns, subgrid_sums, village_sums
from metrics.config import Config
from metrics.filters import Filter
from metrics.formulas import ratio
from metrics.monthly_means import unit_means
from metrics.query_context import Context
from metrics.reported_only import reported_flags
from metrics.scope import scoped
from metrics.unit_totals import unit_activity_totals

RATES = [
    ratio("met", "due").alias("coverage"),
    ratio("compliant", "subgrid_months").alias("compliant_share"),
]
COLUMNS = ["due", "met", "coverage", "subgrid_months", "compliant", "compliant_share"]

ACTIVITY_KINDS = ("activity",)  # what 制度落实 is counted from


@scoped
def coverage_by_month(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Per unit of ``f.level`` and data month: ``unit_id, unit_name, month, due, met,
    coverage, subgrid_months, compliant, compliant_share, reported`` (``reported``
    false: the village has not reported its activities for the month, 未报送, and the
    rates are null)."""
    ctx = Context.of(con, f, config, rollups, buckets="month")
    return (
        unit_activity_totals(ctx)
        .with_columns(RATES)
        .join(reported_flags(ctx, ACTIVITY_KINDS), on=["unit_id", "bucket"], how="left")
        .select("unit_id", "unit_name", pl.col("bucket").alias("month"), *COLUMNS, "reported")
        .sort("unit_id", "month")
    )


@scoped
def coverage_summary(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Per unit over the whole range: ``unit_id, unit_name, months, due, met,
    coverage, subgrid_months, compliant, compliant_share, reported`` — the counts
    summed over its data months, the two rates the mean of their monthly values
    (metrics.monthly_means) over the months reported; ``reported`` false when a month of
    the range is 未报送 for the unit's village."""
    ctx = Context.of(con, f, config, rollups)
    means = unit_means(ctx, ["activity_coverage", "compliant_share"]).rename(
        {"activity_coverage": "coverage"}
    )
    return (
        ctx.range_rows(unit_activity_totals(ctx))
        .join(means.drop("value_months"), on=["unit_id", "bucket"], how="left")
        .join(reported_flags(ctx, ACTIVITY_KINDS), on=["unit_id", "bucket"], how="left")
        .select("unit_id", "unit_name", "months", *COLUMNS, "reported")
    )


def _requirement_counts(ctx: Context, level: str) -> pl.DataFrame:
    """Per sub-grid (``subgrid_id``) or village of the scope, for each requirement ``i``
    of the level: ``met_i`` (data months of the range it was met) and ``held_i``
    (activities of its type). A small scope reads them from the range sums every page
    reads anyway (``subgrid_sums``/``village_sums``); a large one counts them in SQL."""
    if ctx.small_scope:
        return ctx.range_rows(subgrid_sums(ctx) if level == "subgrid" else village_sums(ctx))
    columns = requirement_columns(ctx, level)
    if level == "subgrid":
        key, table = "subgrid_key", ctx.tables["ru_subgrid_month"]
        where = ctx.subgrid_in_scope_sql("r.subgrid_key")
    else:
        key, table = "village_id", ctx.tables["ru_village_month"]
        where = ctx.village_in_scope_sql("r.village_id")
    sums = ",\n    ".join(f"sum({expr}) AS {name}" for name, expr in columns.items())
    counts = ctx.fetch(
        f"""SELECT r.{key}, {sums}
FROM {table} r
WHERE r.month BETWEEN list_min($months::DATE[]) AND list_max($months::DATE[])
  AND list_contains($months::DATE[], r.month) AND {where}
GROUP BY ALL""",
        months=ctx.range_data_months,
        **ctx.subgrid_key_range,
        **{f"req_{i}": r.min_count for i, r in enumerate(ctx.config.coverage.requirements)},
    )
    if level == "subgrid":
        return counts.join(ctx.subgrids.select("subgrid_key", "subgrid_id"), on="subgrid_key")
    return counts


@scoped
def coverage_matrix(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The sub-grid × requirement heat map (plus village × village requirement).

    One row per unit and requirement over the range: ``level`` (subgrid/village),
    ``unit_id, unit_name, village_id, requirement`` (its key), ``label,
    activity_type, min_count, months`` (data months: times due), ``months_met``,
    ``held`` (activities of that type held in the range) and ``met_share``. For a
    single month ``months_met`` is 1 or 0 — met or not.
    """
    ctx = Context.of(con, f, config, rollups)
    reqs = ctx.config.coverage.requirements
    units = {
        "subgrid": ctx.subgrids.select(
            unit_id="subgrid_id", unit_name="subgrid_name", village_id="village_id"
        ),
        "village": ctx.villages.select(
            unit_id="village_id", unit_name="village_name", village_id="village_id"
        ),
    }
    parts = []
    for level, key in (("subgrid", "subgrid_id"), ("village", "village_id")):
        mine = [(i, r) for i, r in enumerate(reqs) if r.level == level]
        if not mine:
            continue
        sums = _requirement_counts(ctx, level).rename({key: "unit_id"})
        for i, r in mine:
            parts.append(
                units[level]
                .join(
                    sums.select("unit_id", months_met=f"met_{i}", held=f"held_{i}"),
                    on="unit_id",
                    how="left",
                )
                .with_columns(
                    level=pl.lit(level),
                    order=pl.lit(i),
                    requirement=pl.lit(r.key),
                    label=pl.lit(r.label),
                    activity_type=pl.lit(r.activity_type),
                    min_count=pl.lit(r.min_count, pl.Int64),
                    months=pl.lit(len(ctx.range_data_months), pl.Int64),
                    months_met=pl.col("months_met").fill_null(0).cast(pl.Int64),
                    held=pl.col("held").fill_null(0).cast(pl.Int64),
                )
            )
    return (
        pl.concat(parts)
        .with_columns(ratio("months_met", "months").alias("met_share"))
        .sort(pl.col("level") == "village", "unit_id", "order")
        .select(
            "level",
            "unit_id",
            "unit_name",
            "village_id",
            "requirement",
            "label",
            "activity_type",
            "min_count",
            "months",
            "months_met",
            "held",
            "met_share",
        )
    )
