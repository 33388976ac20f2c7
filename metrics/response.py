"""响应时效 / response times to residents' reports: statistics per unit and category,
by month, durations, histograms, the funnel, the backlog and the 督办清单. Defined in
docs/metrics.md (民情处置); the report rows and decisions come from
:mod:`metrics.reports`, the statistics from :mod:`metrics.report_statistics`.

Per report: 受理时长 = 受理时间 − 上报时间 and 办结时长 = 办结时间 − 上报时间, in
decimal hours. Statistics cover the reports whose 上报时间 falls in the range (any
later timestamp counts, even one after the range); medians and p90 use linear
interpolation (as DuckDB ``quantile_cont``) over the reports having both timestamps.

Decisions made here (docs/metrics.md records them too):

* 按时受理率 = reports accepted within ``accept_limit_hours`` ÷ reports whose
  acceptance is decided: accepted (on time or late), or not accepted and already past
  the limit at the *as-of time* — the end of the latest month with data. 不予受理
  reports count: their 受理时间 is the time of the refusal, a decision in time or not.
* 按期办结率 = reports resolved within their category's limit ÷ reports decided the
  same way; 不予受理 reports are left out (there is nothing to resolve).
* ``open_at_end`` is a stock, not a flow: every report in scope reported before the
  end of the range and neither resolved nor refused by then, whenever reported.
* The 督办清单 (:func:`overdue`) lists the reports open at the end of the range that
  are past their 办结 limit, or not accepted and past the 受理 limit, oldest first.
"""

from __future__ import annotations

from itertools import pairwise

import duckdb
import polars as pl

from metrics.config import Config
from metrics.filters import Filter
from metrics.monthly_means import mean_of_months, monthly_context
from metrics.query_context import Context
from metrics.report_statistics import (
    STAT_COLUMNS,
    STATS_SQL,
    reports_with_unit,
    stats_by_unit,
    with_stat_types,
)
from metrics.reports import open_reports_at_end, query_range_reports
from metrics.scope import scoped
from store.contracts import REPORT_CATEGORIES

ALL_CATEGORIES = "全部"  # the row of every category together
CATEGORY_ORDER = [ALL_CATEGORIES, *REPORT_CATEGORIES]
FUNNEL_STAGES = ("上报", "受理", "核实", "办结")


@scoped
def response_summary(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Per unit and category (``全部`` = all together) over the range.

    Columns ``unit_id, unit_name, category, reports, resolved, accepted, refused,
    accept_median_h, accept_p90_h, resolve_median_h, resolve_p90_h,
    on_time_accept_rate, on_time_resolve_rate, satisfaction_mean, open_at_end,
    overdue_at_end``. Every unit has a ``全部`` row; a category row appears when the
    category has reports in the range or open at its end.
    """
    ctx = Context.of(con, f, config, rollups)
    u = ctx.unit_column
    if ctx.small_scope:
        stats = pl.concat(
            [
                stats_by_unit(ctx, "category"),
                stats_by_unit(ctx).with_columns(category=pl.lit(ALL_CATEGORIES)),
            ],
            how="diagonal",
        )
    else:
        stats = query_range_reports(
            ctx,
            f"""SELECT {u} AS unit_id, coalesce(category, $all) AS category, {STATS_SQL}
FROM rf GROUP BY GROUPING SETS (({u}, category), ({u}))""",
            all=ALL_CATEGORIES,
        )
    opn = open_reports_at_end(ctx).rename({u: "unit_id"})
    counts = [pl.len().alias("open_at_end"), pl.col("overdue").sum().alias("overdue_at_end")]
    opened = pl.concat(
        [
            opn.group_by("unit_id", "category").agg(counts),
            opn.group_by("unit_id").agg(counts).with_columns(category=pl.lit(ALL_CATEGORIES)),
        ],
        how="diagonal",
    )
    keys = pl.concat(
        [
            ctx.units.select("unit_id", category=pl.lit(ALL_CATEGORIES)),
            stats.select("unit_id", "category"),
            opened.select("unit_id", "category"),
        ]
    ).unique()
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    on_time = _monthly_on_time_means(ctx)
    out = (
        keys.join(ctx.units, on="unit_id")
        .join(stats.drop(ON_TIME_RATES), on=["unit_id", "category"], how="left")
        .join(on_time, on=["unit_id", "category"], how="left")
        .join(opened, on=["unit_id", "category"], how="left")
        .with_columns(
            open_at_end=pl.col("open_at_end").fill_null(0).cast(pl.Int64),
            overdue_at_end=pl.col("overdue_at_end").fill_null(0).cast(pl.Int64),
            order=pl.col("category").replace_strict(order, default=len(order)),
        )
    )
    return (
        with_stat_types(out)
        .sort("unit_id", "order")
        .select("unit_id", "unit_name", "category", *STAT_COLUMNS, "open_at_end", "overdue_at_end")
    )


ON_TIME_RATES = ["on_time_accept_rate", "on_time_resolve_rate"]


def _monthly_on_time_means(ctx: Context) -> pl.DataFrame:
    """``unit_id, category, on_time_accept_rate, on_time_resolve_rate``: per unit and
    category (and 全部) the mean of the monthly rates over the range's months (by month
    reported; see metrics.monthly_means). The medians and 90%分位 stay over the range's
    reports: they are not monthly figures."""
    month_ctx = monthly_context(ctx)
    by_month = pl.concat(
        [
            stats_by_unit(month_ctx, "category", "bucket"),
            stats_by_unit(month_ctx, "bucket").with_columns(category=pl.lit(ALL_CATEGORIES)),
        ],
        how="diagonal",
    ).select("unit_id", "category", "bucket", *ON_TIME_RATES)
    means = mean_of_months(ctx, by_month, ON_TIME_RATES, keys=("unit_id", "category"))
    return ctx.range_rows(means).select("unit_id", "category", *ON_TIME_RATES)


@scoped
def response_by_month(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Per unit and data month (by month reported), all categories together:
    ``unit_id, unit_name, month`` and the statistics of :func:`response_summary`."""
    ctx = Context.of(con, f, config, rollups, buckets="month")
    stats = stats_by_unit(ctx, "bucket")
    out = ctx.units_by_bucket().join(stats, on=["unit_id", "bucket"], how="left")
    return (
        with_stat_types(out)
        .rename({"bucket": "month"})
        .select("unit_id", "unit_name", "month", *STAT_COLUMNS)
        .sort("unit_id", "month")
    )


@scoped
def report_durations(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """One row per report reported in the range (for distributions by category).

    Columns ``report_id, unit_id, subgrid_id, village_id, category, status, month,
    reported_at, accepted_at, resolved_at, accept_h, verify_h, resolve_h, limit_h,
    on_time_accept, on_time_resolve`` (null = not decided yet), ``satisfaction``.
    """
    ctx = Context.of(con, f, config, rollups)
    return (
        reports_with_unit(ctx, listed=True)
        .select(
            "report_id",
            "unit_id",
            "subgrid_id",
            "village_id",
            "category",
            "status",
            "month",
            "reported_at",
            "accepted_at",
            "resolved_at",
            "accept_h",
            "verify_h",
            "resolve_h",
            "limit_h",
            "on_time_accept",
            "on_time_resolve",
            "satisfaction",
        )
        .sort("reported_at", "report_id")
    )


DURATION_EDGES_H = (24.0, 48.0, 72.0, 168.0, 336.0)


def _histogram(reports: pl.DataFrame, edges_h: tuple[float, ...]) -> pl.DataFrame:
    """``unit_id, category, measure, bin_order, reports`` of report rows."""
    hours = pl.concat(
        [
            reports.select("unit_id", "category", measure=pl.lit("accept"), h="accept_h"),
            reports.select("unit_id", "category", measure=pl.lit("resolve"), h="resolve_h"),
        ]
    ).filter(pl.col("h").is_not_null())
    index = 1 + pl.sum_horizontal([(pl.col("h") >= e).cast(pl.Int32) for e in edges_h])
    return hours.group_by("unit_id", "category", "measure", index.alias("bin_order")).agg(
        reports=pl.len().cast(pl.Int64)
    )


@scoped
def duration_distribution(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    edges_h: tuple[float, ...] = DURATION_EDGES_H,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Histogram of 受理时长 and 办结时长 by category (the reports of the range having
    both timestamps).

    Columns ``unit_id, unit_name, category, measure`` (``accept``/``resolve``),
    ``bin_order, bin_label`` (e.g. ``24–48h``) and ``reports``; bins without reports
    are left out. ``edges_h`` are the bin edges in hours, increasing.
    """
    if any(a >= b for a, b in pairwise(edges_h)):
        raise ValueError("edges_h must increase")
    ctx = Context.of(con, f, config, rollups)
    if ctx.small_scope:
        counts = _histogram(reports_with_unit(ctx), edges_h)
    else:
        index = " + ".join(f"(h >= $edge_{i})::INTEGER" for i in range(len(edges_h)))
        counts = query_range_reports(
            ctx,
            f"""SELECT unit_id, category, measure, 1 + {index} AS bin_order, count(*) AS reports
FROM (SELECT {ctx.unit_column} AS unit_id, category, 'accept' AS measure, accept_h AS h FROM rf
      UNION ALL
      SELECT {ctx.unit_column}, category, 'resolve', resolve_h FROM rf)
WHERE h IS NOT NULL
GROUP BY ALL""",
            **{f"edge_{i}": e for i, e in enumerate(edges_h)},
        )
    names = [f"<{edges_h[0]:g}h"]
    names += [f"{a:g}–{b:g}h" for a, b in pairwise(edges_h)]
    names.append(f"≥{edges_h[-1]:g}h")
    labels = pl.DataFrame(
        {"bin_order": list(range(1, len(names) + 1)), "bin_label": names},
        schema={"bin_order": pl.Int32, "bin_label": pl.String},
    )
    return (
        counts.with_columns(pl.col("bin_order").cast(pl.Int32))
        .join(labels, on="bin_order")
        .join(ctx.units, on="unit_id")
        .select("unit_id", "unit_name", "category", "measure", "bin_order", "bin_label", "reports")
        .sort("unit_id", "category", "measure", "bin_order")
    )


@scoped
def funnel(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """上报 → 受理 → 核实 → 办结 counts of the reports reported in the range.

    Columns ``unit_id, unit_name, stage_order, stage, reports``. 受理 excludes
    不予受理 (refused reports carry the refusal time in 受理时间).
    """
    ctx = Context.of(con, f, config, rollups)
    if ctx.small_scope:
        counts = (
            reports_with_unit(ctx)
            .group_by("unit_id")
            .agg(
                s1=pl.len(),
                s2=(pl.col("accepted_at").is_not_null() & ~pl.col("refused")).sum(),
                s3=pl.col("verified_at").count(),
                s4=pl.col("resolved_at").count(),
            )
        )
    else:
        counts = query_range_reports(
            ctx,
            f"""SELECT {ctx.unit_column} AS unit_id,
    count(*) AS s1,
    count(*) FILTER (WHERE accepted_at IS NOT NULL AND NOT refused) AS s2,
    count(verified_at) AS s3,
    count(resolved_at) AS s4
FROM rf GROUP BY ALL""",
        )
    counts = counts.with_columns(pl.col("s1", "s2", "s3", "s4").cast(pl.Int64))
    long = counts.unpivot(index="unit_id", variable_name="stage_key", value_name="reports")
    stages = pl.DataFrame(
        {
            "stage_order": [1, 2, 3, 4],
            "stage": list(FUNNEL_STAGES),
            "stage_key": ["s1", "s2", "s3", "s4"],
        }
    )
    return (
        ctx.units.join(stages, how="cross")
        .join(long, on=["unit_id", "stage_key"], how="left")
        .with_columns(pl.col("reports").fill_null(0).cast(pl.Int64))
        .select("unit_id", "unit_name", "stage_order", "stage", "reports")
        .sort("unit_id", "stage_order")
    )


@scoped
def backlog(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Reports open at the end of the range by age (``response.toml`` [backlog]).

    Columns ``unit_id, unit_name, age_order, age_bucket, reports`` — every bucket of
    every unit, zeros included; age = end of range − 上报时间.
    """
    ctx = Context.of(con, f, config, rollups)
    edges = ctx.config.response.backlog_age_edges_days
    labels = ctx.config.response.backlog_labels
    age_days = pl.col("age_h") / 24.0
    order = 1 + pl.sum_horizontal([(age_days >= e).cast(pl.Int32) for e in edges])
    counts = (
        open_reports_at_end(ctx)
        .with_columns(age_order=order.cast(pl.Int32))
        .group_by(ctx.unit_column, "age_order")
        .agg(reports=pl.len())
        .rename({ctx.unit_column: "unit_id"})
    )
    buckets = pl.DataFrame(
        {"age_order": list(range(1, len(labels) + 1)), "age_bucket": list(labels)},
        schema={"age_order": pl.Int32, "age_bucket": pl.String},
    )
    return (
        ctx.units.join(buckets, how="cross")
        .join(counts, on=["unit_id", "age_order"], how="left")
        .with_columns(pl.col("reports").fill_null(0).cast(pl.Int64))
        .sort("unit_id", "age_order")
    )


@scoped
def overdue(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The 督办清单: reports open at the end of the range past their limit, oldest first.

    Columns ``report_id, subgrid_id, subgrid_name, village_id, village_name, category,
    summary, reporter_id, reported_at, status_at_end, age_h, limit_h, overdue_h``
    (hours past the limit that applies) and ``overdue_reason`` (超期未办结 /
    超时未受理).
    """
    ctx = Context.of(con, f, config, rollups)
    accept_limit = ctx.config.response.accept_limit_hours
    names = ctx.subgrids.select("subgrid_id", "subgrid_name", "village_name")
    return (
        open_reports_at_end(ctx)
        .filter(pl.col("overdue"))
        .join(names, on="subgrid_id", how="left", maintain_order="left")
        .with_columns(
            overdue_h=pl.col("age_h")
            - pl.when(pl.col("age_h") > pl.col("limit_h"))
            .then(pl.col("limit_h"))
            .otherwise(accept_limit)
        )
        .select(
            "report_id",
            "subgrid_id",
            "subgrid_name",
            "village_id",
            "village_name",
            "category",
            "summary",
            "reporter_id",
            "reported_at",
            "status_at_end",
            "age_h",
            "limit_h",
            "overdue_h",
            "overdue_reason",
        )
    )
