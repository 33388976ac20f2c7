"""What a briefing says, gathered from the metrics: :func:`build` returns the
:class:`~briefing.document.Briefing` that :mod:`briefing.typeset` (PDF) and
:mod:`briefing.workbook` (XLSX) render, so the two never disagree.

For the town (or, with ``village_id``, one village, as its 村居书记 gets it):

* the title with the period and the date of the data, the data version in the footer;
* 本期要点 — the generated sentences of 总览 (:mod:`briefing.key_points`);
* the KPI cards with 环比 (the equally long period before, as 总览 compares) and 同比
  (the same period a year earlier);
* the ranking of the villages (or the village's sub-grids) with stars, coloured by
  their 红色/黄色 alerts — the same figures as 总览's 成绩单;
* the 红色 alerts with their owners; 报送情况; the 督办 items opened and closed;
* the monthly trends and the map, drawn as static images (:mod:`briefing.charts`).

Numbers are written by the glossary (:mod:`metrics.glossary`) as the dashboard writes
them. Personal names (the owners) pass through ``names``, which a caller sets to mask
them for a role that may not see them (a 镇领导's briefing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import duckdb
import polars as pl

from briefing import key_points, sections
from briefing.document import Briefing
from briefing.period import Period
from metrics import batch
from metrics.alerts import alerts
from metrics.assessment import town_ranks
from metrics.completeness import unreported_summary
from metrics.config import Config
from metrics.filters import Filter
from metrics.overview import kpi_trend, kpis, scorecard
from metrics.registry import boundaries, data_months
from store.clock import now_local
from store.database import data_version, run_sql
from store.months import add_months, month_label
from supervise.items import oldest_open, period_summary

TREND_MONTHS = 12


class NoData(LookupError):
    """The database has no data for the period (message in Chinese)."""


@dataclass(frozen=True)
class Figures:
    """Everything the sections are built from (frames from the metrics layer)."""

    period: Period
    village_id: str | None
    town_name: str
    scope_name: str
    last_month: date  # the last month with data, within the period
    kpis: pl.DataFrame  # the scope's KPIs with previous values (环比)
    kpis_year_ago: pl.DataFrame
    card: dict  # the scope's scorecard row; and a year earlier, and the period before
    card_year_ago: dict
    card_before: dict
    parts: pl.DataFrame  # the scorecard of the villages (or the village's sub-grids)
    alerts: pl.DataFrame
    town_rank: pl.DataFrame  # the village's town-wide rank (a village's briefing)
    trend: pl.DataFrame
    features: list[dict]
    supervision: pl.DataFrame
    oldest: pl.DataFrame
    unreported: list[tuple[str, date, tuple[str, ...]]]  # (village, month, kinds) 未报送


def _names(con: duckdb.DuckDBPyConnection, village_id: str | None) -> tuple[str, str]:
    """(town name, scope name): the scope is 全镇 or the village's name."""
    rows = run_sql(
        con,
        "SELECT min(town_name), min(name) FILTER (WHERE village_id = ?) FROM village",
        [village_id],
    )
    town, village = rows[0]
    return town or "", (village or village_id) if village_id else "全镇"


def _one(frame: pl.DataFrame) -> dict:
    return frame.row(0, named=True) if not frame.is_empty() else {}


def gather(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    village_id: str | None = None,
    config: Config | None = None,
) -> Figures:
    """The frames of the briefing of ``period`` (NoData if it has no data month)."""
    months = [m for m in data_months(con) if period.start <= m <= period.end]
    if not months:
        raise NoData(f"{period.label}没有数据：数据库中没有该期间的活动或民情记录。")
    level, parts_level = ("village", "subgrid") if village_id else ("town", "village")
    scope = Filter(period.start, period.end, level, village_id)
    year_ago = replace(scope, start=add_months(period.start, -12), end=add_months(period.end, -12))
    last = months[-1]
    trend_filter = replace(scope, start=add_months(last, -(TREND_MONTHS - 1)), end=last)
    town_name, scope_name = _names(con, village_id)
    options = {"config": config}
    with batch():
        figures = Figures(
            period=period,
            village_id=village_id,
            town_name=town_name,
            scope_name=scope_name,
            last_month=last,
            kpis=kpis(con, scope, **options),
            kpis_year_ago=kpis(con, year_ago, **options),
            card=_one(scorecard(con, scope, **options)),
            card_year_ago=_one(scorecard(con, year_ago, **options)),
            card_before=_one(scorecard(con, scope.previous(), **options)),
            parts=scorecard(con, scope.at_level(parts_level), **options),
            alerts=alerts(con, scope, **options),
            town_rank=town_ranks(con, scope, **options) if village_id else pl.DataFrame(),
            trend=kpi_trend(con, trend_filter, **options),
            features=boundaries(con, parts_level, village_id)[0],
            supervision=period_summary(con, period.start, period.end, village_id),
            oldest=oldest_open(con, village_id, limit=8),
            unreported=unreported_summary(con, period.start, period.end, village_id),
        )
    return figures


def build(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    village_id: str | None = None,
    *,
    names: Callable[[str | None], str] = lambda name: name or "",
    config: Config | None = None,
) -> Briefing:
    """The briefing of ``period`` for the town or one village (NoData without data)."""
    f = gather(con, period, village_id, config)
    version = data_version(con)
    made = now_local()
    through = "" if f.last_month >= period.end else f"（数据截至{month_label(f.last_month)}）"
    return Briefing(
        title=f"{f.town_name}网格化党建{period.kind}通报",
        issuer=f"中共{f.town_name}委员会办公室",
        scope=f.scope_name,
        period=f"{period.label}{through}",
        as_of=(
            f"数据截至{month_label(f.last_month)} · 数据版本 {version} · "
            f"生成于 {made:%Y年%-m月%-d日 %H:%M}"
        ),
        footer=f"{f.town_name}网格化党建看板 · 数据版本 {version}",
        key_points=tuple(key_points.sentences(con, f, names, config)),
        key_points_title="本月要点" if period.is_month else "本期要点",
        kpis=sections.cards(f),
        sections=sections.all_sections(f, names),
    )
