"""The statistics of a group of residents' reports — counts, median and p90 受理时长 and
办结时长, 按时受理率, 按期办结率, mean satisfaction — over the report rows in Polars
(small scope) or in SQL over the reports in scope (large scope), per unit of the
filter's level. Defined in docs/metrics.md (民情处置).
"""

from __future__ import annotations

import polars as pl

from metrics.query_context import Context
from metrics.reports import query_range_reports, range_reports


def decided_share(flag: str) -> pl.Expr:
    """Share of the decided reports (flag not null) decided true; null when none."""
    decided = pl.col(flag).count()
    return pl.when(decided > 0).then(pl.col(flag).sum() / decided).otherwise(None)


# The statistics of a group of reports (medians and p90 interpolate linearly, as
# DuckDB's quantile_cont: the reports having both timestamps).
STATS = {
    "reports": pl.len(),
    "resolved": pl.col("resolved_at").count(),
    "accepted": (pl.col("accepted_at").is_not_null() & ~pl.col("refused")).sum(),
    "refused": pl.col("refused").sum(),
    "accept_median_h": pl.col("accept_h").quantile(0.5, "linear"),
    "accept_p90_h": pl.col("accept_h").quantile(0.9, "linear"),
    "resolve_median_h": pl.col("resolve_h").quantile(0.5, "linear"),
    "resolve_p90_h": pl.col("resolve_h").quantile(0.9, "linear"),
    "on_time_accept_rate": decided_share("on_time_accept"),
    "on_time_resolve_rate": decided_share("on_time_resolve"),
    "satisfaction_mean": pl.col("satisfaction").mean(),
}
STAT_COLUMNS = {
    "reports": pl.Int64,
    "resolved": pl.Int64,
    "accepted": pl.Int64,
    "refused": pl.Int64,
    "accept_median_h": pl.Float64,
    "accept_p90_h": pl.Float64,
    "resolve_median_h": pl.Float64,
    "resolve_p90_h": pl.Float64,
    "on_time_accept_rate": pl.Float64,
    "on_time_resolve_rate": pl.Float64,
    "satisfaction_mean": pl.Float64,
}
COUNTS = ("reports", "resolved", "accepted", "refused")


# STATS in SQL, for a large scope (over ``rf`` of reports.query_range_reports).
STATS_SQL = """count(*) AS reports,
    count(resolved_at) AS resolved,
    count(*) FILTER (WHERE accepted_at IS NOT NULL AND NOT refused) AS accepted,
    count(*) FILTER (WHERE refused) AS refused,
    quantile_cont(accept_h, 0.5) AS accept_median_h,
    quantile_cont(accept_h, 0.9) AS accept_p90_h,
    quantile_cont(resolve_h, 0.5) AS resolve_median_h,
    quantile_cont(resolve_h, 0.9) AS resolve_p90_h,
    count(*) FILTER (WHERE on_time_accept) / nullif(count(on_time_accept), 0)
        AS on_time_accept_rate,
    count(*) FILTER (WHERE on_time_resolve) / nullif(count(on_time_resolve), 0)
        AS on_time_resolve_rate,
    avg(satisfaction) AS satisfaction_mean"""


def stats(frame: pl.DataFrame, *keys: str) -> pl.DataFrame:
    """:data:`STATS` of the report rows of ``frame`` per ``keys``."""
    return frame.group_by(*keys).agg(**STATS)


def stats_by_unit(ctx: Context, *by: str) -> pl.DataFrame:
    """STATS per unit of the level (``unit_id``) and the report columns ``by`` (none,
    ``category``, ``bucket`` …): over the report rows in Polars for a small scope, in
    SQL for a large one."""
    extra = list(by)
    if ctx.small_scope:
        return stats(reports_with_unit(ctx), "unit_id", *extra)
    columns = ", ".join([*extra, STATS_SQL])
    group = ", ".join([ctx.unit_column, *extra])
    return query_range_reports(
        ctx, f"SELECT {ctx.unit_column} AS unit_id, {columns} FROM rf GROUP BY {group}"
    )


def with_stat_types(frame: pl.DataFrame) -> pl.DataFrame:
    """Counts of units without reports are 0, their statistics null; fixed dtypes."""
    return frame.with_columns(
        [pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNTS]
        + [pl.col(c).cast(t) for c, t in STAT_COLUMNS.items() if c not in COUNTS]
    )


def reports_with_unit(ctx: Context, listed: bool = False) -> pl.DataFrame:
    """The reports of the range with ``unit_id`` (the unit of the filter's level)."""
    return range_reports(ctx, listed).with_columns(unit_id=pl.col(ctx.unit_column))
