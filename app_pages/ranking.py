"""考核排名: the four areas, deductions, total and rank of villages or sub-grids (see
docs/pages.md, 考核排名).

Decisions: the village ranking always covers the whole town (ranking one village
alone says nothing) and marks the view's village; the sub-grid ranking covers the
view's village when one is chosen (rank within the village, with the town-wide rank
beside it), else all sub-grids of the town. Rank change compares with the equally
long range just before (``assessment.rank_change``; for one month, the month before).
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from metrics import batch, default_config
from metrics.assessment import assessment, assessment_components, rank_change, town_ranks
from metrics.explain import COMPONENT_LABELS, explain
from metrics.filters import LEVEL_LABELS
from metrics.glossary import area_header, label
from metrics.registry import subgrids
from store.python_values import mapped
from ui import session
from ui.charts.bars import score_bars
from ui.charts.look import chart
from ui.completeness_banner import unreported_banner
from ui.db import query
from ui.exports import chart_export
from ui.filters import View, drill_to_village, to_filter
from ui.format import rank_change_text
from ui.names import village_name
from ui.subgrid_link import drill_to_subgrid
from ui.tables import Column, labelled, rows_height, show_table
from ui.text import plain
from ui.widgets import empty_notice, level_picker, method_note, page_header

LEVEL_NAMES = {"village": "village_name", "subgrid": "subgrid_name"}  # glossary keys
PENDING_ROW = "_ranking_row"
PARTS_COLUMNS = (
    "area_label",
    "area_points",
    ("component_label", "metric"),
    "weight",
    ("value", "component_value"),
    ("score", "area_score"),
)
METHOD_EXTRA = f"{label('rank_change')}：与紧邻的等长期间相比（单月即与上月相比），↑ 为上升。"


def scope_caption(level: str, view: View, scope_village: str | None) -> None:
    if level == "village":
        marked = f"；{plain(village_name(view.village_id))}以 ▶ 标出" if view.village_id else ""
        st.caption(f"村居排名：全镇各村居{marked}。")
    elif scope_village:
        st.caption(
            f"子网格排名：{plain(village_name(scope_village))}内各子网格"
            f"（另列{label('town_rank')}）。"
        )
    else:
        st.caption("子网格排名：全镇各子网格。")


def table_columns(level: str, with_town_rank: bool) -> list[Column]:
    """The ranking table: rank, unit, (its village), total, change, areas, deductions."""
    areas = default_config().assessment.areas
    columns: list[Column] = ["rank", ("shown_name", LEVEL_NAMES[level])]
    if level == "subgrid":
        columns.append("owning_village")
    columns += ["total", ("change_text", "rank_change"), "previous_rank"]
    if with_town_rank:
        columns.append("town_rank")
    columns += [(a.key, "area_score", area_header(a.label, a.points)) for a in areas]
    return [*columns, "deductions", "unit_id"]


def ranked_frame(
    ranked: pl.DataFrame, moves: pl.DataFrame, view: View, level: str, extra: dict
) -> pl.DataFrame:
    """The assessment in rank order with what the table shows beside it: the unit's
    name (the view's village marked ▶), its village, rank change, the town-wide rank."""
    frame = ranked.join(
        moves.select("unit_id", "previous_rank", "rank_change"), on="unit_id", how="left"
    )
    name = pl.col("unit_name")
    if level == "village" and view.village_id:
        name = pl.when(pl.col("unit_id") == view.village_id).then(pl.lit("▶ ")).otherwise(
            pl.lit("")
        ) + pl.col("unit_name")
    unit = pl.col("unit_id")
    ordered = frame.sort("rank", "unit_id", nulls_last=True)  # 未报送: no rank, listed last
    return ordered.with_columns(
        mapped(
            ordered["rank_change"],
            rank_change_text,
            pl.String,
            name="change_text",
            skip_nulls=False,
        ),
        shown_name=name,
        owning_village=unit.replace_strict(extra["village_of"], default=None),
        town_rank=unit.replace_strict(extra["town_rank"], default=None),
    )


def drill_on_pick(order: pl.DataFrame, level: str, grid_info, view: View) -> None:
    """A click on a row (previous run) opens 村居详情 of that village, or 子网格详情 of
    that sub-grid."""
    row = session.take(PENDING_ROW)
    if row is None or row >= order.height:
        return
    unit = order["unit_id"][row]
    if level == "subgrid":
        village = grid_info.filter(pl.col("subgrid_id") == unit)["village_id"][0]
        drill_to_subgrid(view, unit, village)
    else:
        drill_to_village(view, unit)


def score_chart(order: pl.DataFrame, level: str, scope_village, village_of, shown) -> None:
    """四个方面得分、反向扣分与考核总分 as stacked bars, best at the top."""
    st.markdown(f"**四个方面得分、{label('deductions')}与{label('total')}**")
    names = order["unit_name"].to_list()
    if level == "subgrid" and not scope_village:
        names = [
            f"{village_of.get(u, '')}{n}" for u, n in zip(order["unit_id"], names, strict=True)
        ]
    areas = [(a.key, a.label) for a in default_config().assessment.areas]
    chart(
        score_bars(order, names, areas), key="ranking_bars", height=max(320, 22 * len(names) + 120)
    )
    chart_export(shown, f"考核排名图_{LEVEL_LABELS[level]}", key="ranking_bars_export")


def score_parts(order: pl.DataFrame, level: str, view: View, f) -> None:
    """单位得分构成: how one unit's areas were built from their components."""
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
            return
        parts = parts.with_columns(
            component_label=pl.col("component").replace_strict(COMPONENT_LABELS, default=None)
        )
        show_table(parts, PARTS_COLUMNS, f"得分构成_{units[unit]}", key="ranking_parts")
        st.caption("指标值为空表示本期无可计量数据，该指标不计，其余按权重折算。")


def draw_page() -> None:
    view = session.current_view()
    page_header("考核排名")
    unreported_banner(view)
    level = level_picker("排名对象", "ranking_level")
    scope_village = view.village_id if level == "subgrid" else None
    f = to_filter(view, level, village_id=scope_village)
    with batch():
        ranked = query(assessment, f)
        moves = query(rank_change, f)
        town_wide = query(town_ranks, to_filter(view, "subgrid")) if scope_village else None
        if level == "village":
            # Ranks among all 14 villages, also for a 村居书记 who sees only their own row.
            moves = query(town_ranks, f)
            ranked = ranked.drop("rank").join(
                moves.select("unit_id", "rank"), on="unit_id", how="left"
            )
        grid_info = query(subgrids, scope_village) if level == "subgrid" else None
    scope_caption(level, view, scope_village)
    if ranked.is_empty():
        empty_notice("考核数据")
    else:
        village_of = {}
        if grid_info is not None:
            village_of = dict(grid_info.select("subgrid_id", "village_name").iter_rows())
        town_rank = {} if town_wide is None else dict(town_wide.select("unit_id", "rank").rows())
        extra = {"village_of": village_of, "town_rank": town_rank}
        order = ranked_frame(ranked, moves, view, level, extra)
        columns = table_columns(level, town_wide is not None)
        st.subheader(f"{LEVEL_LABELS[level]}{label('rank')}")
        drill_on_pick(order, level, grid_info, view)
        # Show every village without scrolling; sub-grids scroll.
        height = rows_height(order.height, cap=20) if order.height <= 20 else None
        show_table(
            order,
            columns,
            f"考核排名_{LEVEL_LABELS[level]}",
            key=f"ranking_table_{level}",
            height=height,
            pick_into=PENDING_ROW,
        )
        st.caption("勾选表格左侧的选择框，查看该村居或子网格的详情。")
        score_chart(order, level, scope_village, village_of, labelled(order, columns))
        score_parts(order, level, view, f)
    method_note(explain("assessment") + "\n\n" + METHOD_EXTRA)


draw_page()
