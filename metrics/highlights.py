"""本月要点: the 3–5 Chinese sentences a Monday meeting starts from — where things
stand, what improved and what worsened most, the red alerts and who acts, who has not
reported. Built from the same functions the pages show (docs/metrics.md, 本月要点).

The sentences name persons (the owners of alerts); ``masked`` lets the caller mask them
as the reader's role requires (the metrics layer never decides who sees names).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from metrics import glossary
from metrics.alerts import alerts
from metrics.completeness import UNREPORTED, completeness
from metrics.config import Config
from metrics.filters import Filter
from metrics.overview import kpis
from metrics.scope import scoped
from store.person_names import mask_name
from store.reporting_units import UNIT_KIND_LABELS

# The KPIs the headline sentence speaks of, and those whose moves are compared.
HEADLINE = ("fortress_index", "study_coverage", "compliant_share")
# 制度落实率 is left out of the movers: a sub-grid's swings between 0 and 100 % month to
# month (one requirement missed), which would drown the moves that matter.
MOVERS = ("fortress_index", "study_coverage", "activity_coverage", "on_time_resolve_rate")
RED_NAMED = 3  # red alerts named one by one; the rest are counted


def change_words(kpi: str, change: float | None) -> str:
    """'提高 2.1 个百分点' / '下降 3.6 分' / '持平'; '' when there is nothing to compare."""
    if change is None:
        return ""
    entry = glossary.entry(kpi)
    size = abs(change) * 100 if entry.kind == "rate" else abs(change)
    unit = "个百分点" if entry.kind == "rate" else entry.unit
    if round(size, 1) == 0:
        return "持平"
    return f"{'提高' if change > 0 else '下降'} {size:.1f} {unit}".rstrip()


def _headline(scope: pl.DataFrame, where: str) -> str:
    parts = []
    for kpi in HEADLINE:
        row = scope.filter(pl.col("kpi") == kpi).row(0, named=True)
        if row["value"] is None:
            continue
        text = f"{glossary.label(kpi)} {glossary.value_with_unit(kpi, row['value'])}"
        moves = [
            f"{name}{words}"
            for name, words in (
                ("环比", change_words(kpi, row["change"])),
                ("同比", change_words(kpi, row["change_year"])),
            )
            if words
        ]
        parts.append(text + (f"（{'，'.join(moves)}）" if moves else ""))
    if not parts:
        return f"{where}暂无可计算的关键指标。"
    return f"{where}：" + "；".join(parts) + "。"


def _mover(parts: pl.DataFrame, best: bool) -> str | None:
    """The part whose KPI moved most (rates in 个百分点, the index in 分, compared as
    points), up when ``best``; None when nothing moved that way."""
    moves = parts.filter(pl.col("kpi").is_in(MOVERS), pl.col("change").is_not_null())
    if moves.is_empty():
        return None
    scale = pl.when(pl.col("kpi") == "fortress_index").then(1.0).otherwise(100.0)
    moves = moves.with_columns(points=pl.col("change") * scale)
    row = moves.sort("points", descending=best).row(0, named=True)
    if (row["points"] > 0) != best or round(abs(row["points"]), 1) == 0:
        return None
    value = glossary.value_with_unit(row["kpi"], row["value"])
    label = "进步最明显" if best else "下降最多"
    return (
        f"{label}：{row['unit_name']}{glossary.label(row['kpi'])} {value}，"
        f"比上期{change_words(row['kpi'], row['change'])}。"
    )


def _red_alerts(raised: pl.DataFrame, shown_name: Callable[[str], str]) -> str:
    red = raised.filter(pl.col("level") == "红色", pl.col("kpi") != "unreported").sort(
        pl.col("subgrid_id").is_not_null(), "village_id", "subgrid_id", maintain_order=True
    )
    if red.is_empty():
        return "本期没有红色预警。"
    named = []
    for r in red.head(RED_NAMED).iter_rows(named=True):
        unit = r["village_name"] + (r["subgrid_name"] or "")
        owner = (
            f"{r['owner_role']} {shown_name(r['owner'])}"
            if r["owner"]
            else f"{r['owner_role']}空缺"
        )
        value = glossary.value_with_unit(r["kpi"], r["value"])
        named.append(f"{unit}{r['label']} {value}（{owner}）")
    more = "，其中" if red.height > RED_NAMED else ""
    return f"红色预警 {red.height} 条{more}：" + "；".join(named) + ("等。" if more else "。")


def _unreported(units: pl.DataFrame, one_village: bool) -> str:
    missing = units.filter(pl.col("status") == UNREPORTED)
    if units.is_empty():
        return ""
    if missing.is_empty():
        return "本村居本期数据已全部报送。" if one_village else "各村居本期数据均已报送。"
    by_village = missing.group_by("village_name", maintain_order=True).agg(
        pl.col("kind")
        .replace_strict(UNIT_KIND_LABELS, return_dtype=pl.String)
        .unique(maintain_order=True)
    )
    listed = "；".join(f"{name}（{'、'.join(kinds)}）" for name, kinds in by_village.iter_rows())
    return f"未报送：{listed}，相关指标暂不计算。"


@scoped
def highlights(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
    masked: bool = False,
) -> list[str]:
    """本月要点 of ``f``'s range and scope (the town, or ``f.village_id``): 3–5
    sentences — the headline KPIs with 环比/同比, the part (village or sub-grid) that
    improved and the one that worsened most, the red alerts with their owners, and who
    has not reported. ``masked``: owners' names masked (张*明)."""
    scope_filter = f.at_level("village" if f.village_id else "town")
    parts_filter = f.at_level("subgrid" if f.village_id else "village")
    scope = kpis(con, scope_filter, config=config, rollups=rollups)
    where = f.label() + (scope["unit_name"][0] if not scope.is_empty() else "")
    sentences = [_headline(scope, where)]
    parts = kpis(con, parts_filter, config=config, rollups=rollups)
    sentences += [s for s in (_mover(parts, True), _mover(parts, False)) if s]
    shown_name = mask_name if masked else str
    raised = alerts(con, scope_filter, config=config, rollups=rollups)
    sentences.append(_red_alerts(raised, shown_name))
    unreported = _unreported(
        completeness(con, f.start, f.end, f.village_id, config), f.village_id is not None
    )
    if unreported:
        sentences.append(unreported)
    return sentences
