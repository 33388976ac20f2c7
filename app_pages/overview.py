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
from metrics.alerts import alerts as alerts_of
from metrics.glossary import change_text, entry, label, value_text
from metrics.highlights import highlights
from metrics.scorecard_reading import lights, rank_reasons
from store.months import range_label
from ui import session
from ui.briefing_download import briefing_download
from ui.charts.trends import kpi_trends
from ui.completeness_banner import unreported_banner
from ui.db import query
from ui.filters import View, parts_filter, to_filter, to_params, trend_filter
from ui.names import village_name
from ui.navigation import page_path
from ui.privacy import mask_columns, sees_names
from ui.supervision import follow_up_summary
from ui.tables import show_scorecard, show_table
from ui.text import plain
from ui.widgets import empty_notice, method_note, metric_card, page_header, scope_label

CARDS = ("compliant_share", "study_coverage", "on_time_resolve_rate", "fortress_index")
ALERT_COLUMNS = (
    "alert_level",
    "village_name",
    "subgrid_name",
    "owner_role",
    "owner",
    ("message", "alert_message"),
)
LEVEL_MARKS = {"红色": "🔴 红色", "黄色": "🟡 黄色"}
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
    # The metrics hold a 村居书记 to their village: the figures are that village's.
    whose = plain(village_name(getattr(session.user(), "village_scope", None)))
    st.caption(f"{whose}数据；活动与民情为最近一个月（{month.year}年{month.month}月）的件数。")


def kpi_cards(kpis: pl.DataFrame, view: View) -> bool:
    """The four KPI cards with their change; False when none can be computed."""
    st.subheader(f"关键指标 · {scope_label()}")
    values = {row["kpi"]: row for row in kpis.iter_rows(named=True)}
    if all(values[key]["value"] is None for key in CARDS):
        empty_notice("可计算关键指标的数据")
        return False
    previous = to_filter(view).previous()
    before = range_label(previous.start, previous.end)
    year = to_filter(view).year_before()
    year_ago = range_label(year.start, year.end)
    for col, key in zip(st.columns(len(CARDS)), CARDS, strict=True):
        row = values[key]
        earlier = (
            f"上一期（{before}）：{value_text(key, row['previous'])}；"
            f"去年同期（{year_ago}）：{value_text(key, row['year_ago'])}"
        )
        metric_card(col, key, row["value"], row["change"], help=earlier)
        col.caption(f"同比 {change_text(key, row['change_year']) or '—（去年同期无数据）'}")
    st.caption(
        f"环比：与上一等长期间（{before}）相比；同比：与去年同期（{year_ago}）相比。"
        f"比率以“个百分点”计，{label('fortress_index')}以“分”计；多月为各月的平均值。"
    )
    return True


def monthly_trends(trend: pl.DataFrame) -> None:
    """月度趋势: the rates and the index by month over the last 12 months (or the view
    when longer), with the frame's export."""
    st.subheader("月度趋势（近 12 个月）")
    if trend.is_empty():
        empty_notice("月度数据")
        return
    kpi_trends(trend, "总览_月度趋势", key="overview_trend")


def alert_list(alerts: pl.DataFrame, cards: pl.DataFrame, view: View) -> None:
    """预警: the red and yellow alerts with their owners, red first; the overdue count
    and its link to 民情处置."""
    st.subheader("预警")
    overdue = int(cards["overdue_at_end"].sum()) if not cards.is_empty() else 0
    counts = alerts["level"].value_counts()
    count = dict(zip(counts["level"], counts["count"], strict=True))
    with st.container(border=True):
        # The three cards alone in their row (two to a line on a phone), the link
        # under them: in a column of its own a phone would cut it off.
        red, yellow, middle = st.columns(3)
        red.metric("红色预警", f"{count.get('红色', 0)} 条", help="需立即督办整改。")
        yellow.metric("黄色预警", f"{count.get('黄色', 0)} 条", help="需关注、跟踪。")
        metric_card(middle, "overdue_at_end", overdue)
        st.page_link(
            page_path("response"),
            label=f"查看督办清单（{overdue} 件）→ 民情处置",
            icon=":material/forum:",
            query_params=to_params(view),
        )
        st.caption(f"{label('overdue_at_end')} = 期末仍未办结且已超过时限。")
        if alerts.is_empty():
            st.success("所选期间没有需要预警的村居或子网格。")
            return
        shown = mask_columns(alerts, "owner").with_columns(
            alert_level=pl.col("level").replace_strict(LEVEL_MARKS),
            owner=pl.col("owner").fill_null("（空缺）"),
            subgrid_name=pl.col("subgrid_name").fill_null("—"),
        )
        show_table(shown, ALERT_COLUMNS, "总览_预警", key="overview_alerts")


def key_points(points: list[str]) -> None:
    """本月要点: the sentences a Monday meeting starts from."""
    st.subheader("本月要点")
    with st.container(border=True):
        st.markdown("\n".join(f"- {plain(p)}" for p in points))


def scorecards(cards: pl.DataFrame, reasons: pl.DataFrame, view: View) -> None:
    """各村居 (or 各子网格) 成绩单, worst first, lit against the alert thresholds."""
    st.subheader("各子网格成绩单" if view.village_id else "各村居成绩单")
    if cards.is_empty():
        empty_notice("成绩单数据")
        return
    level = "subgrid" if view.village_id else "village"
    lit = lights(cards, level).join(reasons, on="unit_id", how="left")
    all_columns = st.toggle("显示全部列", key="overview_scorecard_all")
    show_scorecard(
        lit,
        "subgrid_name" if view.village_id else "village_name",
        "总览_成绩单",
        "overview_scorecard",
        all_columns,
    )
    st.caption(
        "按需关注程度排序：未报送在前，其次红色、黄色项多者；"
        "颜色对照预警阈值（红 = 低于红色线，黄 = 低于黄色线）。"
    )


def draw_page() -> None:
    page_header("总览")
    view = session.current_view()
    unreported_banner(view)
    grid_size()
    scope = to_filter(view)
    with batch():
        kpis = query(overview.kpis, scope)
        trend = query(overview.kpi_trend, trend_filter(view))
        alerts = query(alerts_of, scope)
        cards = query(overview.scorecard, parts_filter(view))
        reasons = query(rank_reasons, parts_filter(view))
        points = query(highlights, scope, masked=not sees_names())
    key_points(points)
    if kpi_cards(kpis, view):
        alert_list(alerts, cards, view)
        scorecards(cards, reasons, view)
        monthly_trends(trend)
    briefing_and_follow_up(view)
    method_note(METHOD)


def briefing_and_follow_up(view: View) -> None:
    """月度通报 (the PDF for the 党委会, the village's own for a 村居书记) and the 督办
    items: their counts and the ones open longest."""
    briefing_download(view)
    follow_up_summary(view)


draw_page()
