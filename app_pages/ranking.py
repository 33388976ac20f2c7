"""考核排名: the four areas, deductions, total and rank of villages or sub-grids.

Decisions: the village ranking always covers the whole town (ranking one village
alone says nothing) and marks the view's village; the sub-grid ranking covers the
view's village when one is chosen (rank within the village, with the town-wide rank
beside it), else all sub-grids of the town. Rank change compares with the equally
long range just before (``assessment.rank_change``; for one month, the month before).
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from metrics import Filter, batch, default_config
from metrics.assessment import assessment, assessment_components, rank_change, town_ranks
from metrics.explain import COMPONENT_LABELS, explain
from metrics.registry import subgrids
from ui.charts_b import (
    SUBGRID_HANDOFF,
    chart_export,
    pending_pop,
    pickable_table,
    rank_change_text,
)
from ui.db import query
from ui.filters import View, drill_to
from ui.page import PAGE_BY_KEY, current_view, page_header, village_names
from ui.text import html_text, plain
from ui.widgets import chart, empty_notice, method_note, table

LEVEL_LABELS = {"village": "村居", "subgrid": "子网格"}
PENDING_ROW = "_ranking_row"

view = current_view()
names = village_names()
areas = default_config().assessment.areas
area_headers = {a.key: f"{a.label}（{a.points:g}分）" for a in areas}

page_header("考核排名")
level = st.radio(
    "排名对象",
    list(LEVEL_LABELS),
    format_func=LEVEL_LABELS.get,
    horizontal=True,
    key="ranking_level",
)
scope_village = view.village_id if level == "subgrid" else None
f = Filter(view.start, view.end, level, scope_village)
with batch():
    ranked = query(assessment, f)
    moves = query(rank_change, f)
    town_wide = (
        query(town_ranks, Filter(view.start, view.end, "subgrid", scope_village))
        if scope_village
        else None
    )
    if level == "village":
        # Ranks among all 14 villages, also for a 村居书记 who sees only their own row.
        moves = query(town_ranks, f)
        ranked = ranked.drop("rank").join(moves.select("unit_id", "rank"), on="unit_id", how="left")
    grid_info = query(subgrids, scope_village) if level == "subgrid" else None

if level == "village":
    marked = f"；{plain(names.get(view.village_id))}以 ▶ 标出" if view.village_id else ""
    st.caption(f"村居排名：全镇各村居{marked}。")
elif scope_village:
    st.caption(f"子网格排名：{plain(names.get(scope_village))}内各子网格（另列全镇名次）。")
else:
    st.caption("子网格排名：全镇各子网格。")

if ranked.is_empty():
    empty_notice("考核数据")
else:
    frame = ranked.join(
        moves.select("unit_id", "previous_rank", "rank_change"), on="unit_id", how="left"
    )
    exprs = [pl.col("rank").alias("名次")]
    if level == "village" and view.village_id:
        marked = (
            pl.when(pl.col("unit_id") == view.village_id).then(pl.lit("▶ ")).otherwise(pl.lit(""))
        )
        exprs.append((marked + pl.col("unit_name")).alias("村居"))
    else:
        exprs.append(pl.col("unit_name").alias(LEVEL_LABELS[level]))
    if level == "subgrid":
        village_of = dict(grid_info.select("subgrid_id", "village_name").iter_rows())
        exprs.append(pl.col("unit_id").replace_strict(village_of, default=None).alias("所属村居"))
    exprs += [
        pl.col("total").round(2).alias("总分"),
        pl.col("rank_change")
        .map_elements(rank_change_text, return_dtype=pl.String, skip_nulls=False)
        .alias("名次变化"),
        pl.col("previous_rank").alias("上期名次"),
    ]
    if town_wide is not None:
        town_rank = dict(town_wide.select("unit_id", "rank").iter_rows())
        exprs.append(pl.col("unit_id").replace_strict(town_rank, default=None).alias("全镇名次"))
    exprs += [pl.col(a.key).round(2).alias(area_headers[a.key]) for a in areas]
    exprs += [pl.col("deductions").round(2).alias("反向扣分"), pl.col("unit_id").alias("编号")]
    shown = frame.sort("rank", "unit_id").select(exprs)
    st.subheader(f"{LEVEL_LABELS[level]}考核排名")
    # A click on a row (previous run) opens 村居详情 of that village / sub-grid's village.
    row = pending_pop(PENDING_ROW)
    if row is not None and row < shown.height:
        unit = shown["编号"][row]
        if level == "subgrid":
            st.session_state[SUBGRID_HANDOFF] = unit
            unit = grid_info.filter(pl.col("subgrid_id") == unit)["village_id"][0]
        drill_to(PAGE_BY_KEY["village"].path, View(view.start, view.end, unit))
    # Show every village without scrolling; sub-grids scroll.
    height = 38 + 35 * shown.height if shown.height <= 20 else None
    pickable_table(
        shown,
        f"考核排名_{LEVEL_LABELS[level]}",
        key=f"ranking_table_{level}",
        pending_key=PENDING_ROW,
        height=height,
    )
    st.caption("勾选表格左侧的选择框，查看该村居（子网格则为其所属村居）的详情。")

    # Stacked bars: the four areas, deductions below zero, best at the top.
    st.markdown("**四个方面得分、反向扣分与总分**")
    order = frame.sort("rank", "unit_id")
    labels = order["unit_name"].to_list()
    if level == "subgrid" and not scope_village:
        labels = [
            f"{village_of.get(u, '')}{n}" for u, n in zip(order["unit_id"], labels, strict=True)
        ]
    labels = [html_text(label) for label in labels]  # Plotly reads tags in axis text
    figure = go.Figure()
    for a in areas:
        figure.add_trace(
            go.Bar(
                y=labels,
                x=order[a.key].round(2).to_list(),
                name=a.label,
                orientation="h",
                hovertemplate="%{y}<br>" + a.label + "：%{x:.2f}<extra></extra>",
            )
        )
    figure.add_trace(
        go.Bar(
            y=labels,
            x=(-order["deductions"]).round(2).to_list(),
            name="反向扣分",
            orientation="h",
            marker_color="#6C757D",
            hovertemplate="%{y}<br>反向扣分：%{x:.2f}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            y=labels,
            x=order["total"].round(2).to_list(),
            name="总分",
            mode="markers",
            marker={"symbol": "diamond", "size": 9, "color": "#222"},
            hovertemplate="%{y}<br>总分：%{x:.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        barmode="relative",
        yaxis={"autorange": "reversed", "type": "category"},
        xaxis={"title": "分"},
    )
    chart(figure, key="ranking_bars", height=max(320, 22 * len(labels) + 120))
    chart_export(shown, f"考核排名图_{LEVEL_LABELS[level]}", key="ranking_bars_export")

    # How one unit's areas were built.
    with st.expander("单位得分构成", expanded=False):
        units = dict(order.select("unit_id", "unit_name").iter_rows())
        default = view.village_id if level == "village" and view.village_id in units else None
        unit = st.selectbox(
            "单位",
            list(units),
            index=list(units).index(default) if default else 0,
            format_func=lambda u: units[u],
            key=f"ranking_unit_{level}",
        )
        parts = query(assessment_components, f)
        parts = parts.filter(pl.col("unit_id") == unit) if not parts.is_empty() else parts
        if parts.is_empty():
            empty_notice("得分构成")
        else:
            table(
                parts.select(
                    pl.col("area_label").alias("方面"),
                    pl.col("area_points").alias("分值"),
                    pl.col("component")
                    .replace_strict(COMPONENT_LABELS, default=None)
                    .alias("指标"),
                    pl.col("weight").alias("权重"),
                    (pl.col("value") * 100).round(1).alias("指标值（%）"),
                    pl.col("score").round(2).alias("方面得分"),
                ),
                f"得分构成_{units[unit]}",
                key="ranking_parts",
            )
            st.caption("指标值为空表示本期无可计量数据，该指标不计，其余按权重折算。")

method_note(
    explain("assessment") + "\n\n名次变化：与紧邻的等长期间相比（单月即与上月相比），↑ 为上升。"
)
