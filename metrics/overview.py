"""总览: headline counts, KPIs with month-over-month change, trends, alerts, scorecards.
The KPIs are defined in docs/metrics.md (总览).

The four KPIs of the 总览 page, per unit of the filter's level:

* ``compliant_share`` 制度落实率 — share of sub-grid-months fully compliant with the
  制度清单 (``activity_coverage``, met ÷ due, is given alongside);
* ``study_coverage`` 学习覆盖率; ``on_time_resolve_rate`` 按期办结率;
* ``fortress_index`` 平均堡垒指数 — the member-weighted 堡垒指数 of the unit.

"Change" compares the range with the equally long range just before it (for a single
month: the month before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from metrics import glossary
from metrics.assessment_scores import assessment_scores
from metrics.config import Config
from metrics.filters import Filter
from metrics.formulas import label_for
from metrics.fortress_index import fortress_by_unit
from metrics.monthly_means import unit_means
from metrics.query_context import Context
from metrics.reported_only import reported_flags
from metrics.reports import open_reports_at_end
from metrics.scope import scoped
from metrics.unit_totals import unit_totals
from metrics.vanguard_index import vanguard_by_unit

KPI_KEYS = (
    "compliant_share",
    "activity_coverage",
    "study_coverage",
    "on_time_resolve_rate",
    "fortress_index",
)
# Labels from the one glossary (metrics/glossary.py): a KPI reads the same everywhere.
KPI_LABELS = {key: glossary.label(key) for key in KPI_KEYS}
# The scorecard's figures from the unit's pooled totals, and all its columns in order.
SCORECARD_TOTALS = (
    "compliant_share",
    "activity_coverage",
    "study_coverage",
    "home_share",
    "reports",
    "on_time_accept_rate",
    "on_time_resolve_rate",
)
SCORECARD_COLUMNS = (
    "unit_id",
    "unit_name",
    *SCORECARD_TOTALS,
    "open_at_end",
    "overdue_at_end",
    "fortress_index",
    "stars",
    "surveyed",
    "vanguard_index",
    "grade",
    "members",
    "total",
    "rank",
    "reported",
)


@dataclass(frozen=True)
class TownSummary:
    villages: int
    subgrids: int
    party_members: int
    latest_month: date | None
    activities: int
    reports: int


@scoped
def town_summary(con: duckdb.DuckDBPyConnection, village_id: str | None = None) -> TownSummary:
    """Registry sizes, active party members and the latest month's activity and reports,
    for the town or (``village_id``) one village.

    The latest month is the last month with any activity in the town (the same month for
    every village, so a village that has not reported yet shows zero, not an older
    month). Party members are those on the roll on that month's last day
    (``is_party_member`` and assigned to a sub-grid).
    """
    row = con.execute(
        """
        WITH latest AS (
            SELECT date_trunc('month', max(activity_date))::DATE AS m FROM activity
        ),
        sg AS (
            SELECT subgrid_id, village_id FROM subgrid
            WHERE $village::VARCHAR IS NULL OR village_id = $village::VARCHAR
        )
        SELECT
            (SELECT count(DISTINCT village_id) FROM village
              WHERE $village::VARCHAR IS NULL OR village_id = $village::VARCHAR),
            (SELECT count(*) FROM sg),
            (SELECT count(*) FROM person JOIN sg USING (subgrid_id), latest
              WHERE is_party_member
                AND active_from <= coalesce(last_day(latest.m), current_date)
                AND (active_to IS NULL OR active_to >= coalesce(latest.m, current_date))),
            (SELECT m FROM latest),
            (SELECT count(*) FROM activity, latest
              WHERE date_trunc('month', activity_date) = latest.m
                AND ($village::VARCHAR IS NULL OR village_id = $village::VARCHAR)),
            (SELECT count(*) FROM report JOIN sg USING (subgrid_id), latest
              WHERE date_trunc('month', reported_at) = latest.m)
        """,
        {"village": village_id},
    ).fetchall()[0]  # fetchall: a half-read result would block the next query
    return TownSummary(*row)


def _kpi_frame(ctx: Context) -> pl.DataFrame:
    """Unit × bucket: the KPI values, each the mean of its monthly values over the
    bucket's data months (metrics.monthly_means)."""
    return (
        ctx.units_by_bucket()
        .select("unit_id", "unit_name", "bucket")
        .join(unit_means(ctx, KPI_KEYS).drop("value_months"), on=["unit_id", "bucket"], how="left")
        .select("unit_id", "unit_name", "bucket", *KPI_KEYS)
    )


@scoped
def kpis(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The KPIs per unit: ``unit_id, unit_name, kpi, label, value, previous, change,
    year_ago, change_year`` — ``previous`` is the equally long range just before
    (环比), ``year_ago`` the same months a year earlier (同比); a change is null when
    either value is missing (e.g. no data a year ago)."""
    ctx = Context.of(con, f, config, rollups, buckets="compare")
    frame = _kpi_frame(ctx)
    year_ctx = Context.of(con, f.year_before(), config, rollups)
    year_ago = (
        year_ctx.range_rows(_kpi_frame(year_ctx))
        .unpivot(index=["unit_id", "unit_name", "bucket"], variable_name="kpi")
        .select("unit_id", "kpi", year_ago="value")
    )
    long = frame.unpivot(index=["unit_id", "unit_name", "bucket"], variable_name="kpi")
    current = long.filter(pl.col("bucket") == f.start).drop("bucket")
    previous = long.filter(pl.col("bucket") == f.previous().start).select(
        "unit_id", "kpi", previous="value"
    )
    order = {k: i for i, k in enumerate(KPI_LABELS)}
    units = ctx.units.join(pl.DataFrame({"kpi": list(KPI_LABELS)}), how="cross")
    return (
        units.join(current.drop("unit_name"), on=["unit_id", "kpi"], how="left")
        .join(previous, on=["unit_id", "kpi"], how="left")
        .join(year_ago, on=["unit_id", "kpi"], how="left")
        .with_columns(
            label=pl.col("kpi").replace_strict(KPI_LABELS),
            change=pl.col("value") - pl.col("previous"),
            change_year=pl.col("value") - pl.col("year_ago"),
            order=pl.col("kpi").replace_strict(order),
        )
        .sort("unit_id", "order")
        .select(
            "unit_id",
            "unit_name",
            "kpi",
            "label",
            "value",
            "previous",
            "change",
            "year_ago",
            "change_year",
        )
    )


@scoped
def kpi_trend(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The KPIs per unit and data month of the range: ``unit_id, unit_name, month,
    compliant_share, activity_coverage, study_coverage, on_time_resolve_rate,
    fortress_index``."""
    ctx = Context.of(con, f, config, rollups, buckets="month")
    return _kpi_frame(ctx).rename({"bucket": "month"}).sort("unit_id", "month")


@scoped
def scorecard(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Every headline figure of each unit of ``f.level`` side by side (村居详情 with
    ``level='subgrid'`` and a village; the map's tooltips): ``unit_id, unit_name,
    activity_coverage, compliant_share, study_coverage, home_share, reports,
    on_time_accept_rate, on_time_resolve_rate, open_at_end, overdue_at_end,
    fortress_index, stars, surveyed, vanguard_index, grade, members, total, rank,
    reported`` (false: a month of the range is 未报送; with no month reported the
    unit has no values, no star and no rank)."""
    ctx = Context.of(con, f, config, rollups)
    opened = (
        open_reports_at_end(ctx)
        .group_by(ctx.unit_column)
        .agg(open_at_end=pl.len(), overdue_at_end=pl.col("overdue").sum())
        .rename({ctx.unit_column: "unit_id"})
    )
    rates = [c for c in SCORECARD_TOTALS if c != "reports"]
    means = ctx.range_rows(unit_means(ctx, [*rates, "fortress_index"])).drop("value_months")
    base = (
        ctx.range_rows(unit_totals(ctx))
        .join(means, on=["unit_id", "bucket"], how="left")
        .select("unit_id", "unit_name", *SCORECARD_TOTALS, "fortress_index")
    )
    return (
        ctx.units.select("unit_id")
        .join(base, on="unit_id", how="left")
        .join(opened, on="unit_id", how="left")
        .join(
            ctx.range_rows(fortress_by_unit(ctx)).select("unit_id", "surveyed"),
            on="unit_id",
            how="left",
        )
        .join(
            ctx.range_rows(vanguard_by_unit(ctx)).select("unit_id", "vanguard_index", "members"),
            on="unit_id",
            how="left",
        )
        .join(
            ctx.range_rows(assessment_scores(ctx)).select("unit_id", "total", "rank"),
            on="unit_id",
            how="left",
        )
        .join(ctx.range_rows(reported_flags(ctx)).drop("bucket"), on="unit_id", how="left")
        .with_columns(
            # A unit with no month reported has no values at all (未报送, not 0).
            pl.when(pl.col("reported").not_() & pl.col("fortress_index").is_null())
            .then(None)
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("vanguard_index", "total", "rank")
        )
        .with_columns(
            open_at_end=pl.col("open_at_end").fill_null(0).cast(pl.Int64),
            overdue_at_end=pl.col("overdue_at_end").fill_null(0).cast(pl.Int64),
            members=pl.col("members").fill_null(0).cast(pl.Int64),
            stars=label_for(ctx.config.fortress.stars, "fortress_index"),
            grade=label_for(ctx.config.vanguard.grades, "vanguard_index"),
        )
        .filter(pl.col("unit_name").is_not_null())
        .select(SCORECARD_COLUMNS)
        .sort("unit_id")
    )
