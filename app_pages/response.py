"""民情处置: the lifecycle funnel, hour distributions by category, median and P90 by
month, the backlog at the end of the range by age, the 督办清单 and a summary per
category.

Decisions:
* Flows (funnel, distributions, trends, the category table) cover the reports
  reported in the range; the backlog and the 督办清单 are stocks at the end of the
  range (any report still open then), as ``metrics.response`` defines them.
* Durations are charted in hours (the distributions' bins are hours too) and shown
  in 小时/天 in the cards; the 督办清单 gives ages in days, which is how overdue
  reports are talked about.
"""

import polars as pl
import streamlit as st

from metrics import batch, explain, response
from ui.charts_a import (
    count_bars,
    duration_bins,
    funnel_figure,
    histogram_by_category,
    labelled,
    rows_height,
    scope_filter,
    show_table,
    titled_chart,
    value_trend,
)
from ui.db import query
from ui.format import hours, number, pct
from ui.page import current_view, page_header
from ui.widgets import empty_notice, export_buttons, method_note

MEASURES = {"resolve": "办结时长", "accept": "受理时长"}
SUMMARY_COLUMNS = (
    ("category", "类别", "text"),
    ("reports", "上报（件）", "int"),
    ("resolved", "办结（件）", "int"),
    ("accepted", "受理（件）", "int"),
    ("refused", "不予受理（件）", "int"),
    ("accept_median_h", "受理时长中位数（小时）", "num1"),
    ("accept_p90_h", "受理时长P90（小时）", "num1"),
    ("resolve_median_h", "办结时长中位数（小时）", "num1"),
    ("resolve_p90_h", "办结时长P90（小时）", "num1"),
    ("on_time_accept_rate", "按时受理率（%）", "pct"),
    ("on_time_resolve_rate", "按期办结率（%）", "pct"),
    ("satisfaction_mean", "平均满意度（1–5）", "num2"),
    ("open_at_end", "期末积压（件）", "int"),
    ("overdue_at_end", "期末超期（件）", "int"),
)
TREND_COLUMNS = (
    ("month", "月份", "month"),
    ("reports", "上报（件）", "int"),
    ("resolved", "办结（件）", "int"),
    ("accept_median_h", "受理时长中位数（小时）", "num1"),
    ("accept_p90_h", "受理时长P90（小时）", "num1"),
    ("resolve_median_h", "办结时长中位数（小时）", "num1"),
    ("resolve_p90_h", "办结时长P90（小时）", "num1"),
    ("on_time_accept_rate", "按时受理率（%）", "pct"),
    ("on_time_resolve_rate", "按期办结率（%）", "pct"),
)
DISTRIBUTION_COLUMNS = (
    ("category", "类别", "text"),
    ("measure_label", "时长", "text"),
    ("bin_label", "区间", "text"),
    ("reports", "事项（件）", "int"),
)
OVERDUE_COLUMNS = (
    ("report_id", "事项编号", "text"),
    ("village_name", "村居", "text"),
    ("subgrid_name", "子网格", "text"),
    ("category", "类别", "text"),
    ("summary", "摘要", "text"),
    ("reporter_id", "上报人编号", "text"),
    ("reported_at", "上报时间", "time"),
    ("status_at_end", "期末状态", "text"),
    ("overdue_reason", "超期原因", "text"),
    ("age_h", "已历时（天）", "days"),
    ("limit_h", "办结时限（天）", "days"),
    ("overdue_h", "超期（天）", "days"),
)


def bin_label(label: str) -> str:
    """'24–48h' → '24–48小时' (the metrics layer's bins are labelled in hours)."""
    return label.replace("h", "小时")


page_header("民情处置")
view = current_view()
f = scope_filter(view)
with batch():
    summary = query(response.response_summary, f)
    stages = query(response.funnel, f)
    distribution = query(response.duration_distribution, f)
    by_month = query(response.response_by_month, f)
    aged = query(response.backlog, f)
    overdue = query(response.overdue, f)

everything = summary.filter(pl.col("category") == "全部").row(0, named=True)
if everything["reports"] == 0 and everything["open_at_end"] == 0:
    empty_notice("民情民意事项")
    method_note(explain.explain("response"))
    st.stop()

cols = st.columns(6)
cols[0].metric("上报（件）", number(everything["reports"]))
cols[1].metric("按时受理率", pct(everything["on_time_accept_rate"]))
cols[2].metric("按期办结率", pct(everything["on_time_resolve_rate"]))
cols[3].metric(
    "办结时长中位数",
    hours(everything["resolve_median_h"]),
    help=f"P90：{hours(everything['resolve_p90_h'])}",
)
cols[4].metric("期末积压（件）", number(everything["open_at_end"]))
cols[5].metric("督办（件）", number(everything["overdue_at_end"]))

st.subheader("办理流程漏斗：上报 → 受理 → 核实 → 办结")
if everything["reports"] == 0:
    empty_notice("本期上报的事项")
else:
    titled_chart(
        funnel_figure(stages["stage"].to_list(), stages["reports"].to_list()),
        "本期上报事项的办理进度（件数与占上报的比例）",
        key="response_funnel",
        height=300,
    )
    export_buttons(
        labelled(stages, (("stage", "环节", "text"), ("reports", "事项（件）", "int"))),
        "民情处置_漏斗",
        key="response_funnel",
    )

st.subheader("期末积压（按已历时长）")
if aged["reports"].sum() == 0:
    st.success("期末没有积压事项。")
else:
    titled_chart(
        count_bars(aged["age_bucket"].to_list(), aged["reports"].to_list(), "积压"),
        f"截至期末仍未办结的事项：{aged['reports'].sum()} 件",
        key="response_backlog",
        height=300,
    )
    export_buttons(
        labelled(aged, (("age_bucket", "已历时长", "text"), ("reports", "积压（件）", "int"))),
        "民情处置_积压",
        key="response_backlog",
    )

st.subheader("时长分布（按类别）")
if distribution.is_empty():
    empty_notice("有受理或办结时间的事项")
else:
    measure = st.radio(
        "时长",
        list(MEASURES),
        format_func=MEASURES.get,
        horizontal=True,
        key="response_measure",
    )
    present = distribution.sort("bin_order")["bin_label"].unique(maintain_order=True).to_list()
    bins = duration_bins(response.DURATION_EDGES_H, present)
    shown = distribution.filter(pl.col("measure") == measure)
    titled_chart(
        histogram_by_category(shown, bins, response.CATEGORY_ORDER, relabel=bin_label),
        f"{MEASURES[measure]}分布（件数，按类别）",
        key="response_distribution",
    )
    export_buttons(
        labelled(
            distribution.with_columns(
                measure_label=pl.col("measure").replace_strict(MEASURES),
                bin_label=pl.col("bin_label").str.replace_all("h", "小时", literal=True),
            ),
            DISTRIBUTION_COLUMNS,
        ),
        "民情处置_时长分布",
        key="response_distribution",
    )

st.subheader("月度趋势：中位数与 P90")
if by_month.is_empty() or by_month["reports"].sum() == 0:
    empty_notice("月度民情数据")
else:
    left, right = st.columns(2)
    with left:
        titled_chart(
            value_trend(by_month, [("accept_median_h", "中位数"), ("accept_p90_h", "P90")], "小时"),
            "受理时长（按上报月份）",
            key="response_trend_accept",
        )
    with right:
        titled_chart(
            value_trend(
                by_month, [("resolve_median_h", "中位数"), ("resolve_p90_h", "P90")], "小时"
            ),
            "办结时长（按上报月份）",
            key="response_trend_resolve",
        )
    export_buttons(labelled(by_month, TREND_COLUMNS), "民情处置_月度趋势", key="response_trend")

st.subheader("督办清单（期末超期事项，按上报时间从早到晚）")
if overdue.is_empty():
    st.success("期末没有超期未办结的事项。")
else:
    st.caption(f"共 {overdue.height} 件。")
    show_table(overdue, OVERDUE_COLUMNS, "民情处置_督办清单", key="response_overdue")

st.subheader("分类别汇总")
show_table(
    summary,
    SUMMARY_COLUMNS,
    "民情处置_分类别汇总",
    key="response_summary",
    height=rows_height(summary.height),
)

method_note(explain.explain("response"))
