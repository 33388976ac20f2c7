"""总览: the grid's size, the four KPIs with their change, trends, alerts, scorecards.

Scope: the whole town, or the village chosen in the sidebar. The KPI change compares
the range with the equally long range just before it (a single month: the month
before), as ``metrics.overview.kpis`` defines it. The grid-size figures come from
``town_summary`` (registry sizes and the latest month in the database), whatever the
filters, because they describe the grid, not the period.
"""

import streamlit as st

from metrics import batch, explain, overview
from store.months import range_label
from ui.charts_a import (
    labelled,
    parts_filter,
    rate_trend,
    rows_height,
    scope_filter,
    show_table,
    titled_chart,
    value_trend,
)
from ui.db import query
from ui.filters import to_params
from ui.format import number, pct, pct_points
from ui.page import current_view, page_header, scope_label
from ui.widgets import empty_notice, export_buttons, method_note

# The four KPI cards, in order: (kpi key, is a rate).
CARDS = (
    ("compliant_share", True),
    ("study_coverage", True),
    ("on_time_resolve_rate", True),
    ("fortress_index", False),
)
SCORECARD_COLUMNS = (
    ("unit_name", "单位", "text"),
    ("activity_coverage", "制度落实覆盖率（%）", "pct"),
    ("compliant_share", "制度落实率（%）", "pct"),
    ("study_coverage", "学习覆盖率（%）", "pct"),
    ("home_share", "送学上门占比（%）", "pct"),
    ("reports", "收集民情（件）", "int"),
    ("on_time_accept_rate", "按时受理率（%）", "pct"),
    ("on_time_resolve_rate", "按期办结率（%）", "pct"),
    ("open_at_end", "期末积压（件）", "int"),
    ("overdue_at_end", "督办（件）", "int"),
    ("fortress_index", "堡垒指数", "num1"),
    ("stars", "星级", "text"),
    ("vanguard_index", "先锋指数", "num1"),
    ("grade", "先锋等级", "text"),
    ("members", "党员（人）", "int"),
    ("total", "考核总分", "num1"),
    ("rank", "考核排名", "int"),
)
TREND_COLUMNS = (
    ("month", "月份", "month"),
    ("compliant_share", "制度落实率（%）", "pct"),
    ("activity_coverage", "制度落实覆盖率（%）", "pct"),
    ("study_coverage", "学习覆盖率（%）", "pct"),
    ("on_time_resolve_rate", "按期办结率（%）", "pct"),
    ("fortress_index", "平均堡垒指数", "num1"),
)
ALERT_COLUMNS = (
    ("village_name", "村居", "text"),
    ("label", "指标", "text"),
    ("message", "提示", "text"),
)

METHOD = "\n\n".join(
    [
        "**关键指标**：制度落实率 = 全部要求均已达到的子网格月份占比；学习覆盖率、"
        "按期办结率、平均堡垒指数的算法见下。变化 = 本期 − 上一等长期间。",
        explain.explain("coverage"),
        explain.explain("study"),
        explain.explain("response"),
        explain.explain("fortress"),
    ]
)

page_header("总览")
view = current_view()
summary = query(overview.town_summary)

# The grid itself. Labels and formatting are relied on by tests/test_dashboard.py, and
# the "最近一个月（…）" caption by tests/test_e2e_browser.py.
st.subheader("网格规模")
cols = st.columns(5)
cols[0].metric("村居党建总网格", f"{summary.villages:,}")
cols[1].metric("党建子网格", f"{summary.subgrids:,}")
cols[2].metric("在册党员", f"{summary.party_members:,}")
if summary.latest_month is not None:
    cols[3].metric("开展活动（场）", f"{summary.activities:,}")
    cols[4].metric("收集民情民意（件）", f"{summary.reports:,}")
    st.caption(
        f"全镇数据；活动与民情为最近一个月"
        f"（{summary.latest_month.year}年{summary.latest_month.month}月）的件数。"
    )
else:
    st.caption("数据库中还没有任何月份的活动或民情数据，请先在“数据上传”页上传。")

f = scope_filter(view)
with batch():
    kpis = query(overview.kpis, f)
    trend = query(overview.kpi_trend, f)
    alerts = query(overview.alerts, f.at_level("village"))
    cards = query(overview.scorecard, parts_filter(view))

st.subheader(f"关键指标 · {scope_label()}")
values = {row["kpi"]: row for row in kpis.iter_rows(named=True)}
if all(values[k]["value"] is None for k, _ in CARDS):
    empty_notice("可计算关键指标的数据")
    method_note(METHOD)
    st.stop()

cols = st.columns(len(CARDS))
previous = f.previous()
for col, (key, is_rate) in zip(cols, CARDS, strict=True):
    row = values[key]
    if is_rate:
        shown, delta, before = pct(row["value"]), pct_points(row["change"]), pct(row["previous"])
    else:
        shown = number(row["value"], 1)
        delta = None if row["change"] is None else f"{row['change']:+.1f}分"
        before = number(row["previous"], 1)
    col.metric(
        row["label"],
        shown,
        delta=delta,
        help=f"上一期（{range_label(previous.start, previous.end)}）：{before}",
    )
st.caption(
    f"变化：与上一等长期间（{range_label(previous.start, previous.end)}）相比；"
    "比率以“个百分点”计，堡垒指数以“分”计。"
)

st.subheader("月度趋势")
if trend.is_empty():
    empty_notice("月度数据")
else:
    left, right = st.columns(2)
    with left:
        titled_chart(
            rate_trend(
                trend,
                [
                    ("compliant_share", "制度落实率"),
                    ("study_coverage", "学习覆盖率"),
                    ("on_time_resolve_rate", "按期办结率"),
                ],
            ),
            "制度落实率 · 学习覆盖率 · 按期办结率",
            key="overview_trend_rates",
        )
    with right:
        titled_chart(
            value_trend(trend, [("fortress_index", "平均堡垒指数")], "分"),
            "平均堡垒指数",
            key="overview_trend_fortress",
        )
    export_buttons(labelled(trend, TREND_COLUMNS), "总览_月度趋势", key="overview_trend")

st.subheader("预警")
below = alerts.filter(alerts["kpi"] != "overdue_reports")
overdue_total = int(cards["overdue_at_end"].sum()) if not cards.is_empty() else 0
with st.container(border=True):
    left, middle, right = st.columns([1, 1, 2])
    left.metric("指标低于阈值的村居", f"{below['village_id'].n_unique()} 个")
    middle.metric("期末超期未办结（件）", f"{overdue_total:,}")
    with right:
        st.page_link(
            "app_pages/response.py",
            label=f"查看督办清单（{overdue_total} 件）→ 民情处置",
            icon=":material/forum:",
            query_params=to_params(view),
        )
        st.caption("阈值见 data/config/alerts.toml；超期 = 期末仍未办结且已超过时限。")
    if alerts.is_empty():
        st.success("所选范围内没有需要预警的村居。")
    else:
        show_table(alerts, ALERT_COLUMNS, "总览_预警", key="overview_alerts")

st.subheader("各村居成绩单" if not view.village_id else "各子网格成绩单")
if cards.is_empty():
    empty_notice("成绩单数据")
else:
    show_table(
        cards,
        SCORECARD_COLUMNS,
        "总览_成绩单",
        key="overview_scorecard",
        height=rows_height(cards.height),
    )

method_note(METHOD)
