"""响应时效 / response times to residents' reports (DESIGN §4, §7.3).

Per report: 受理时长 = 受理时间 − 上报时间 and 办结时长 = 办结时间 − 上报时间, in
decimal hours. Statistics cover the reports whose 上报时间 falls in the range (any
later timestamp counts, even one after the range); medians and p90 use linear
interpolation (as DuckDB ``quantile_cont``) over the reports having both timestamps.

Decisions (DESIGN is silent):

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
from metrics.context import ALL_CATEGORIES, Context
from metrics.filters import Filter
from metrics.scope import scoped
from store.contracts import REPORT_CATEGORIES

CATEGORY_ORDER = [ALL_CATEGORIES, *REPORT_CATEGORIES]
FUNNEL_STAGES = ("上报", "受理", "核实", "办结")


def _rate(flag: str) -> pl.Expr:
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
    "on_time_accept_rate": _rate("on_time_accept"),
    "on_time_resolve_rate": _rate("on_time_resolve"),
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


# STATS in SQL, for a large scope (Context.reports_query).
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


def _stats(frame: pl.DataFrame, *keys: str) -> pl.DataFrame:
    return frame.group_by(*keys).agg(**STATS)


def _stats_by(ctx: Context, second: str | None) -> pl.DataFrame:
    """STATS per unit of the level (``unit_id``) and ``second`` (a column of the
    reports, or none): over the report rows in Polars for a small scope, in SQL for a
    large one."""
    extra = [second] if second else []
    if ctx.fine:
        return _stats(_in_units(ctx), "unit_id", *extra)
    columns = ", ".join([*extra, STATS_SQL])
    group = ", ".join([ctx.unit, *extra])
    return ctx.reports_query(f"SELECT {ctx.unit} AS unit_id, {columns} FROM rf GROUP BY {group}")


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Counts of units without reports are 0, their statistics null; fixed dtypes."""
    return frame.with_columns(
        [pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNTS]
        + [pl.col(c).cast(t) for c, t in STAT_COLUMNS.items() if c not in COUNTS]
    )


def _in_units(ctx: Context, listed: bool = False) -> pl.DataFrame:
    """The reports of the range with ``unit_id`` (the unit of the filter's level)."""
    return ctx.reports(listed).with_columns(unit_id=pl.col(ctx.unit))


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
    u = ctx.unit
    if ctx.fine:
        stats = pl.concat(
            [
                _stats_by(ctx, "category"),
                _stats_by(ctx, None).with_columns(category=pl.lit(ALL_CATEGORIES)),
            ],
            how="diagonal",
        )
    else:
        stats = ctx.reports_query(
            f"""SELECT {u} AS unit_id, coalesce(category, $all) AS category, {STATS_SQL}
FROM rf GROUP BY GROUPING SETS (({u}, category), ({u}))""",
            all=ALL_CATEGORIES,
        )
    opn = ctx.open_reports.rename({u: "unit_id"})
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
    out = (
        keys.join(ctx.units, on="unit_id")
        .join(stats, on=["unit_id", "category"], how="left")
        .join(opened, on=["unit_id", "category"], how="left")
        .with_columns(
            open_at_end=pl.col("open_at_end").fill_null(0).cast(pl.Int64),
            overdue_at_end=pl.col("overdue_at_end").fill_null(0).cast(pl.Int64),
            order=pl.col("category").replace_strict(order, default=len(order)),
        )
    )
    return (
        _typed(out)
        .sort("unit_id", "order")
        .select("unit_id", "unit_name", "category", *STAT_COLUMNS, "open_at_end", "overdue_at_end")
    )


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
    stats = _stats_by(ctx, "bucket")
    out = ctx.skeleton().join(stats, on=["unit_id", "bucket"], how="left")
    return (
        _typed(out)
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
        _in_units(ctx, listed=True)
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
    if ctx.fine:
        counts = _histogram(_in_units(ctx), edges_h)
    else:
        index = " + ".join(f"(h >= $edge_{i})::INTEGER" for i in range(len(edges_h)))
        counts = ctx.reports_query(
            f"""SELECT unit_id, category, measure, 1 + {index} AS bin_order, count(*) AS reports
FROM (SELECT {ctx.unit} AS unit_id, category, 'accept' AS measure, accept_h AS h FROM rf
      UNION ALL
      SELECT {ctx.unit}, category, 'resolve', resolve_h FROM rf)
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
    if ctx.fine:
        counts = (
            _in_units(ctx)
            .group_by("unit_id")
            .agg(
                s1=pl.len(),
                s2=(pl.col("accepted_at").is_not_null() & ~pl.col("refused")).sum(),
                s3=pl.col("verified_at").count(),
                s4=pl.col("resolved_at").count(),
            )
        )
    else:
        counts = ctx.reports_query(
            f"""SELECT {ctx.unit} AS unit_id,
    count(*) AS s1,
    count(*) FILTER (WHERE accepted_at IS NOT NULL AND NOT refused) AS s2,
    count(verified_at) AS s3,
    count(resolved_at) AS s4
FROM rf GROUP BY ALL"""
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
        ctx.open_reports.with_columns(age_order=order.cast(pl.Int32))
        .group_by(ctx.unit, "age_order")
        .agg(reports=pl.len())
        .rename({ctx.unit: "unit_id"})
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
    names = ctx.sg.select("subgrid_id", "subgrid_name", "village_name")
    return (
        ctx.open_reports.filter(pl.col("overdue"))
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
