"""会议室大屏: the key views for the meeting-room TV, rotating on a timer, in type that
reads from 4 m at 1920×1080, without the sidebar (``/?screen=tv`` or ``/tv``; see
docs/pages.md, 会议室大屏).

The views: the KPIs of the view's scope with 环比 and 同比, the scorecard of its parts
worst first with the alert lights, the 预警 list, and the map of the 堡垒指数. The scope
and months are the shared view's (the latest complete month, whole town, unless the
link says otherwise; a 村居书记's own village). ``?seconds=20`` sets how long each view
stays.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from metrics.alerts import alerts
from metrics.glossary import label, value_text
from metrics.highlights import highlights
from metrics.overview import kpis, scorecard
from metrics.registry import boundaries, service_points, subgrids, villages
from metrics.scorecard_reading import lights
from store.months import range_label
from ui import session, tv
from ui.db import query
from ui.filters import View, parts_filter, parts_level, to_filter, to_params
from ui.map import LABEL_LAYER_ID, build_deck, fit_view
from ui.map_records import TOOLTIP_HTML, label_records, legend_html, map_polygons, point_records
from ui.names import village_name
from ui.navigation import page_path
from ui.privacy import mask_columns, sees_names

CARDS = ("compliant_share", "study_coverage", "on_time_resolve_rate", "fortress_index")
# The scorecard's columns: its figures, each lit where an alert rule judges it.
SCORE_KEYS = (
    "compliant_share",
    "activity_coverage",
    "study_coverage",
    "on_time_resolve_rate",
    "fortress_index",
    "overdue_at_end",
)
ALERTS_SHOWN = 9  # what fits under the title at 1080 px; the rest are counted
LEVEL_COLOURS = {"红色": "#C8102E", "黄色": "#E8A33D"}
MAP_METRIC = "fortress_index"
MAP_HEIGHT, MAP_WIDTH = 860, 1400


def kpi_data(view: View) -> dict:
    """The scope's KPIs, the ranges they are compared with, and 本月要点."""
    f = to_filter(view)
    frame = query(kpis, f)
    previous, year = f.previous(), f.year_before()
    return {
        "values": {row["kpi"]: row for row in frame.iter_rows(named=True)},
        "note": f"环比：与{range_label(previous.start, previous.end)}相比；"
        f"同比：与{range_label(year.start, year.end)}相比。",
        "points": query(highlights, f, masked=not sees_names()),
    }


def kpi_view(data: dict) -> None:
    """The four KPIs of the scope with 环比 and 同比, and 本月要点."""
    values = data["values"]
    if all((values.get(k) or {}).get("value") is None for k in CARDS):
        st.info("所选月份没有可计算关键指标的数据。")
        return
    st.html(tv.kpi_cards([values[k] for k in CARDS], data["note"]))
    st.html(tv.points("本月要点", data["points"]))


def scorecard_data(view: View) -> tuple[str, pl.DataFrame]:
    """The level of the parts and their scorecard, worst first, with its lights."""
    level = parts_level(view)
    cards = query(scorecard, parts_filter(view))
    return level, (lights(cards, level) if not cards.is_empty() else cards)


def scorecard_view(data: tuple[str, pl.DataFrame]) -> None:
    """The parts' scorecard, worst first, lit red/amber/green by the alert thresholds."""
    level, ordered = data
    if ordered.is_empty():
        st.info("所选月份没有成绩单数据。")
        return
    headers = ["村居" if level == "village" else "子网格", *(label(k) for k in SCORE_KEYS)]
    headers.append(label("rank"))
    rows = []
    for row in ordered.iter_rows(named=True):
        cells = [tv.Cell(row["unit_name"] or "—")]
        for key in SCORE_KEYS:
            text = value_text(key, row[key])
            if key == "fortress_index" and row["stars"]:
                text = f"{text} {row['stars']}"
            cells.append(tv.Cell(text, light=row.get(f"{key}_light"), number=True))
        cells.append(tv.Cell(value_text("rank", row["rank"]), number=True))
        rows.append(cells)
    st.html(tv.table(headers, rows))
    st.html(
        "<div class='tv-note'>最需关注的在前（红色多者先，其次黄色）；红色、黄色为低于预警阈值，"
        f"排名为{label('total')}的名次。</div>"
    )


def alerts_data(view: View) -> pl.DataFrame:
    """The alerts of the scope, red first, owners as the role may see them."""
    return mask_columns(query(alerts, to_filter(view)), "owner")


def alerts_view(frame: pl.DataFrame) -> None:
    """预警: red first, each with its unit, owner and reason; what does not fit is counted."""
    if frame.is_empty():
        st.success("所选期间没有需要预警的村居或子网格。")
        return
    shown = frame.head(ALERTS_SHOWN)
    rows = [
        [
            tv.Cell(r["level"], dot=LEVEL_COLOURS.get(r["level"])),
            tv.Cell(r["village_name"] or "—"),
            tv.Cell(r["subgrid_name"] or "—"),
            tv.Cell(f"{r['owner_role']} {r['owner'] or '（空缺）'}"),
            tv.Cell(r["message"] or "—", wrap=True),
        ]
        for r in shown.iter_rows(named=True)
    ]
    st.html(tv.table(["级别", "村居", "子网格", "责任人", "原因"], rows))
    counts = frame["level"].value_counts()
    count = dict(zip(counts["level"], counts["count"], strict=True))
    more = frame.height - shown.height
    tail = f"；另有 {more} 条，详见“总览”" if more > 0 else ""
    st.html(
        f"<div class='tv-note'>红色 {count.get('红色', 0)} 条，黄色 {count.get('黄色', 0)} 条"
        f"{tail}。</div>"
    )


def map_data(view: View) -> dict:
    """The map of the parts coloured by the 堡垒指数, built, and its legend."""
    level = parts_level(view)
    values = query(scorecard, to_filter(view, level))
    features, _ = query(boundaries, level, view.village_id)
    places = query(service_points, view.village_id)
    units = query(subgrids, view.village_id) if level == "subgrid" else query(villages)
    polygons, edges = map_polygons(features, values, MAP_METRIC, level)
    centre, zoom = fit_view(features, MAP_WIDTH, MAP_HEIGHT)
    deck = build_deck(
        polygons, point_records(places), label_records(units), TOOLTIP_HTML, centre, zoom
    )
    # No base map: build_deck's style (ui.map.BLANK_STYLE_URL), the page map's too.
    for layer in deck.layers:
        if layer.id == LABEL_LAYER_ID:
            layer.get_size = 26  # the page map's 14 px cannot be read across a room
    has_missing = any(p["value"] is None for p in polygons)
    legend = legend_html(MAP_METRIC, edges, has_missing)
    return {"deck": deck, "legend": legend, "key": f"tv_map_{level}"}


def map_view(data: dict) -> None:
    """The map with the legend in the screen's type."""
    map_col, legend_col = st.columns([5, 1])
    map_col.pydeck_chart(data["deck"], height=MAP_HEIGHT, key=data["key"])
    legend_col.html(f"<div class='tv-legend'>{data['legend']}</div>")


def draw_page() -> None:
    view = session.current_view()
    seconds, link_notice = tv.seconds_per_view()
    tv.enter_tv_mode()
    parts = "各村居" if parts_level(view) == "village" else "各子网格"
    views = [
        tv.TvView("关键指标", lambda: kpi_data(view), kpi_view),
        tv.TvView(f"{parts}成绩单", lambda: scorecard_data(view), scorecard_view),
        tv.TvView("预警", lambda: alerts_data(view), alerts_view),
        tv.TvView(f"{label(MAP_METRIC)}地图", lambda: map_data(view), map_view),
    ]
    scope = f"{village_name(view.village_id)} · {range_label(view.start, view.end)}"
    tv.rotate(views, seconds, scope)
    if link_notice:
        tv.notice(link_notice)
    left, right = st.container(key=tv.FOOTER_KEY).columns([6, 1])
    left.caption(f"会议室大屏 · 每 {seconds} 秒切换")
    right.page_link(
        page_path("overview"),
        label=tv.EXIT_LABEL,
        icon=":material/close_fullscreen:",
        query_params=to_params(view),
    )


draw_page()
