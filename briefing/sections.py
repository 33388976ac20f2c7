"""The parts of a briefing, each from the figures the content gathered
(:class:`briefing.content.Figures`): the KPI cards, the ranking, the alerts, 报送情况,
督办, the trends and the map. Headers and numbers come from the glossary, as the
dashboard's tables show them (a table header carries the unit, a cell the number).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from briefing import charts
from briefing.document import Card, Change, Figure, Row, Section, Table
from metrics.glossary import (
    MISSING,
    change_text,
    entry,
    header,
    is_missing,
    label,
    number_text,
    shown_value,
    value_text,
)
from store.months import month_key, month_label

CARD_KPIS = ("compliant_share", "study_coverage", "on_time_resolve_rate", "fortress_index")
COUNT_CARDS = ("reports", "overdue_at_end")
RANKED = ("total", "fortress_index", "stars", *CARD_KPIS[:3], "overdue_at_end")
MARK_OF_LEVEL = {"红色": "red", "黄色": "yellow"}
MAP_COLOURS = {"red": "#E58A95", "yellow": "#F3C87A", None: "#A9D3B0"}
MAP_LEGEND = (("#E58A95", "红色预警"), ("#F3C87A", "黄色预警"), ("#A9D3B0", "无预警"))


def cell(key: str, value) -> str:
    """A table cell: the number as the dashboard's table shows it (unit in the header)."""
    if is_missing(value):
        return MISSING
    m = entry(key)
    if m.kind in ("rate", "days", "score", "number", "hours"):
        return number_text(shown_value(key, value), m.decimals)
    if m.kind in ("count", "rank"):
        return number_text(shown_value(key, value))
    return str(shown_value(key, value))


# ------------------------------------------------------------------ cards


def _change(key: str, change: float | None, against: str) -> Change:
    """'环比 +2.1个百分点', coloured good or bad by the metric's direction."""
    m = entry(key)
    if not is_missing(change) and round(change * (100 if m.kind == "rate" else 1), m.decimals) == 0:
        change = 0.0  # '-0.0' would read as a fall
    text = change_text(key, change)
    if text is None:
        return Change(f"{against} {MISSING}")
    better = m.higher_is_better
    good = None if better is None or change == 0 else (change > 0) == better
    return Change(f"{against} {text}", good)


def _minus(a, b) -> float | None:
    return None if is_missing(a) or is_missing(b) else a - b


def cards(f) -> tuple[Card, ...]:
    """The four KPIs and two counts, each with 环比 and 同比."""
    now = {r["kpi"]: r for r in f.kpis.iter_rows(named=True)}
    year_ago = {r["kpi"]: r["value"] for r in f.kpis_year_ago.iter_rows(named=True)}
    out = []
    for key in CARD_KPIS:
        row = now.get(key, {})
        value = row.get("value")
        out.append(
            Card(
                entry(key).card_label,
                value_text(key, value),
                (
                    _change(key, row.get("change"), "环比"),
                    _change(key, _minus(value, year_ago.get(key)), "同比"),
                ),
            )
        )
    for key in COUNT_CARDS:
        value = f.card.get(key)
        out.append(
            Card(
                entry(key).card_label,
                value_text(key, value),
                (
                    _change(key, _minus(value, f.card_before.get(key)), "环比"),
                    _change(key, _minus(value, f.card_year_ago.get(key)), "同比"),
                ),
            )
        )
    return tuple(out)


# ------------------------------------------------------------------ tables


def _marks(f, level: str) -> dict[str, str]:
    """unit id → 'red'/'yellow': the worst alert of each unit of ``level``."""
    column = "subgrid_id" if level == "subgrid" else "village_id"
    rows = f.alerts
    if level == "village":
        rows = rows.filter(pl.col("subgrid_id").is_null())
    else:
        rows = rows.filter(pl.col("subgrid_id").is_not_null())
    marks: dict[str, str] = {}
    for unit, level_name in rows.select(column, "level").iter_rows():
        if marks.get(unit) != "red":
            marks[unit] = MARK_OF_LEVEL[level_name]
    return marks


def ranking(f) -> Section:
    """The villages (a village's briefing: its sub-grids) by rank, coloured by alert."""
    level = "subgrid" if f.village_id else "village"
    marks = _marks(f, level)
    ordered = f.parts.sort(pl.col("rank").is_null(), "rank", "unit_id")
    unit_header = "子网格" if f.village_id else "村居"
    rows = tuple(
        Row(
            (cell("rank", r["rank"]), r["unit_name"], *(cell(k, r[k]) for k in RANKED)),
            marks.get(r["unit_id"]),
        )
        for r in ordered.iter_rows(named=True)
    )
    note = "红色、黄色底纹：该单位有红色或黄色预警；排名与看板“总览”成绩单一致。"
    if f.village_id and not f.town_rank.is_empty() and f.town_rank["rank"][0] is not None:
        note = (
            f"{f.scope_name}在全镇村居中排第 {f.town_rank['rank'][0]} 名"
            f"（共 {f.town_rank['units'][0]} 个）。" + note
        )
    return Section(
        f"{unit_header}排名",
        note,
        Table(
            (header("rank"), unit_header, *(header(k) for k in RANKED)),
            rows,
            left=2,
            widths=(0.8, 1.7, 1, 1, 1.1, 1, 1, 1, 1.2),
        ),
    )


def red_alerts(f, names: Callable[[str | None], str]) -> Section:
    """The 红色 alerts with their owners."""
    red = f.alerts.filter(pl.col("level") == "红色")
    yellow = f.alerts.filter(pl.col("level") == "黄色").height
    rows = tuple(
        Row(
            (
                a["village_name"] + (a["subgrid_name"] or ""),
                a["message"],
                f"{a['owner_role']} {names(a['owner'])}"
                if a["owner"]
                else f"{a['owner_role']}（空缺）",
            ),
            "red",
        )
        for a in red.iter_rows(named=True)
    )
    return Section(
        "红色预警及责任人",
        f"本期红色预警 {red.height} 条，黄色预警 {yellow} 条（黄色预警见看板“总览”）。",
        Table(("单位", "预警内容", "责任人"), rows, left=3, widths=(1.3, 4.2, 1.5)),
        empty="（本期没有红色预警）",
    )


def reporting(f) -> Section:
    """报送情况: what each village has not reported, month by month."""
    rows = tuple(
        Row((month_label(month), village, "、".join(kinds)), "red")
        for village, month, kinds in sorted(f.unreported, key=lambda r: (r[1], r[0]))
    )
    return Section(
        "报送情况",
        "列出本期未报送的数据（活动、出勤、民情）；未报送的单位不参与排名和平均。",
        Table(("月份", "村居", "未报送的数据"), rows, left=3, widths=(1, 1.5, 4)),
        empty="（本期各村居均已报送）",
    )


def supervision(f) -> Section:
    """督办 items about the period's months, by source, and where they stand now."""
    s = f.supervision
    columns = ("opened", "closed", "open_now", "overdue_now")
    rows = tuple(
        Row((r["source_label"], *(str(r[c]) for c in columns)), "red" if r["overdue_now"] else None)
        for r in s.iter_rows(named=True)
        if r["opened"]
    )
    total = Row(("合计", *(str(s[c].sum()) for c in columns)))
    return Section(
        "督办事项",
        "本期数据发现的问题（期末超期的民情事项、红色预警、连续未参学、未报送）"
        "及镇办交办事项的立项与办理情况，截至生成时；红色：有逾期。",
        Table(
            ("来源", "立项", "已办结", "在办", "其中已逾期"),
            (*rows, total) if rows else (),
            widths=(2, 1, 1, 1, 1),
        ),
        empty="（本期没有督办事项）",
    )


def oldest_items(f, names: Callable[[str | None], str]) -> Section:
    """The items open longest: what the 党委会 should ask about."""
    rows = tuple(
        Row(
            (
                str(r["item_id"]),
                r["village_name"] or "",
                r["subject"],
                f"{r['owner_role'] or ''} {names(r['owner'])}".strip()
                if r["owner"]
                else "（空缺）",
                f"{r['deadline']:%Y-%m-%d}",
                r["status"],
            ),
            "red" if r["status"] == "已逾期" else "yellow" if r["days_left"] <= 3 else None,
        )
        for r in f.oldest.iter_rows(named=True)
    )
    return Section(
        "在办时间最长的督办事项",
        "红色：已逾期；黄色：3 天内到期。",
        Table(
            ("编号", "村居", "事项", "责任人", "截止日期", "状态"),
            rows,
            left=4,
            widths=(0.6, 1.1, 3.6, 1.8, 1.1, 0.8),
        ),
        empty="（没有在办的督办事项）",
    )


# ------------------------------------------------------------------ figures


def trends(f) -> list[Section]:
    """The three rates and the 平均堡垒指数 by month, over the last twelve data months."""
    trend = f.trend.sort("month")
    if trend.is_empty():
        return []
    months = [month_key(m) for m in trend["month"]]
    rates = {label(k): trend[k].to_list() for k in CARD_KPIS[:3]}
    index = {label("fortress_index"): trend["fortress_index"].to_list()}
    scope = f.scope_name
    return [
        Section(
            "月度趋势",
            figure=Figure(
                charts.trend_chart(months, rates), f"{scope}近 {len(months)} 个月三项比率"
            ),
        ),
        Section(
            f"{label('fortress_index')}趋势",
            figure=Figure(
                charts.trend_chart(months, index, unit="分", scale=1.0),
                f"{scope}近 {len(months)} 个月{label('fortress_index')}",
            ),
        ),
    ]


def _rings(geometry: dict) -> list:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return [polygon[0] for polygon in polygons]


def unit_map(f) -> Section | None:
    """The villages (or the village's sub-grids) coloured by their worst alert."""
    if not f.features:
        return None
    level = "subgrid" if f.village_id else "village"
    marks = _marks(f, level)
    values = dict(f.parts.select("unit_id", "fortress_index").iter_rows())
    polygons, colours, labels = {}, {}, {}
    for feature in f.features:
        unit = feature["properties"]["unit_id"]
        polygons[unit] = _rings(feature["geometry"])
        colours[unit] = MAP_COLOURS[marks.get(unit)]
        index = values.get(unit)
        labels[unit] = feature["properties"]["name"] + (
            f"\n{cell('fortress_index', index)}" if not is_missing(index) else ""
        )
    svg = charts.unit_map(polygons, colours, labels, MAP_LEGEND)
    what = "各子网格" if f.village_id else "各村居"
    return Section(
        "预警分布图",
        f"{what}按预警着色，标注{label('fortress_index')}；边界为示意（无公开边界）。",
        figure=Figure(svg, f"{f.scope_name}{what}预警分布", width=0.88),
    )


def all_sections(f, names: Callable[[str | None], str]) -> tuple[Section, ...]:
    """Every section in reading order (those without a source left out)."""
    found = [
        ranking(f),
        red_alerts(f, names),
        reporting(f),
        supervision(f),
        oldest_items(f, names),
        *trends(f),
        unit_map(f),
    ]
    return tuple(s for s in found if s is not None)
