"""The residents' reports in scope: their durations and on-time decisions, the sums per
sub-grid and bucket, and the reports still open at the end of the range.

Reports have no rollup: they are read from ``report`` (with the keys of their
sub-grid, :data:`metrics.sources.REPORTS`). For a small scope the rows of the span
come into Polars once and every statistic is computed there; for a large one (a
city's few hundred thousand reports of a range) the statistics are aggregated in SQL
(:func:`query_range_reports`), with the same decisions (:func:`with_decisions` and
:func:`on_time_sql`). The definitions (受理时长, 办结时长, 按时受理率, 按期办结率, the
as-of time) are in docs/metrics.md.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from metrics.batch_cache import per_subgrid, shared_in_scope
from metrics.query_context import Context

HOUR_US = 3_600_000_000  # microseconds per hour
REPORT_COLUMNS = (
    "subgrid_key",
    "category",
    "refused",
    "reported_at",
    "accepted_at",
    "verified_at",
    "resolved_at",
    "satisfaction",
)
LISTED_COLUMNS = ("report_id", "subgrid_id", "reporter_id", "summary", "status")


@shared_in_scope
def resolve_limit_hours(ctx: Context) -> pl.Expr:
    """Polars expression ``limit_h``: the 办结 limit (hours) of each report's category."""
    resp = ctx.config.response
    return (
        pl.col("category")
        .replace_strict(
            dict(resp.resolve_limit_hours),
            default=resp.default_resolve_limit_hours,
            return_dtype=pl.Float64,
        )
        .alias("limit_h")
    )


def with_decisions(ctx: Context, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``accept_h, verify_h, resolve_h`` (hours after 上报), ``limit_h`` and the
    on-time flags ``on_time_accept`` / ``on_time_resolve`` (null = not decided yet:
    no timestamp and the limit not passed at the as-of time)."""
    accept_limit = ctx.config.response.accept_limit_hours
    as_of = pl.lit(ctx.as_of, pl.Datetime("us"))

    def hours(end: pl.Expr) -> pl.Expr:
        return (end - pl.col("reported_at")).dt.total_microseconds() / HOUR_US

    frame = frame.with_columns(
        accept_h=hours(pl.col("accepted_at")),
        verify_h=hours(pl.col("verified_at")),
        resolve_h=hours(pl.col("resolved_at")),
        age_now=hours(as_of),
        limit_h=resolve_limit_hours(ctx),
    )
    return frame.with_columns(
        on_time_accept=pl.when(pl.col("accepted_at").is_not_null())
        .then(pl.col("accept_h") <= accept_limit)
        .when(pl.col("age_now") > accept_limit)
        .then(False),
        on_time_resolve=pl.when(pl.col("refused"))
        .then(None)
        .when(pl.col("resolved_at").is_not_null())
        .then(pl.col("resolve_h") <= pl.col("limit_h"))
        .when(pl.col("age_now") > pl.col("limit_h"))
        .then(False),
    ).drop("age_now")


def _reports_of_months(ctx: Context, columns: tuple[str, ...], months: list[date]) -> pl.DataFrame:
    """``columns`` of the reports in scope reported in ``months`` (calendar), with
    ``month``, ``bucket``, durations, ``limit_h`` and the on-time flags."""
    rows = ctx.fetch_by_month(
        f"""SELECT {", ".join(f"r.{c}" for c in columns)}, r.month AS grain
FROM {ctx.tables["report"]} r
WHERE r.reported_at >= $m_first AND r.reported_at < $m_after
  AND list_contains($months::DATE[], r.month) AND {ctx.subgrid_in_scope_sql("r.subgrid_key")}""",
        months,
        **ctx.subgrid_key_range,
    )
    return with_decisions(
        ctx, rows.rename({"grain": "month"}).join(ctx.calendar, on="month", maintain_order="left")
    )


@per_subgrid()
def span_reports(ctx: Context) -> pl.DataFrame:
    """The reports in scope reported in the span's calendar months (with ``month``,
    ``bucket``, durations and decisions). Small scope: every column (the per-report
    lists read it too); large scope: the columns the statistics need."""
    columns = REPORT_COLUMNS + (LISTED_COLUMNS if ctx.small_scope else ())
    return _reports_of_months(ctx, columns, ctx.span_months)


@per_subgrid()
def listed_span_reports(ctx: Context) -> pl.DataFrame:
    """:func:`span_reports` with every column (fetched again for a large scope, and
    then only for the months the lists show)."""
    if ctx.small_scope:
        return span_reports(ctx)
    months = ctx.span_months if ctx.bucket_mode == "month" else ctx.filter.months
    return _reports_of_months(ctx, REPORT_COLUMNS + LISTED_COLUMNS, months)


def range_reports(ctx: Context, listed: bool = False) -> pl.DataFrame:
    """The reports in scope reported in the filter's range (every month of the span
    for ``month`` buckets), from :func:`span_reports` (or :func:`listed_span_reports`
    with ``report_id, subgrid_id, reporter_id, summary, status``), with the unit
    columns ``subgrid_id, village_id, town_id``."""
    frame = listed_span_reports(ctx) if listed else span_reports(ctx)
    if ctx.bucket_mode != "month":
        frame = frame.filter(pl.col("month") >= ctx.filter.start)
    units = ctx.subgrids.select("subgrid_key", "subgrid_id", "village_id", "town_id")
    return frame.drop("subgrid_id", strict=False).join(
        units, on="subgrid_key", maintain_order="left"
    )


@per_subgrid()
def report_sums_by_subgrid(ctx: Context) -> pl.DataFrame:
    """Sub-grid × bucket: ``reports, accept_due, accept_on_time, resolve_due,
    resolve_on_time, resolved, satisfaction_sum, satisfaction_n``: from
    :func:`span_reports` for a small scope, summed in SQL (the same decisions,
    :func:`on_time_sql`) for a large one."""
    if not ctx.small_scope:
        return ctx.fetch(
            f"""SELECT r.subgrid_key, {ctx.bucket_sql("r.month")} AS bucket,
    count(*) AS reports,
    count(on_time_accept) AS accept_due,
    count(*) FILTER (WHERE on_time_accept) AS accept_on_time,
    count(on_time_resolve) AS resolve_due,
    count(*) FILTER (WHERE on_time_resolve) AS resolve_on_time,
    count(resolved_at) AS resolved,
    coalesce(sum(satisfaction), 0)::BIGINT AS satisfaction_sum,
    count(satisfaction) AS satisfaction_n
FROM (SELECT *, {on_time_sql(ctx, "x")} FROM {ctx.tables["report"]} x) r
WHERE r.reported_at >= $span_start AND r.reported_at < $end_excl
  AND {ctx.subgrid_in_scope_sql("r.subgrid_key")}
GROUP BY ALL""",
            as_of=ctx.as_of,
            **ctx.subgrid_key_range,
        )
    return (
        span_reports(ctx)
        .group_by("subgrid_key", "bucket")
        .agg(
            reports=pl.len(),
            accept_due=pl.col("on_time_accept").count(),
            accept_on_time=pl.col("on_time_accept").sum(),
            resolve_due=pl.col("on_time_resolve").count(),
            resolve_on_time=pl.col("on_time_resolve").sum(),
            resolved=pl.col("resolved_at").count(),
            satisfaction_sum=pl.col("satisfaction").sum(),
            satisfaction_n=pl.col("satisfaction").count(),
        )
    )


def resolve_limit_sql(ctx: Context, category: str) -> str:
    """SQL: the 办结 limit (hours) of the category column ``category``."""
    n = len(ctx.config.response.resolve_limit_hours)
    if not n:
        return "$limit_default::DOUBLE"
    whens = " ".join(f"WHEN $limit_cat_{i} THEN $limit_h_{i}" for i in range(n))
    return f"(CASE {category} {whens} ELSE $limit_default END)::DOUBLE"


def on_time_sql(ctx: Context, alias: str = "r") -> str:
    """SQL: the on-time flags of reports ``alias`` — :func:`with_decisions` in SQL."""
    a = alias
    limit = resolve_limit_sql(ctx, f"{a}.category")
    age = f"epoch($as_of - {a}.reported_at) / 3600.0"
    accept_h = f"epoch({a}.accepted_at - {a}.reported_at) / 3600.0"
    resolve_h = f"epoch({a}.resolved_at - {a}.reported_at) / 3600.0"
    return f"""CASE WHEN {a}.accepted_at IS NOT NULL THEN {accept_h} <= $accept_limit
         WHEN {age} > $accept_limit THEN false
    END AS on_time_accept,
    CASE WHEN {a}.refused THEN NULL
         WHEN {a}.resolved_at IS NOT NULL THEN {resolve_h} <= {limit}
         WHEN {age} > {limit} THEN false
    END AS on_time_resolve"""


def query_range_reports(ctx: Context, select: str, **params) -> pl.DataFrame:
    """Large scope: run ``select`` over ``rf``, the reports in scope reported in the
    filter's range (every month of the span for ``month`` buckets) with ``bucket``,
    the durations ``accept_h, verify_h, resolve_h``, ``limit_h`` and the on-time
    flags — :func:`range_reports` and :func:`with_decisions` in SQL, so that a city's
    reports are aggregated where they are."""
    first = "$span_start" if ctx.bucket_mode == "month" else "$start"
    sql = f"""WITH rf AS (
    SELECT r.*, {ctx.bucket_sql("r.month")} AS bucket,
        epoch(r.accepted_at - r.reported_at) / 3600.0 AS accept_h,
        epoch(r.verified_at - r.reported_at) / 3600.0 AS verify_h,
        epoch(r.resolved_at - r.reported_at) / 3600.0 AS resolve_h,
        {resolve_limit_sql(ctx, "r.category")} AS limit_h,
        {on_time_sql(ctx)}
    FROM {ctx.tables["report"]} r
    WHERE r.reported_at >= {first} AND r.reported_at < $end_excl
      AND {ctx.subgrid_in_scope_sql("r.subgrid_key")}
)
{select}"""
    return ctx.fetch(sql, as_of=ctx.as_of, **ctx.subgrid_key_range, **params)


@per_subgrid()
def open_reports_at_end(ctx: Context) -> pl.DataFrame:
    """Reports in scope open at the end of the range (reported before it, neither
    resolved nor refused by then): ``report_id, subgrid_id, subgrid_key, village_id,
    town_id, category, summary, reporter_id, reported_at, accepted_at, limit_h,
    status_at_end`` (待受理/处理中), ``age_h``, ``overdue_reason`` (超期未办结 /
    超时未受理 / null) and ``overdue``, oldest first."""
    rows = ctx.fetch(
        f"""SELECT r.report_id, r.subgrid_id, r.subgrid_key, r.category,
    r.summary, r.reporter_id, r.reported_at, r.accepted_at,
    {resolve_limit_sql(ctx, "r.category")} AS limit_h,
    CASE WHEN r.accepted_at < $end_excl THEN '处理中' ELSE '待受理' END AS status_at_end,
    epoch($end_excl::TIMESTAMP - r.reported_at) / 3600.0 AS age_h
FROM {ctx.tables["report"]} r
WHERE r.reported_at < $end_excl
  AND NOT coalesce(r.resolved_at < $end_excl, false)
  AND NOT (r.refused AND coalesce(r.accepted_at, r.reported_at) < $end_excl)
  AND {ctx.subgrid_in_scope_sql("r.subgrid_key")}
ORDER BY r.reported_at, r.report_id""",
        **ctx.subgrid_key_range,
    )
    accept_limit = ctx.config.response.accept_limit_hours
    units = ctx.subgrids.select("subgrid_key", "village_id", "town_id")
    return (
        rows.join(units, on="subgrid_key", maintain_order="left")
        .select(
            "report_id",
            "subgrid_id",
            "subgrid_key",
            "village_id",
            "town_id",
            "category",
            "summary",
            "reporter_id",
            "reported_at",
            "accepted_at",
            "limit_h",
            "status_at_end",
            "age_h",
        )
        .with_columns(
            overdue_reason=pl.when(pl.col("age_h") > pl.col("limit_h"))
            .then(pl.lit("超期未办结"))
            .when((pl.col("status_at_end") == "待受理") & (pl.col("age_h") > accept_limit))
            .then(pl.lit("超时未受理"))
            .otherwise(None)
        )
        .with_columns(overdue=pl.col("overdue_reason").is_not_null())
    )
