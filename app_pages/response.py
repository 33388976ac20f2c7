"""民情处置: the lifecycle funnel, hour distributions by category, median and 90th
percentile (90%分位) by month, the backlog at the end of the range by age, the 督办清单
and a summary per category (see docs/pages.md, 民情处置).

Decisions:
* Flows (funnel, distributions, trends, the category table) cover the reports
  reported in the range; the backlog and the 督办清单 are stocks at the end of the
  range (any report still open then), as ``metrics.response`` defines them.
* One time unit on the page: hours. The charts and the distributions' bins are in
  hours, so the cards and the 督办清单's ages are too (elsewhere a long duration is
  written in days).
"""

import polars as pl
import streamlit as st

from metrics import batch, explain, response
from metrics.glossary import hours_text, label
from store.python_values import mapped
from ui import session
from ui.charts.bars import count_bars, duration_bins, histogram_by_category
from ui.charts.funnels import funnel_figure
from ui.charts.look import titled_chart
from ui.charts.trends import month_trend
from ui.completeness_banner import unreported_banner
from ui.db import query
from ui.exports import export_buttons
from ui.filters import to_filter, trend_filter
from ui.format import bin_label, days_in_hours
from ui.tables import labelled, rows_height, show_table
from ui.widgets import empty_notice, method_note, metric_card, page_header

MEASURES = {"resolve": "办结时长", "accept": "受理时长"}
CARDS = ("reports", "on_time_accept_rate", "on_time_resolve_rate")
STATISTICS = ("accept_median_h", "accept_p90_h", "resolve_median_h", "resolve_p90_h")
RATES = ("on_time_accept_rate", "on_time_resolve_rate")
SUMMARY_COLUMNS = (
    "category",
    "reports",
    "resolved",
    "accepted",
    "refused",
    *STATISTICS,
    *RATES,
    "satisfaction_mean",
    "open_at_end",
    "overdue_at_end",
)
TREND_COLUMNS = ("month", "reports", "resolved", *STATISTICS, *RATES)
DISTRIBUTION_COLUMNS = ("category", "measure_label", "bin_label", ("reports", "report_count"))
FUNNEL_COLUMNS = ("stage", ("reports", "report_count"))
BACKLOG_COLUMNS = ("age_bucket", ("reports", "open_at_end"))
OVERDUE_COLUMNS = (
    "report_id",
    "village_name",
    "subgrid_name",
    "category",
    "summary",
    "reporter_id",
    "reported_at",
    "status_at_end",
    "overdue_reason",
    ("age_h", "age_hours"),
    ("limit_h", "limit_hours"),
    ("overdue_h", "overdue_hours"),
)


def headline(everything: dict) -> None:
    """The cards of all categories together."""
    cols = st.columns(6)
    for col, key in zip(cols, CARDS, strict=False):
        metric_card(col, key, everything[key])
    median, p90 = everything["resolve_median_h"], everything["resolve_p90_h"]
    metric_card(
        cols[3],
        "resolve_median_h",
        median,
        text=hours_text(median),
        help=f"{label('resolve_p90_h')}：{hours_text(p90)}",
    )
    metric_card(cols[4], "open_at_end", everything["open_at_end"])
    metric_card(cols[5], "overdue_at_end", everything["overdue_at_end"])


def lifecycle(stages: pl.DataFrame, reported: int) -> None:
    st.subheader("办理流程漏斗：上报 → 受理 → 核实 → 办结")
    if reported == 0:
        empty_notice("本期上报的事项")
        return
    titled_chart(
        funnel_figure(stages["stage"].to_list(), stages["reports"].to_list()),
        "本期上报事项的办理进度（件数与占上报的比例）",
        key="response_funnel",
        height=300,
    )
    export_buttons(labelled(stages, FUNNEL_COLUMNS), "民情处置_漏斗", key="response_funnel")


def backlog(aged: pl.DataFrame) -> None:
    st.subheader(f"{label('open_at_end')}（按已历时长）")
    if aged["reports"].sum() == 0:
        st.success("期末没有积压事项。")
        return
    aged = aged.with_columns(mapped(aged["age_bucket"], days_in_hours, pl.String))
    titled_chart(
        count_bars(aged["age_bucket"].to_list(), aged["reports"].to_list(), "open_at_end"),
        f"截至期末仍未办结的事项：{aged['reports'].sum()} 件",
        key="response_backlog",
        height=300,
    )
    export_buttons(labelled(aged, BACKLOG_COLUMNS), "民情处置_积压", key="response_backlog")


def distributions(distribution: pl.DataFrame) -> None:
    """时长分布（按类别）: one measure at a time, every bin on the axis."""
    st.subheader("时长分布（按类别）")
    if distribution.is_empty():
        empty_notice("有受理或办结时间的事项")
        return
    measure = st.radio(
        "时长", list(MEASURES), format_func=MEASURES.get, horizontal=True, key="response_measure"
    )
    present = distribution.sort("bin_order")["bin_label"].unique(maintain_order=True).to_list()
    bins = duration_bins(response.DURATION_EDGES_H, present)
    shown = distribution.filter(pl.col("measure") == measure)
    titled_chart(
        histogram_by_category(shown, bins, response.CATEGORY_ORDER, relabel=bin_label),
        f"{MEASURES[measure]}分布（件数，按类别）",
        key="response_distribution",
    )
    named = distribution.with_columns(
        measure_label=pl.col("measure").replace_strict(MEASURES),
        bin_label=pl.col("bin_label").replace({b: bin_label(b) for b in bins}),
    )
    export_buttons(
        labelled(named, DISTRIBUTION_COLUMNS), "民情处置_时长分布", key="response_distribution"
    )


def monthly_trends(by_month: pl.DataFrame) -> None:
    st.subheader("月度趋势：中位数与90%分位")
    if by_month.is_empty() or by_month["reports"].sum() == 0:
        empty_notice("月度民情数据")
        return
    left, right = st.columns(2)
    with left:
        titled_chart(
            month_trend(by_month, STATISTICS[:2]),
            "受理时长（按上报月份）",
            key="response_trend_accept",
        )
    with right:
        titled_chart(
            month_trend(by_month, STATISTICS[2:]),
            "办结时长（按上报月份）",
            key="response_trend_resolve",
        )
    export_buttons(labelled(by_month, TREND_COLUMNS), "民情处置_月度趋势", key="response_trend")


def overdue_list(overdue: pl.DataFrame) -> None:
    st.subheader("督办清单（期末超期事项，按上报时间从早到晚）")
    if overdue.is_empty():
        st.success("期末没有超期未办结的事项。")
        return
    st.caption(f"共 {overdue.height} 件。")
    show_table(overdue, OVERDUE_COLUMNS, "民情处置_督办清单", key="response_overdue")


def by_category(summary: pl.DataFrame) -> None:
    st.subheader("分类别汇总")
    show_table(
        summary,
        SUMMARY_COLUMNS,
        "民情处置_分类别汇总",
        key="response_summary",
        height=rows_height(summary.height),
    )


def draw_page() -> None:
    page_header("民情处置")
    unreported_banner(session.current_view())
    f = to_filter(session.current_view())
    with batch():
        summary = query(response.response_summary, f)
        stages = query(response.funnel, f)
        distribution = query(response.duration_distribution, f)
        by_month = query(response.response_by_month, trend_filter(session.current_view()))
        aged = query(response.backlog, f)
        overdue = query(response.overdue, f)
    everything = summary.filter(pl.col("category") == "全部").row(0, named=True)
    if everything["reports"] == 0 and everything["open_at_end"] == 0:
        empty_notice("民情民意事项")
    else:
        headline(everything)
        lifecycle(stages, everything["reports"])
        backlog(aged)
        distributions(distribution)
        monthly_trends(by_month)
        overdue_list(overdue)
        by_category(summary)
    method_note(explain.explain("response"))


draw_page()
