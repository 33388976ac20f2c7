"""网格覆盖 (制度落实): the sub-grid × requirement heat map of one month, the units
compared over the range, and a drill-down to 村居详情.

Decisions:
* The heat map shows one data month of the range (a picker, default the last). A
  cell is green when the sub-grid met that requirement that month; its number is how
  many activities of that type it held. Village-level requirements (网格工作例会) have
  no sub-grid row: the villages that missed one are named under the map.
* "Compared" means the villages of the town, or the sub-grids of the chosen village,
  over the whole range (coverage and the share of fully compliant sub-grid-months).
* Drill-down: clicking a village's bar, or choosing it in the box below the chart,
  opens 村居详情 for that village with the same range.
"""

import polars as pl
import streamlit as st

from metrics import batch, coverage, explain, registry
from store.months import month_label
from ui.charts_a import (
    labelled,
    months_in,
    parts_filter,
    rate_bars,
    requirement_heatmap,
    rows_height,
    scope_filter,
    show_table,
    split_by_village,
    subgrid_labels,
    titled_chart,
)
from ui.db import query
from ui.filters import View, drill_to
from ui.format import pct
from ui.page import current_view, page_header, village_names
from ui.text import plain
from ui.widgets import chart, empty_notice, export_buttons, method_note, style

VILLAGE_PAGE = "app_pages/village.py"
MONTH_KEY = "coverage_month"
CLICKED_KEY = "coverage_clicked_village"
MATRIX_COLUMNS = (
    ("unit_id", "编号", "text"),
    ("unit_label", "单位", "text"),
    ("level_label", "层级", "text"),
    ("label", "要求", "text"),
    ("min_count", "应开展（次）", "int"),
    ("held", "已开展（次）", "int"),
    ("months_met", "是否达标（1=是）", "int"),
)
COMPARE_COLUMNS = (
    ("unit_id", "编号", "text"),
    ("unit_name", "单位", "text"),
    ("months", "数据月数", "int"),
    ("due", "应达项", "int"),
    ("met", "已达项", "int"),
    ("coverage", "覆盖率（%）", "pct"),
    ("subgrid_months", "子网格·月", "int"),
    ("compliant", "全达标子网格·月", "int"),
    ("compliant_share", "制度落实率（%）", "pct"),
)


def _remember_click() -> None:
    """on_select callback: keep the clicked village for the script to drill into.

    A callback cannot switch pages itself; the script does it once and forgets it,
    so coming back to this page never re-triggers the drill-down.
    """
    points = st.session_state["coverage_compare_chart"].selection.points
    if points and points[0].get("customdata"):
        st.session_state[CLICKED_KEY] = points[0]["customdata"][0]


page_header("网格覆盖")
view = current_view()
names = village_names()
clicked = st.session_state.pop(CLICKED_KEY, None)
if clicked in names:
    drill_to(VILLAGE_PAGE, View(view.start, view.end, clicked))

months = months_in(query(registry.data_months), view)
subgrids = query(registry.subgrids)

if not months:
    empty_notice("活动台账数据")
    method_note(explain.explain("coverage"))
    st.stop()

st.subheader("子网格 × 制度要求（单月）")
if st.session_state.get(MONTH_KEY) not in months:
    st.session_state[MONTH_KEY] = months[-1]  # the range changed: default to its end
month = st.columns([1, 3])[0].selectbox("月份", months, key=MONTH_KEY, format_func=month_label)
month_filter = scope_filter(view, month, month)
with batch():
    matrix = query(coverage.coverage_matrix, month_filter)
    month_summary = query(coverage.coverage_summary, month_filter)
cells = matrix.filter(pl.col("level") == "subgrid")
if month_summary.is_empty() or cells.is_empty():
    empty_notice(f"{month_label(month)}的活动台账数据")
else:
    s = month_summary.row(0, named=True)
    cols = st.columns(3)
    cols[0].metric("覆盖率（已达项 ÷ 应达项）", pct(s["coverage"]))
    cols[1].metric("全部达标的子网格", f"{s['compliant']} / {s['subgrid_months']}")
    cols[2].metric("制度落实率", pct(s["compliant_share"]))
    ids = cells["unit_id"].unique(maintain_order=True).to_list()
    labels = subgrid_labels(ids, subgrids, with_village=not view.village_id)
    label_of = dict(zip(ids, labels, strict=True))
    # The town's 89 rows go into two maps side by side (villages kept whole).
    village_of = dict(zip(cells["unit_id"], cells["village_id"], strict=True))
    runs = split_by_village(ids, village_of, 1 if view.village_id else 2)
    st.markdown(f"**{month_label(month)} 各子网格制度落实情况**")
    for i, (column, run) in enumerate(zip(st.columns(len(runs)), runs, strict=True)):
        with column:
            part = cells.filter(pl.col("unit_id").is_in(run))
            chart(
                requirement_heatmap(part, [label_of[u] for u in run]),
                key=f"coverage_heatmap_{i}",
                height=max(260, 19 * len(run) + 60),
            )
    st.caption("绿色 = 已达标，粉色 = 未达标；格中数字为当月已开展的次数。")
    village_rows = matrix.filter(pl.col("level") == "village")
    missed = village_rows.filter(pl.col("months_met") < pl.col("months"))
    if not village_rows.is_empty():
        required = "、".join(village_rows["label"].unique(maintain_order=True).to_list())
        if missed.is_empty():
            st.success(f"村居层面要求（{required}）：本月全部达标。")
        else:
            who = "、".join(plain(n) for n in missed["unit_name"].unique(maintain_order=True))
            st.warning(f"村居层面要求（{required}）本月未达标：{who}。")
    export_frame = matrix.with_columns(
        unit_label=pl.col("unit_id").replace_strict(label_of, default=pl.col("unit_name")),
        level_label=pl.col("level").replace_strict({"subgrid": "子网格", "village": "村居"}),
    )
    export_buttons(
        labelled(export_frame, MATRIX_COLUMNS),
        f"网格覆盖_{month:%Y-%m}",
        key="coverage_matrix",
    )

compare_filter = parts_filter(view)
compared = query(coverage.coverage_summary, compare_filter)
st.subheader("各子网格比较（全期）" if view.village_id else "各村居比较（全期）")
if compared.is_empty():
    empty_notice("可比较的数据")
else:
    ordered = compared.sort("compliant_share", "coverage", descending=True, nulls_last=True)
    ids = ordered["unit_id"].to_list()
    unit_names = (
        subgrid_labels(ids, subgrids, with_village=False)
        if view.village_id
        else ordered["unit_name"].to_list()
    )
    figure = rate_bars(
        unit_names,
        ids,
        [
            (ordered["coverage"].to_list(), "覆盖率"),
            (ordered["compliant_share"].to_list(), "制度落实率（全达标子网格·月占比）"),
        ],
    )
    if view.village_id:
        titled_chart(figure, "覆盖率与制度落实率", key="coverage_compare_chart")
    else:
        st.markdown("**覆盖率与制度落实率**（点击柱子进入该村居详情）")
        st.plotly_chart(
            style(figure),
            width="stretch",
            key="coverage_compare_chart",
            on_select=_remember_click,
            selection_mode="points",
        )
    show_table(
        compared,
        COMPARE_COLUMNS,
        "网格覆盖_比较",
        key="coverage_compare",
        height=rows_height(compared.height),
    )

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
    drill_to(VILLAGE_PAGE, View(view.start, view.end, target))

method_note(explain.explain("coverage"))
