"""网格覆盖 (制度落实): the sub-grid × requirement heat map of one month, the units
compared over the range, and a drill-down to 村居详情 (see docs/pages.md, 网格覆盖).

Decisions:
* The heat map shows one data month of the range (a picker, default the last). A
  cell is green when the sub-grid met that requirement that month; its number is how
  many activities of that type it held. Village-level requirements (网格工作例会) have
  no sub-grid row: the villages that missed one are named under the map.
* "Compared" means the villages of the town, or the sub-grids of the chosen village,
  over the whole range (制度达标项占比 and 制度落实率).
* Drill-down: clicking a village's bar, or choosing it in the box below the chart,
  opens 村居详情 for that village with the same range; clicking a heat-map cell opens
  子网格详情 of its sub-grid.
"""

from collections.abc import Sequence
from datetime import date

import polars as pl
import streamlit as st

from metrics import batch, coverage, explain, registry
from metrics.filters import LEVEL_LABELS
from metrics.glossary import label
from store.months import month_label
from ui import session
from ui.charts.bars import rate_bars
from ui.charts.cell_picks import pickable_cells
from ui.charts.heatmaps import requirement_heatmap, split_by_village
from ui.charts.look import draw, titled_chart
from ui.completeness_banner import unreported_banner
from ui.db import query
from ui.exports import export_buttons
from ui.filters import View, drill_to_village, months_in, parts_filter, to_filter
from ui.names import subgrid_labels
from ui.subgrid_link import drill_to_listed_subgrid
from ui.tables import labelled, rows_height, show_table
from ui.text import plain
from ui.widgets import empty_notice, method_note, metric_card, page_header

MONTH_KEY = "coverage_month"
CLICKED_KEY = "coverage_clicked_village"
CHART_KEY = "coverage_compare_chart"
CELL_KEY = "_coverage_clicked_subgrid"
MATRIX_COLUMNS = (
    "unit_id",
    ("unit_label", "unit_name"),
    "level_label",
    ("label", "requirement"),
    "min_count",
    "held",
    "months_met",
)
COMPARE_COLUMNS = (
    "unit_id",
    "unit_name",
    "months",
    "due",
    "met",
    ("coverage", "activity_coverage"),
    "subgrid_months",
    "compliant",
    "compliant_share",
)


def remember_click() -> None:
    """on_select callback: keep the clicked village for the script to drill into.

    A callback cannot switch pages itself; the script does it once and forgets it,
    so coming back to this page never re-triggers the drill-down.
    """
    points = session.value(CHART_KEY).selection.points
    if points and points[0].get("customdata"):
        session.put(CLICKED_KEY, points[0]["customdata"][0])


def remember_cell(key: str) -> None:
    """on_select of a heat map: keep the clicked cell's sub-grid (last in customdata)."""
    points = session.value(key).selection.points
    if points and points[0].get("customdata"):
        session.put(CELL_KEY, points[0]["customdata"][-1])


def pick_month(months: Sequence[date]) -> date:
    """The month of the heat map: the range's last unless the user chose another."""
    if session.value(MONTH_KEY) not in months:
        session.put(MONTH_KEY, months[-1])  # the range changed: default to its end
    return st.columns([1, 3])[0].selectbox("月份", months, key=MONTH_KEY, format_func=month_label)


def month_cards(summary: dict) -> None:
    cols = st.columns(3)
    metric_card(cols[0], "activity_coverage", summary["coverage"], help="已达项 ÷ 应达项")
    cols[1].metric("全部达标的子网格", f"{summary['compliant']} / {summary['subgrid_months']}")
    metric_card(cols[2], "compliant_share", summary["compliant_share"])


def heat_maps(cells: pl.DataFrame, labels: dict[str, str], month: date, view: View) -> None:
    """The sub-grids' heat map; the town's 89 rows go into two maps side by side
    (villages kept whole)."""
    ids = list(labels)
    village_of = dict(zip(cells["unit_id"], cells["village_id"], strict=True))
    runs = split_by_village(ids, village_of, 1 if view.village_id else 2)
    st.markdown(f"**{month_label(month)} 各子网格制度落实情况**")
    for i, (column, run) in enumerate(zip(st.columns(len(runs)), runs, strict=True)):
        with column:
            part = cells.filter(pl.col("unit_id").is_in(run))
            figure = pickable_cells(requirement_heatmap(part, [labels[u] for u in run]), run)
            key = f"coverage_heatmap_{i}"
            draw(
                figure,
                key=key,
                height=max(260, 19 * len(run) + 60),
                on_select=lambda key=key: remember_cell(key),
                selection_mode="points",
            )
    st.caption(
        "绿色 = 已达标，粉色 = 未达标；格中数字为当月已开展的次数。点击格子查看该子网格详情。"
    )


def village_requirements(matrix: pl.DataFrame) -> None:
    """Village-level requirements: met by all, or the villages that missed one."""
    village_rows = matrix.filter(pl.col("level") == "village")
    if village_rows.is_empty():
        return
    required = "、".join(village_rows["label"].unique(maintain_order=True).to_list())
    missed = village_rows.filter(pl.col("months_met") < pl.col("months"))
    if missed.is_empty():
        st.success(f"村居层面要求（{required}）：本月全部达标。")
    else:
        who = "、".join(plain(n) for n in missed["unit_name"].unique(maintain_order=True))
        st.warning(f"村居层面要求（{required}）本月未达标：{who}。")


def month_section(view: View, months: list[date], subgrids: pl.DataFrame) -> None:
    """子网格 × 制度要求（单月）: cards, heat maps, village requirements, export."""
    st.subheader("子网格 × 制度要求（单月）")
    month = pick_month(months)
    month_filter = to_filter(view, start=month)
    with batch():
        matrix = query(coverage.coverage_matrix, month_filter)
        summary = query(coverage.coverage_summary, month_filter)
    cells = matrix.filter(pl.col("level") == "subgrid")
    if summary.is_empty() or cells.is_empty():
        empty_notice(f"{month_label(month)}的活动台账数据")
        return
    month_cards(summary.row(0, named=True))
    ids = cells["unit_id"].unique(maintain_order=True).to_list()
    names = subgrid_labels(ids, subgrids, with_village=not view.village_id)
    labels = dict(zip(ids, names, strict=True))
    heat_maps(cells, labels, month, view)
    village_requirements(matrix)
    export_frame = matrix.with_columns(
        unit_label=pl.col("unit_id").replace_strict(labels, default=pl.col("unit_name")),
        level_label=pl.col("level").replace_strict(LEVEL_LABELS),
    )
    export_buttons(
        labelled(export_frame, MATRIX_COLUMNS), f"网格覆盖_{month:%Y-%m}", key="coverage_matrix"
    )


def comparison(view: View, subgrids: pl.DataFrame) -> None:
    """各村居 (or 各子网格) 比较（全期）: bars (a village's bar drills down) and table."""
    compared = query(coverage.coverage_summary, parts_filter(view))
    st.subheader("各子网格比较（全期）" if view.village_id else "各村居比较（全期）")
    if compared.is_empty():
        empty_notice("可比较的数据")
        return
    ordered = compared.sort("compliant_share", "coverage", descending=True, nulls_last=True)
    ids = ordered["unit_id"].to_list()
    names = (
        subgrid_labels(ids, subgrids, with_village=False)
        if view.village_id
        else ordered["unit_name"].to_list()
    )
    series = [
        (ordered["coverage"].to_list(), label("activity_coverage")),
        (ordered["compliant_share"].to_list(), label("compliant_share")),
    ]
    figure = rate_bars(names, ids, series)
    title = f"{label('activity_coverage')}与{label('compliant_share')}"
    if view.village_id:
        titled_chart(figure, title, key=CHART_KEY)
    else:
        st.markdown(f"**{title}**（点击柱子进入该村居详情）")
        draw(figure, key=CHART_KEY, on_select=remember_click, selection_mode="points")
    show_table(
        compared,
        COMPARE_COLUMNS,
        "网格覆盖_比较",
        key="coverage_compare",
        height=rows_height(compared.height),
    )


def drill_down(view: View, names: dict[str, str]) -> None:
    """下钻：村居详情 — a village picker and its button."""
    st.subheader("下钻：村居详情")
    left, right = st.columns([2, 1])
    options = list(names)
    default = options.index(view.village_id) if view.village_id in names else 0
    target = left.selectbox(
        "选择村居",
        options,
        index=default,
        key="coverage_drill_village",
        format_func=lambda v: names.get(v, v),
    )
    right.markdown("&nbsp;")  # align the button with the box
    if right.button("查看村居详情", key="coverage_drill_go", icon=":material/arrow_forward:"):
        drill_to_village(view, target)


def draw_page() -> None:
    page_header("网格覆盖")
    view = session.current_view()
    unreported_banner(view)
    names = session.village_names()
    clicked = session.take(CLICKED_KEY)
    if clicked in names:
        drill_to_village(view, clicked)
    cell = session.take(CELL_KEY)
    if cell:
        drill_to_listed_subgrid(view, cell, query(registry.subgrids))
    months = months_in(query(registry.data_months), view)
    if not months:
        empty_notice("活动台账数据")
    else:
        subgrids = query(registry.subgrids)
        month_section(view, months, subgrids)
        comparison(view, subgrids)
        drill_down(view, names)
    method_note(explain.explain("coverage"))


draw_page()
