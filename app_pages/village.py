"""村居详情: everything for one village — KPIs, its sub-grids side by side, the trend,
and the rows behind each number (see docs/pages.md, 村居详情).

The village is the view's (sidebar or link ``?village=CJ03``). Without one the page
offers a picker that makes the choice the shared view (and so the URL), rather than
a page-local choice a copied link would lose. A sub-grid ticked in the sub-grids'
table opens 子网格详情 (``ui.subgrid_link``).
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from metrics import Filter, batch
from metrics.assessment import town_ranks
from metrics.drilldown_rows import activity_rows, attendance_rows, report_rows
from metrics.explain import explain
from metrics.glossary import header, label, value_text
from metrics.indices import vanguard_members
from metrics.overview import kpi_trend, kpis, scorecard
from metrics.registry import service_points, subgrids
from store.months import month_label
from ui import session
from ui.charts.bars import small_multiples
from ui.charts.look import chart
from ui.charts.trends import kpi_trends
from ui.completeness_banner import unreported_banner
from ui.db import query
from ui.exports import chart_export
from ui.filters import View, drill_to_village, parts_filter, to_filter, trend_filter
from ui.names import place_labels, village_name
from ui.privacy import mask_columns, sees_names
from ui.subgrid_link import drill_to_subgrid
from ui.supervision import follow_up_summary
from ui.tables import MEMBER_INDEX, labelled, scorecard_columns, show_table
from ui.text import plain
from ui.widgets import empty_notice, method_note, metric_card, page_header

PENDING_VILLAGE = "_village_pick"
PENDING_SUBGRID_ROW = "_village_subgrid_row"
SUBGRID_ORDER = "_village_subgrid_order"  # the sub-grid ids in the order the table showed
PICKER_KEY = "village_pick"
WHOLE_VILLAGE = ""
KPI_SHOWN = ("compliant_share", "study_coverage", "on_time_resolve_rate", "fortress_index")
ACTIVITY_COLUMNS = (
    "activity_id",
    "activity_date",
    "subgrid_name",
    "activity_type",
    "topic",
    ("place_label", "activity_place"),
    "duration_min",
    "roll",
    "present",
    "leave",
    "absent",
    "home",
)
SIGN_IN_COLUMNS = (
    "activity_id",
    "activity_date",
    "activity_type",
    "subgrid_name",
    "person_id",
    "name",
    ("status", "attendance_status"),
    "mode",
    "signed_at",
)
REPORT_COLUMNS = (
    "report_id",
    "subgrid_name",
    "category",
    "summary",
    ("status", "report_status"),
    "reported_at",
    "accepted_at",
    "resolved_at",
    "accept_h",
    "resolve_h",
    "on_time_accept",
    "on_time_resolve",
    ("satisfaction", "report_satisfaction"),
)
TOPICS = ("coverage", "study", "response", "fortress", "vanguard")


def remember_pick() -> None:
    """on_change of the picker: drill on the next line of the script, then forget."""
    session.put(PENDING_VILLAGE, session.value(PICKER_KEY))
    session.put(PICKER_KEY, None)


def village_picker() -> None:
    st.info("请选择一个村居查看详情（也可在左侧筛选中选择，或从地图、排名页点击进入）。")
    names = session.village_names()  # read now: the widget formats outside this run too
    st.selectbox(
        "村居",
        list(names),
        index=None,
        placeholder="请选择村居…",
        format_func=lambda v: names.get(v, v),
        key=PICKER_KEY,
        on_change=remember_pick,
    )


def headline(village: str, kpi: pl.DataFrame, card: dict, rank: pl.DataFrame) -> None:
    """主要指标: the four KPIs with their change, the 先锋指数 and the town rank."""
    st.subheader(f"{plain(village_name(village))} · 主要指标")
    values = {row["kpi"]: row for row in kpi.iter_rows(named=True)}
    columns = st.columns(len(KPI_SHOWN) + 2)
    for col, key in zip(columns, KPI_SHOWN, strict=False):
        row = values.get(key) or {}
        metric_card(col, key, row.get("value"), row.get("change"), border=True)
    columns[-2].metric(
        label("vanguard_index"),
        value_text("vanguard_index", card.get("vanguard_index")),
        card.get("grade"),
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    mine = rank.filter(pl.col("unit_id") == village)
    place = None
    if not mine.is_empty():
        place = (
            f"全镇第 {mine['rank'][0]} 名 / {mine['units'][0]}"
            if mine["rank"][0] is not None
            else "未报送，不排名"
        )
    total = None if mine.is_empty() else mine["total"][0]
    columns[-1].metric(
        label("total"),
        value_text("total", total),
        place,
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    if card and not card.get("surveyed", True):
        st.caption("本期无党员群众测评：堡垒指数按其余部分折算，标注“无测评”。")
    st.caption("环比：与紧邻的等长期间相比（单月即与上月相比）。")


def subgrids_side_by_side(grid_cards: pl.DataFrame, village: str) -> None:
    """各子网格对比: the scorecards as a table and as small multiples."""
    st.subheader("各子网格对比")
    if grid_cards.is_empty():
        empty_notice("子网格数据")
        return
    name = village_name(village)
    columns = scorecard_columns("subgrid_name")
    shown = show_table(
        grid_cards,
        columns,
        f"{name}_子网格对比",
        key="village_subgrids",
        pick_into=PENDING_SUBGRID_ROW,
    )
    session.put(SUBGRID_ORDER, shown[header("unit_id")].to_list() if shown.height else [])
    st.caption("勾选表格左侧的选择框，查看该子网格的详情。")
    panels = KPI_SHOWN
    chart(small_multiples(grid_cards, "unit_name", panels), key="village_multiples", height=560)
    shown = labelled(grid_cards, [("unit_name", "subgrid_name"), *panels])
    chart_export(shown, f"{name}_子网格对比图", key="village_multiples_export")


def open_picked_subgrid(view: View) -> None:
    """A row ticked in 各子网格对比 (previous run) opens 子网格详情 of that sub-grid."""
    row = session.take(PENDING_SUBGRID_ROW)
    order = session.value(SUBGRID_ORDER) or []
    if row is not None and row < len(order):
        drill_to_subgrid(view, order[row], view.village_id)


def monthly_trend(trend: pl.DataFrame, village: str) -> None:
    st.subheader("月度趋势")
    if trend.is_empty():
        empty_notice("月度数据")
        return
    kpi_trends(trend, f"{village_name(village)}_月度趋势", key="village_trend")


def pick_rows_scope(view: View, village: str, grid_names: dict[str, str]):
    """The sub-grid (or the whole village) and months whose rows are listed."""
    months = to_filter(view).months
    unit_key = f"village_rows_unit_{village}"
    left, middle, right = st.columns([2, 1, 1])
    unit = left.selectbox(
        "子网格",
        [WHOLE_VILLAGE, *grid_names],
        format_func=lambda u: "全村（含村居层面活动）" if u == WHOLE_VILLAGE else grid_names[u],
        key=unit_key,
    )
    # Keys carry the range: a stored month outside a new range must not linger.
    range_key = f"{view.start:%Y%m}_{view.end:%Y%m}"
    first = middle.selectbox("从", months, format_func=month_label, key=f"village_from_{range_key}")
    last = right.selectbox(
        "到", months, index=len(months) - 1, format_func=month_label, key=f"village_to_{range_key}"
    )
    if first > last:
        st.warning("起始月份晚于截止月份，已按两者互换显示。")
        first, last = last, first
    return unit, first, last


def rows_behind(view: View, village: str, grids: pl.DataFrame) -> None:
    """明细数据: activities, sign-ins, reports and members of the chosen rows' scope."""
    st.subheader("明细数据")
    grid_names = dict(grids.select("subgrid_id", "name").iter_rows())
    unit, first, last = pick_rows_scope(view, village, grid_names)
    whole = unit == WHOLE_VILLAGE
    rows_filter = Filter(first, last, "village" if whole else "subgrid", village)
    rows_unit = village if whole else unit
    scope = village_name(village) + ("" if whole else grid_names[unit])
    with batch():
        activities = query(activity_rows, rows_filter, rows_unit)
        sign_ins = query(attendance_rows, rows_filter, rows_unit)
        reports = query(report_rows, rows_filter, rows_unit)
        members = query(vanguard_members, rows_filter)
        places = query(service_points, village)
    if not whole:
        members = members.filter(pl.col("subgrid_id") == unit)
    named = pl.col("subgrid_id").replace_strict(grid_names, default=None).alias("subgrid_name")
    by_index = members.sort("vanguard_index", descending=True, nulls_last=True)
    tables = (
        ("活动台账", activities.with_columns(
            pl.col("subgrid_name").fill_null("（村居层面）"),
            place_label=pl.Series(place_labels(activities["place_id"].to_list(), places)),
        ), ACTIVITY_COLUMNS, "village_activities"),
        ("签到记录", mask_columns(sign_ins.with_columns(named), "name"), SIGN_IN_COLUMNS,
         "village_attendance"),
        ("民情事项", reports.with_columns(named), REPORT_COLUMNS, "village_reports"),
        ("党员先锋指数", mask_columns(by_index.with_columns(named), "name"), MEMBER_INDEX,
         "village_members"),
    )  # fmt: skip
    tabs = st.tabs([f"{title}（{frame.height}）" for title, frame, _, _ in tables])
    for tab, (title, frame, columns, key) in zip(tabs, tables, strict=True):
        with tab:
            show_table(frame, columns, f"{title}_{scope}", key=key)
    masked = "" if sees_names() else "姓名已脱敏显示。"
    st.caption(f"{masked}明细按所选子网格和月份筛选；签到记录为这些活动的签到。")


def draw_page() -> None:
    view = session.current_view()
    picked = session.take(PENDING_VILLAGE)
    if picked:
        drill_to_village(view, picked)
    page_header("村居详情")
    unreported_banner(view)
    if not view.village_id:
        village_picker()
        method_note("\n\n".join(explain(topic) for topic in TOPICS))
        return
    village = view.village_id
    f_village = to_filter(view)
    with batch():
        kpi = query(kpis, f_village)
        cards = query(scorecard, f_village)
        rank = query(town_ranks, f_village)
        grid_cards = query(scorecard, parts_filter(view))
        trend = query(kpi_trend, trend_filter(view))
        grids = query(subgrids, village)
    open_picked_subgrid(view)
    headline(village, kpi, cards.row(0, named=True) if not cards.is_empty() else {}, rank)
    subgrids_side_by_side(grid_cards, village)
    monthly_trend(trend, village)
    rows_behind(view, village, grids)
    village_follow_up(view)
    method_note("\n\n".join(explain(topic) for topic in TOPICS))


def village_follow_up(view: View) -> None:
    """督办事项 of the village: counts and the items open longest."""
    follow_up_summary(view)


draw_page()
