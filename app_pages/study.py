"""学习教育: study coverage by village and by sub-grid, the 送学上门 share, the monthly
trend and the follow-up list of members not reached N months running.

Decisions:
* Bars split coverage into its two parts — reached at home (送学上门) and reached
  otherwise — so one bar shows both the coverage and how much of it was 送学上门.
* At town scope the villages are charted and the 89 sub-grids listed in a table; with
  a village chosen, its sub-grids are charted and listed.
* The follow-up list shows names as the user's role may see them (``ui.privacy``:
  masked, e.g. 张*明, for 镇领导) — also in the export.
"""

import polars as pl
import streamlit as st

from metrics import batch, explain, registry, study
from store.months import month_label
from ui.charts_a import (
    display_names,
    labelled,
    parts_filter,
    rate_bars,
    rate_trend,
    rows_height,
    scope_filter,
    show_table,
    subgrid_labels,
    titled_chart,
)
from ui.db import query
from ui.format import number, pct
from ui.page import current_view, page_header
from ui.widgets import empty_notice, export_buttons, method_note

SUMMARY_COLUMNS = (
    ("unit_id", "编号", "text"),
    ("unit_name", "单位", "text"),
    ("months", "数据月数", "int"),
    ("member_months", "在册党员（人·月）", "int"),
    ("reached", "已覆盖（人·月）", "int"),
    ("reached_home", "送学上门（人·月）", "int"),
    ("coverage", "学习覆盖率（%）", "pct"),
    ("home_share", "送学上门占比（%）", "pct"),
)
SUBGRID_COLUMNS = (("village_name", "村居", "text"), *SUMMARY_COLUMNS)
TREND_COLUMNS = (
    ("month", "月份", "month"),
    ("members", "在册党员（人）", "int"),
    ("reached", "已覆盖（人）", "int"),
    ("reached_home", "送学上门（人）", "int"),
    ("coverage", "学习覆盖率（%）", "pct"),
    ("home_share", "送学上门占比（%）", "pct"),
)
NOT_REACHED_COLUMNS = (
    ("person_id", "人员编号", "text"),
    ("shown_name", "姓名", "text"),
    ("village_name", "村居", "text"),
    ("subgrid_name", "子网格", "text"),
    ("months_not_reached", "连续未参学（月）", "int"),
)


def coverage_split_bars(frame: pl.DataFrame, names: list[str]):
    """Stacked bars: coverage = reached at home + reached otherwise (of member-months)."""
    home = (frame["reached_home"] / frame["member_months"]).to_list()
    other = ((frame["reached"] - frame["reached_home"]) / frame["member_months"]).to_list()
    figure = rate_bars(
        names,
        frame["unit_id"].to_list(),
        [(other, "现场/线上参学"), (home, "送学上门")],
        barmode="stack",
    )
    # The total on top of each bar: the coverage itself.
    figure.add_scatter(
        x=figure.data[0].x,  # the bars' categories, as rate_bars escaped them
        y=frame["coverage"].to_list(),
        mode="text",
        text=[pct(v) for v in frame["coverage"].to_list()],
        textposition="top center",
        name="学习覆盖率",
        hoverinfo="skip",
        showlegend=False,
        cliponaxis=False,
    )
    top = max((v for v in frame["coverage"].to_list() if v is not None), default=1.0)
    figure.update_yaxes(range=[0, min(1.0, top) * 1.12 + 0.02])
    return figure


page_header("学习教育")
view = current_view()
scope = scope_filter(view)
parts = parts_filter(view)
with batch():
    total = query(study.study_summary, scope)
    trend = query(study.study_by_month, scope)
    by_part = query(study.study_summary, parts)
    by_subgrid = (
        by_part if view.village_id else query(study.study_summary, parts.at_level("subgrid"))
    )
    followup = query(study.not_reached, scope)
subgrids = query(registry.subgrids)

if total.is_empty():
    empty_notice("学习教育数据")
    method_note(explain.explain("study"))
    st.stop()

s = total.row(0, named=True)
cols = st.columns(4)
cols[0].metric("学习覆盖率", pct(s["coverage"]))
cols[1].metric("送学上门占比", pct(s["home_share"]), help="以送学上门方式参学的人数 ÷ 已覆盖人数")
cols[2].metric(
    "已覆盖（人·月）", number(s["reached"]), help=f"在册党员 {number(s['member_months'])} 人·月"
)
cols[3].metric("连续未参学（人）", number(followup.height))

st.subheader("月度趋势")
if trend.is_empty():
    empty_notice("月度学习数据")
else:
    titled_chart(
        rate_trend(trend, [("coverage", "学习覆盖率"), ("home_share", "送学上门占比")]),
        "学习覆盖率与送学上门占比（按月）",
        key="study_trend",
    )
    export_buttons(labelled(trend, TREND_COLUMNS), "学习教育_月度趋势", key="study_trend")

st.subheader("各子网格学习覆盖" if view.village_id else "各村居学习覆盖")
if by_part.is_empty():
    empty_notice("可比较的学习数据")
else:
    ordered = by_part.sort("coverage", descending=True, nulls_last=True)
    names = (
        subgrid_labels(ordered["unit_id"].to_list(), subgrids, with_village=False)
        if view.village_id
        else ordered["unit_name"].to_list()
    )
    titled_chart(
        coverage_split_bars(ordered, names),
        "学习覆盖率（柱高；按参学方式拆分：送学上门 / 现场或线上）",
        key="study_parts_chart",
    )
    if not view.village_id:
        show_table(
            by_part,
            SUMMARY_COLUMNS,
            "学习教育_各村居",
            key="study_villages",
            height=rows_height(by_part.height),
        )

st.subheader("各子网格明细")
if by_subgrid.is_empty():
    empty_notice("子网格学习数据")
else:
    with_village = by_subgrid.join(
        subgrids.select(unit_id="subgrid_id", village_name="village_name"), on="unit_id", how="left"
    )
    show_table(with_village, SUBGRID_COLUMNS, "学习教育_各子网格", key="study_subgrids")

st.subheader("跟进名单：连续未参加学习的党员")
if followup.is_empty():
    st.success("没有连续未参加学习的在册党员。")
else:
    months = int(followup["months_not_reached"][0])
    st.caption(
        f"截至 {month_label(view.end)}，最近 {months} 个数据月均在册、均未参加学习教育的党员，"
        f"共 {followup.height} 人。姓名已脱敏。"
    )
    shown = followup.with_columns(shown_name=display_names(followup["name"]))
    show_table(shown, NOT_REACHED_COLUMNS, "学习教育_跟进名单", key="study_not_reached")

method_note(explain.explain("study"))
