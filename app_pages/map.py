"""两个指数地图: villages or sub-grids coloured by an index or rate; click to drill down.

The map needs no internet: our own boundary polygons, service stations/points and
labels, no base map (``map_provider=None``). With a village in the view the map shows
that village's sub-grids. A click on a polygon or marker opens 村居详情 for its village
(a sub-grid click also preselects the sub-grid there). The click is taken from the
chart's ``on_select`` callback rather than from its returned state, so that a
selection left over from an earlier visit never drills down again by itself.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from metrics import Filter, batch
from metrics.explain import explain
from metrics.indices import vanguard_members
from metrics.overview import scorecard
from metrics.registry import boundaries, service_points, subgrids, villages
from ui.charts_b import (
    MAP_METRICS,
    SUBGRID_HANDOFF,
    TOOLTIP_HTML,
    add_village_outlines,
    fit_view,
    label_records,
    legend_html,
    map_polygons,
    mask_names,
    member_index_columns,
    pending_pop,
    point_records,
    scorecard_table,
    selection_target,
)
from ui.db import query
from ui.filters import View, drill_to
from ui.map import build_deck
from ui.page import PAGE_BY_KEY, current_view, page_header, village_names
from ui.text import plain
from ui.widgets import empty_notice, method_note, table

LEVEL_LABELS = {"village": "村居", "subgrid": "子网格"}
MAP_KEY_PREFIX = "index_map"
PENDING_CLICK = "_index_map_click"
VILLAGE_PAGE = PAGE_BY_KEY["village"].path


def _remember_click(key: str) -> None:
    """on_select callback: runs only when the user picks something new."""
    state = st.session_state.get(key)
    st.session_state[PENDING_CLICK] = dict(state["selection"]) if state else None


view = current_view()

# A click from the previous run: drill down before drawing anything.
target = selection_target(pending_pop(PENDING_CLICK))
if target:
    village_id, subgrid_id = target
    if subgrid_id:
        st.session_state[SUBGRID_HANDOFF] = subgrid_id
    drill_to(VILLAGE_PAGE, View(view.start, view.end, village_id))

page_header("两个指数地图")

left, right = st.columns([2, 3])
metric = left.selectbox(
    "着色指标",
    list(MAP_METRICS),
    format_func=lambda k: MAP_METRICS[k].label,
    key="map_metric",
)
if view.village_id:
    level = "subgrid"
    right.caption(f"已选村居：显示{plain(village_names().get(view.village_id))}的各子网格。")
else:
    level = right.radio(
        "地图层级",
        list(LEVEL_LABELS),
        format_func=LEVEL_LABELS.get,
        horizontal=True,
        key="map_level",
    )

f = Filter(view.start, view.end, level, view.village_id)
with batch():
    values = query(scorecard, f)
    features, illustrative = query(boundaries, level, view.village_id)
    points = query(service_points, view.village_id)
    if level == "subgrid" and view.village_id:
        label_units = query(subgrids, view.village_id)
    else:
        label_units = query(villages)
        if view.village_id:
            label_units = label_units.filter(pl.col("village_id") == view.village_id)

polygons, edges = map_polygons(features, values, metric, level)
centre, zoom = fit_view(features)
deck = build_deck(
    polygons, point_records(points), label_records(label_units), TOOLTIP_HTML, centre, zoom
)
if level == "subgrid":
    add_village_outlines(deck, query(boundaries, "village", view.village_id)[0])

if values.is_empty():
    empty_notice("指数数据（地图以灰色显示各单位）")

map_col, legend_col = st.columns([5, 1])
with map_col:
    map_key = f"{MAP_KEY_PREFIX}_{level}_{view.village_id or 'town'}"
    st.pydeck_chart(
        deck,
        on_select=lambda: _remember_click(map_key),
        selection_mode="single-object",
        key=map_key,
        height=560,
    )
with legend_col:
    has_missing = any(p["value"] is None for p in polygons)
    st.markdown(legend_html(metric, edges, has_missing), unsafe_allow_html=True)
    st.caption("点击地图上的区域或标记，进入村居详情。")

if illustrative:
    st.caption(
        "⚠️ 地图边界为示意数据（目前没有公开的村居边界），仅表示相对位置，不代表实际辖区。"
        "如有真实边界，请在“数据上传”页上传 GeoJSON 文件（WGS84 坐标，要素属性含 level"
        "（village/subgrid）、unit_id、name）替换。"
    )

# The values the map shows, for reading and export.
st.subheader(f"各{LEVEL_LABELS[level]}{MAP_METRICS[metric].label}")
if values.is_empty():
    empty_notice()
else:
    names = {feat["properties"]["unit_id"]: feat["properties"]["display_name"] for feat in features}
    shown = values.sort(metric, descending=True, nulls_last=True)
    table(
        scorecard_table(shown, LEVEL_LABELS[level], names=names or None),
        f"两个指数地图_{LEVEL_LABELS[level]}",
        key="map_values",
    )

# 先锋指数 of each member of one village (names masked).
st.subheader("党员先锋指数（逐人）")
names_by_id = village_names()
member_village = view.village_id or st.selectbox(
    "选择村居查看党员先锋指数",
    list(names_by_id),
    index=None,
    placeholder="请选择村居…",
    format_func=lambda v: names_by_id.get(v, v),
    key="map_member_village",
)
if not member_village:
    st.info("选择一个村居（或在左侧筛选中选定村居）即可查看其党员的先锋指数。")
else:
    members = query(vanguard_members, Filter(view.start, view.end, "village", member_village))
    if members.is_empty():
        empty_notice("党员先锋指数")
    else:
        sub_names = dict(query(subgrids, member_village).select("subgrid_id", "name").iter_rows())
        shown = mask_names(members.sort("vanguard_index", descending=True, nulls_last=True))
        table(
            shown.select(
                *member_index_columns(sub_names), pl.col("months_on_roll").alias("在册月数")
            ),
            f"党员先锋指数_{names_by_id.get(member_village, member_village)}",
            key="map_members",
        )

method_note(
    "\n\n".join(
        [
            "**颜色**：按所选指标把各单位的取值等距分为 6 档，颜色越深取值越高；灰色表示所选"
            "范围内没有数据。",
            *(
                explain(topic)
                for topic in ("fortress", "vanguard", "coverage", "study", "response")
            ),
        ]
    )
)
