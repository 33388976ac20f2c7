"""两个指数地图: villages or sub-grids coloured by an index or rate; click to drill down
(see docs/pages.md, 两个指数地图).

The map needs no internet: our own boundary polygons, service stations/points and
labels, no base map (``map_provider=None``). With a village in the view the map shows
that village's sub-grids. A click on a sub-grid opens 子网格详情; on a village or a
marker, 村居详情 for its village. The click is taken from the
chart's ``on_select`` callback rather than from its returned state, so that a
selection left over from an earlier visit never drills down again by itself.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from metrics import batch
from metrics.config import default_config
from metrics.explain import explain
from metrics.filters import LEVEL_LABELS
from metrics.glossary import label
from metrics.indices import vanguard_members
from metrics.overview import scorecard
from metrics.registry import boundaries, service_points, subgrids, villages
from ui import session
from ui.completeness_banner import unreported_banner
from ui.db import query
from ui.filters import View, drill_to_village, to_filter
from ui.map import add_village_outlines, build_deck, fit_view, selection_target
from ui.map_records import (
    MAP_METRICS,
    TOOLTIP_HTML,
    band_edges,
    label_records,
    legend_html,
    map_polygons,
    point_records,
)
from ui.names import village_name
from ui.privacy import mask_columns
from ui.subgrid_link import drill_to_subgrid
from ui.tables import MEMBER_INDEX, scorecard_columns, show_table
from ui.text import plain
from ui.widgets import empty_notice, level_picker, method_note, page_header

LEVEL_NAMES = {"village": "village_name", "subgrid": "subgrid_name"}  # glossary keys
MAP_KEY_PREFIX = "index_map"
PENDING_CLICK = "_index_map_click"
COLOURING = (
    "**颜色**：堡垒指数按星级分档（与星级一致）；比率类指标按固定档位分档"
    "（40%、55%、70%、85%）；其他指标把各单位的取值等距分为 6 档。颜色越深取值越高，"
    "图例注明哪一端更好；灰色表示所选范围内没有数据（含未报送）。"
)


def remember_click(key: str) -> None:
    """on_select callback: runs only when the user picks something new."""
    state = session.value(key)
    session.put(PENDING_CLICK, dict(state["selection"]) if state else None)


def choose_metric_and_level(view: View) -> tuple[str, str]:
    """The colour-by metric and the map level (sub-grids when a village is chosen)."""
    left, right = st.columns([2, 3])
    metric = left.selectbox("着色指标", MAP_METRICS, format_func=label, key="map_metric")
    if view.village_id:
        right.caption(f"已选村居：显示{plain(village_name(view.village_id))}的各子网格。")
        return metric, "subgrid"
    level = level_picker("地图层级", "map_level", right)
    return metric, level


def label_units(view: View, level: str) -> pl.DataFrame:
    """The units labelled on the map: a chosen village's sub-grids, else villages."""
    if level == "subgrid" and view.village_id:
        return query(subgrids, view.village_id)
    units = query(villages)
    return units.filter(pl.col("village_id") == view.village_id) if view.village_id else units


def draw_map(
    view: View, metric: str, level: str, values: pl.DataFrame, features, places, named
) -> None:
    """The deck with its legend; a click is remembered for the next run. ``places``
    are the service stations and points, ``named`` the units labelled on the map."""
    stars = default_config().fortress.stars
    fixed = band_edges(metric, stars)
    polygons, edges = map_polygons(features, values, metric, level, fixed)
    names = {float(t.min): t.label for t in stars} if metric == "fortress_index" else None
    centre, zoom = fit_view(features)
    points = point_records(places)
    labels = label_records(named, points=points, zoom=zoom)
    deck = build_deck(polygons, points, labels, TOOLTIP_HTML, centre, zoom)
    if level == "subgrid":
        add_village_outlines(deck, query(boundaries, "village", view.village_id)[0])
    if values.is_empty():
        empty_notice("指数数据（地图以灰色显示各单位）")
    map_col, legend_col = st.columns([5, 1])
    with map_col:
        map_key = f"{MAP_KEY_PREFIX}_{level}_{view.village_id or 'town'}"
        st.pydeck_chart(
            deck,
            on_select=lambda: remember_click(map_key),
            selection_mode="single-object",
            key=map_key,
            height=560,
        )
    with legend_col:
        has_missing = any(p["value"] is None for p in polygons)
        st.markdown(legend_html(metric, edges, has_missing, names), unsafe_allow_html=True)
        if level == "subgrid":
            st.caption("点击子网格进入子网格详情；点击服务站、服务点进入村居详情。")
        else:
            st.caption("点击地图上的区域或标记，进入村居详情。")


def illustrative_notice() -> None:
    st.caption(
        "⚠️ 地图边界为示意数据（目前没有公开的村居边界），仅表示相对位置，不代表实际辖区。"
        "如有真实边界，镇办人员可在“数据上传”页上传边界文件替换（文件格式见该页说明）。"
    )


def values_table(values: pl.DataFrame, features, metric: str, level: str) -> None:
    """The values the map shows, for reading and export, highest first."""
    st.subheader(f"各{LEVEL_LABELS[level]}{label(metric)}")
    if values.is_empty():
        empty_notice()
        return
    names = {f["properties"]["unit_id"]: f["properties"]["display_name"] for f in features}
    shown = values.sort(metric, descending=True, nulls_last=True)
    if names:
        shown = shown.with_columns(unit_name=pl.col("unit_id").replace_strict(names, default=None))
    show_table(
        shown,
        scorecard_columns(LEVEL_NAMES[level]),
        f"两个指数地图_{LEVEL_LABELS[level]}",
        key="map_values",
    )


def member_indices(view: View) -> None:
    """先锋指数 of each member of one village (names as the role may see them)."""
    st.subheader("党员先锋指数（逐人）")
    names = session.village_names()
    member_village = view.village_id or st.selectbox(
        "选择村居查看党员先锋指数",
        list(names),
        index=None,
        placeholder="请选择村居…",
        format_func=lambda v: names.get(v, v),  # names read now: see village.py
        key="map_member_village",
    )
    if not member_village:
        st.info("选择一个村居（或在左侧筛选中选定村居）即可查看其党员的先锋指数。")
        return
    members = query(vanguard_members, to_filter(view, "village", village_id=member_village))
    if members.is_empty():
        empty_notice("党员先锋指数")
        return
    grid_names = dict(query(subgrids, member_village).select("subgrid_id", "name").iter_rows())
    shown = mask_columns(members, "name").sort("vanguard_index", descending=True, nulls_last=True)
    shown = shown.with_columns(
        subgrid_name=pl.col("subgrid_id").replace_strict(grid_names, default=None)
    )
    show_table(
        shown,
        MEMBER_INDEX,
        f"党员先锋指数_{village_name(member_village)}",
        key="map_members",
    )


def draw_page() -> None:
    view = session.current_view()
    # A click from the previous run: drill down before drawing anything.
    target = selection_target(session.take(PENDING_CLICK))
    if target:
        village, subgrid = target
        if subgrid:
            drill_to_subgrid(view, subgrid, village)
        drill_to_village(view, village)
    page_header("两个指数地图")
    unreported_banner(view)
    metric, level = choose_metric_and_level(view)
    with batch():
        values = query(scorecard, to_filter(view, level))
        features, illustrative = query(boundaries, level, view.village_id)
        places = query(service_points, view.village_id)
        named = label_units(view, level)
    draw_map(view, metric, level, values, features, places, named)
    if illustrative:
        illustrative_notice()
    values_table(values, features, metric, level)
    member_indices(view)
    topics = ("fortress", "vanguard", "coverage", "study", "response")
    method_note("\n\n".join([COLOURING, *(explain(topic) for topic in topics)]))


draw_page()
