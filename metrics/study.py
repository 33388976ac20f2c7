"""学习覆盖率 / study coverage per unit, by month and over the range, and the members
not reached N months running. Defined in docs/metrics.md (学习覆盖率).

For a unit and month: ``members`` = party members on the unit's roll that month
(is_party_member, sub-grid in the unit, active_from ≤ the month's last day, active_to
empty or ≥ its first day); ``reached`` = those with an 出席 row at a 学习教育 activity
dated in the month (any sub-grid, any mode); ``reached_home`` = those with such a row
in mode 送学上门. Coverage = reached ÷ members. Over a range the counts run over
member-months (a member on the roll for 6 months counts 6 times) and the coverage is
the mean of the monthly coverages. ``home_share`` =
reached_home ÷ reached: the share of those reached who were reached at home.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.config import Config
from metrics.filters import Filter
from metrics.formulas import ratio
from metrics.monthly_means import unit_means
from metrics.query_context import Context
from metrics.reported_only import reported_flags
from metrics.scope import scoped
from metrics.unit_totals import unit_activity_totals
from store.rollup_layout import OPEN_END

RATES = [
    ratio("reached", "member_months").alias("coverage"),
    ratio("reached_home", "reached").alias("home_share"),
    ratio("reached_home", "member_months").alias("home_coverage"),
]

STUDY_KINDS = ("activity", "attendance")  # what 学习覆盖率 is counted from


@scoped
def study_by_month(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Per unit and data month: ``unit_id, unit_name, month, members, reached,
    reached_home, coverage, home_share, home_coverage, reported`` (see
    :func:`study_summary`)."""
    ctx = Context.of(con, f, config, rollups, buckets="month")
    return (
        unit_activity_totals(ctx)
        .with_columns(RATES)
        .join(reported_flags(ctx, STUDY_KINDS), on=["unit_id", "bucket"], how="left")
        .select(
            "unit_id",
            "unit_name",
            pl.col("bucket").alias("month"),
            pl.col("member_months").alias("members"),
            "reached",
            "reached_home",
            "coverage",
            "home_share",
            "home_coverage",
            "reported",
        )
    )


@scoped
def study_summary(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Per unit over the range: ``unit_id, unit_name, months, member_months, reached,
    reached_home, coverage, home_share, home_coverage`` (reached and reached_home in
    member-months, summed; the rates the mean of their monthly values: coverage =
    reached ÷ members, home_share = reached at home ÷ reached, home_coverage = reached
    at home ÷ members, the part of the coverage that 送学上门 gave), ``reported`` false
    when a month of the range is 未报送 (activities or sign-ins) for the village."""
    ctx = Context.of(con, f, config, rollups)
    rates = ["study_coverage", "home_share", "home_coverage"]
    means = unit_means(ctx, rates).rename({"study_coverage": "coverage"})
    return (
        ctx.range_rows(unit_activity_totals(ctx))
        .join(means.drop("value_months"), on=["unit_id", "bucket"], how="left")
        .join(reported_flags(ctx, STUDY_KINDS), on=["unit_id", "bucket"], how="left")
        .select(
            "unit_id",
            "unit_name",
            "months",
            "member_months",
            "reached",
            "reached_home",
            "coverage",
            "home_share",
            "home_coverage",
            "reported",
        )
    )


@scoped
def not_reached(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Members not reached by study N months running (``study.toml``, default 2).

    The N months are the last N data months up to the end of the range (reaching back
    before its start when the range is shorter); a member is listed when on the roll
    in each of them and reached in none. Columns ``person_id, name, subgrid_id,
    subgrid_name, village_id, village_name, months_not_reached`` (N). Names are
    returned as stored: masking them is the page's job.
    """
    ctx = Context.of(con, f, config, rollups)
    n = ctx.config.study.not_reached_months
    upto = [m for m in ctx.data_months if m <= f.end]
    columns = {
        "person_id": pl.String,
        "name": pl.String,
        "subgrid_id": pl.String,
        "subgrid_name": pl.String,
        "village_id": pl.String,
        "village_name": pl.String,
        "months_not_reached": pl.Int64,
    }
    if len(upto) < n:
        return pl.DataFrame(schema=columns)
    last = upto[-n:]
    # On the roll in each of the N months (the months on the roll are one interval:
    # the first and the last suffice), and not reached in any.
    listed = ctx.fetch(
        f"""WITH listed AS (
    SELECT m.person_id, m.subgrid_key
    FROM {ctx.tables["ru_member"]} m
    WHERE m.first_month <= $first AND coalesce(m.last_month, $open_end) >= $last
      AND {ctx.subgrid_in_scope_sql("m.subgrid_key")}
      AND NOT EXISTS (
          SELECT 1 FROM {ctx.tables["ru_member_month"]} r
          WHERE r.person_key = m.person_key AND r.reached
            AND r.month BETWEEN $first AND $last AND list_contains($months::DATE[], r.month))
)
SELECT l.person_id, p.name, k.subgrid_id
FROM listed l
JOIN person p ON p.person_id = l.person_id
JOIN {ctx.tables["ru_subgrid"]} k ON k.subgrid_key = l.subgrid_key""",
        first=last[0],
        last=last[-1],
        months=last,
        open_end=OPEN_END,
        **ctx.subgrid_key_range,
    )
    return (
        listed.join(ctx.subgrids, on="subgrid_id")
        .with_columns(months_not_reached=pl.lit(n, pl.Int64))
        .select(list(columns))
        .sort("village_id", "subgrid_id", "person_id")
    )
