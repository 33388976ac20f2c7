"""总览: the grid's size, the four KPIs with their change, trends, alerts, scorecards.

Scope: the whole town, or the village chosen in the sidebar. The KPI change compares
the range with the equally long range just before it (a single month: the month
before), as ``metrics.overview.kpis`` defines it. The grid-size figures come from
``town_summary`` (registry sizes and the latest month in the database), whatever the
filters, because they describe the grid, not the period. See docs/pages.md, 总览.
"""

import polars as pl
import streamlit as st

from metrics import batch, explain, overview
from metrics.glossary import entry, label, value_text
from store.months import range_label
from ui import session
from ui.charts.trends import kpi_trends
from ui.db import query
from ui.filters import View, parts_filter, to_filter, to_params
from ui.navigation import page_path
from ui.tables import rows_height, scorecard_columns, show_table
from ui.widgets import empty_notice, method_note, metric_card, page_header, scope_label

CARDS = ("compliant_share", "study_coverage", "on_time_resolve_rate", "fortress_index")
ALERT_COLUMNS = ("village_name", ("label", "metric"), ("message", "alert_message"))
METHOD = "\n\n".join(
    [
        f"**关键指标**：{label('compliant_share')}——{entry('compliant_share').help}"
        f"{label('study_coverage')}、{label('on_time_resolve_rate')}、"
        f"{label('fortress_index')}的算法见下。变化 = 本期 − 上一等长期间。",
        *(explain.explain(topic) for topic in ("coverage", "study", "response", "fortress")),
    ]
)


def grid_size() -> None:
    """网格规模: registry sizes and the latest month's counts, town-wide. Its labels are
    relied on by tests/test_dashboard.py and the caption by tests/test_e2e_browser.py."""
    summary = query(overview.town_summary)
    st.subheader("网格规模")
    cols = st.columns(5)
    metric_card(cols[0], "villages", summary.villages)
    metric_card(cols[1], "subgrids", summary.subgrids)
    # The head count is named without its unit here, as it always was (tests pin it).
    cols[2].metric(label("members"), value_text("members", summary.party_members))
    if summary.latest_month is None:
        st.caption("数据库中还没有任何月份的活动或民情数据，请先在“数据上传”页上传。")
        return
    metric_card(cols[3], "activities", summary.activities)
    metric_card(cols[4], "reports", summary.reports)
    month = summary.latest_month
    st.caption(f"全镇数据；活动与民情为最近一个月（{month.year}年{month.month}月）的件数。")


def kpi_cards(kpis: pl.DataFrame, view: View) -> bool:
    """The four KPI cards with their change; False when none can be computed."""
    st.subheader(f"关键指标 · {scope_label()}")
    values = {row["kpi"]: row for row in kpis.iter_rows(named=True)}
    if all(values[key]["value"] is None for key in CARDS):
        empty_notice("可计算关键指标的数据")
        return False
    previous = to_filter(view).previous()
    before = range_label(previous.start, previous.end)
    for col, key in zip(st.columns(len(CARDS)), CARDS, strict=True):
        row = values[key]
        earlier = f"上一期（{before}）：{value_text(key, row['previous'])}"
        metric_card(col, key, row["value"], row["change"], help=earlier)
    st.caption(
        f"变化：与上一等长期间（{before}）相比；比率以“个百分点”计，"
        f"{label('fortress_index')}以“分”计。"
    )
    return True


def monthly_trends(trend: pl.DataFrame) -> None:
    """月度趋势: the three rates and the index by month, with the frame's export."""
    st.subheader("月度趋势")
    if trend.is_empty():
        empty_notice("月度数据")
        return
    kpi_trends(trend, "总览_月度趋势", key="overview_trend")


def alert_list(alerts: pl.DataFrame, cards: pl.DataFrame, view: View) -> None:
    """预警: villages below a threshold, the overdue count and its link to 民情处置."""
    st.subheader("预警")
    below = alerts.filter(pl.col("kpi") != "overdue_reports")
    overdue = int(cards["overdue_at_end"].sum()) if not cards.is_empty() else 0
    with st.container(border=True):
        left, middle, right = st.columns([1, 1, 2])
        left.metric("指标低于阈值的村居", f"{below['village_id'].n_unique()} 个")
        metric_card(middle, "overdue_at_end", overdue)
        with right:
            st.page_link(
                page_path("response"),
                label=f"查看督办清单（{overdue} 件）→ 民情处置",
                icon=":material/forum:",
                query_params=to_params(view),
            )
            st.caption(
                f"阈值见 data/config/alerts.toml；{label('overdue_at_end')} = "
                "期末仍未办结且已超过时限。"
            )
        if alerts.is_empty():
            st.success("所选范围内没有需要预警的村居。")
            return
        # Each metric named as the glossary names it (the frame's label is the metrics
        # layer's own until it reads the glossary too).
        named = alerts.with_columns(label=pl.col("kpi").map_elements(label, return_dtype=pl.String))
        show_table(named, ALERT_COLUMNS, "总览_预警", key="overview_alerts")


def scorecards(cards: pl.DataFrame, view: View) -> None:
    """各村居 (or 各子网格) 成绩单: every headline figure of each part side by side."""
    st.subheader("各子网格成绩单" if view.village_id else "各村居成绩单")
    if cards.is_empty():
        empty_notice("成绩单数据")
        return
    show_table(
        cards,
        scorecard_columns(),
        "总览_成绩单",
        key="overview_scorecard",
        height=rows_height(cards.height),
    )


def draw_page() -> None:
    page_header("总览")
    view = session.current_view()
    grid_size()
    scope = to_filter(view)
    with batch():
        kpis = query(overview.kpis, scope)
        trend = query(overview.kpi_trend, scope)
        alerts = query(overview.alerts, scope.at_level("village"))
        cards = query(overview.scorecard, parts_filter(view))
    if kpi_cards(kpis, view):
        monthly_trends(trend)
        alert_list(alerts, cards, view)
        scorecards(cards, view)
    method_note(METHOD)


draw_page()
