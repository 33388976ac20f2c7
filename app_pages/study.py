"""学习教育: study coverage by village and by sub-grid, the 送学上门 share, the monthly
trend and the follow-up list of members not reached N months running (see
docs/pages.md, 学习教育).

Decisions:
* Bars split coverage into its two parts — reached at home (送学上门) and reached
  otherwise — so one bar shows both the coverage and how much of it was 送学上门.
* At town scope the villages are charted and the 89 sub-grids listed in a table; with
  a village chosen, its sub-grids are charted and listed.
* The follow-up list shows names as the user's role may see them (``ui.privacy``:
  masked, e.g. 张*明, for 镇领导) — also in the export.
"""

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from metrics import batch, explain, registry, study
from metrics.glossary import label, value_text
from store.months import month_label
from ui import session
from ui.charts.bars import rate_bars
from ui.charts.look import titled_chart
from ui.charts.trends import month_trend
from ui.completeness_banner import unreported_banner
from ui.db import query
from ui.exports import export_buttons
from ui.filters import View, parts_filter, to_filter, trend_filter
from ui.names import subgrid_labels
from ui.privacy import mask_columns, sees_names
from ui.tables import labelled, rows_height, show_table
from ui.widgets import empty_notice, method_note, metric_card, page_header

SUMMARY_COLUMNS = (
    "unit_id",
    "unit_name",
    "months",
    "member_months",
    "reached",
    "reached_home",
    ("coverage", "study_coverage"),
    "home_share",
)
SUBGRID_COLUMNS = ("village_name", *SUMMARY_COLUMNS)
TREND_COLUMNS = (
    "month",
    "members",
    ("reached", "reached_people"),
    ("reached_home", "reached_home_people"),
    ("coverage", "study_coverage"),
    "home_share",
)
NOT_REACHED_COLUMNS = ("person_id", "name", "village_name", "subgrid_name", "months_not_reached")


def coverage_split_bars(frame: pl.DataFrame, names: list[str]) -> go.Figure:
    """Stacked bars: coverage = the part reached at home (送学上门) + the rest; both are
    means of the monthly values, as the coverage is."""
    home = frame["home_coverage"].to_list()
    other = (frame["coverage"] - frame["home_coverage"]).to_list()
    figure = rate_bars(
        names,
        frame["unit_id"].to_list(),
        [(other, "现场/线上参学"), (home, label("reached_home"))],
        barmode="stack",
    )
    # The total on top of each bar: the coverage itself.
    figure.add_scatter(
        x=figure.data[0].x,  # the bars' categories, as rate_bars escaped them
        y=frame["coverage"].to_list(),
        mode="text",
        text=[value_text("study_coverage", v) for v in frame["coverage"].to_list()],
        textposition="top center",
        name=label("study_coverage"),
        hoverinfo="skip",
        showlegend=False,
        cliponaxis=False,
    )
    top = max((v for v in frame["coverage"].to_list() if v is not None), default=1.0)
    figure.update_yaxes(range=[0, min(1.0, top) * 1.12 + 0.02])
    return figure


def headline(total: dict, followup: pl.DataFrame) -> None:
    cols = st.columns(4)
    metric_card(cols[0], "study_coverage", total["coverage"])
    metric_card(
        cols[1], "home_share", total["home_share"], help="以送学上门方式参学的人数 ÷ 已覆盖人数"
    )
    member_months = value_text("member_months", total["member_months"])
    metric_card(cols[2], "reached", total["reached"], help=f"在册党员 {member_months} 人·月")
    metric_card(cols[3], "not_reached_members", followup.height)


def monthly_trend(trend: pl.DataFrame) -> None:
    st.subheader("月度趋势")
    if trend.is_empty():
        empty_notice("月度学习数据")
        return
    titled_chart(
        month_trend(trend, [("coverage", "study_coverage"), "home_share"]),
        f"{label('study_coverage')}与{label('home_share')}（按月）",
        key="study_trend",
    )
    export_buttons(labelled(trend, TREND_COLUMNS), "学习教育_月度趋势", key="study_trend")


def parts_compared(by_part: pl.DataFrame, subgrids: pl.DataFrame, view: View) -> None:
    """各村居 (or 各子网格) 学习覆盖: the split bars, and the villages' table."""
    st.subheader("各子网格学习覆盖" if view.village_id else "各村居学习覆盖")
    if by_part.is_empty():
        empty_notice("可比较的学习数据")
        return
    ordered = by_part.sort("coverage", descending=True, nulls_last=True)
    names = (
        subgrid_labels(ordered["unit_id"].to_list(), subgrids, with_village=False)
        if view.village_id
        else ordered["unit_name"].to_list()
    )
    titled_chart(
        coverage_split_bars(ordered, names),
        f"{label('study_coverage')}（柱高；按参学方式拆分：送学上门 / 现场或线上）",
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


def subgrid_details(by_subgrid: pl.DataFrame, subgrids: pl.DataFrame) -> None:
    st.subheader("各子网格明细")
    if by_subgrid.is_empty():
        empty_notice("子网格学习数据")
        return
    villages = subgrids.select(unit_id="subgrid_id", village_name="village_name")
    with_village = by_subgrid.join(villages, on="unit_id", how="left")
    show_table(with_village, SUBGRID_COLUMNS, "学习教育_各子网格", key="study_subgrids")


def followup_list(followup: pl.DataFrame, view: View) -> None:
    """跟进名单: members not reached N months running, names as the role may see them."""
    st.subheader("跟进名单：连续未参加学习的党员")
    if followup.is_empty():
        st.success("没有连续未参加学习的在册党员。")
        return
    months = int(followup["months_not_reached"][0])
    st.caption(
        f"截至 {month_label(view.end)}，最近 {months} 个数据月均在册、均未参加学习教育的党员，"
        f"共 {followup.height} 人。" + ("" if sees_names() else "姓名已脱敏显示。")
    )
    shown = mask_columns(followup, "name")
    show_table(shown, NOT_REACHED_COLUMNS, "学习教育_跟进名单", key="study_not_reached")


def draw_page() -> None:
    page_header("学习教育")
    view = session.current_view()
    unreported_banner(view)
    scope, parts = to_filter(view), parts_filter(view)
    with batch():
        total = query(study.study_summary, scope)
        trend = query(study.study_by_month, trend_filter(view))
        by_part = query(study.study_summary, parts)
        by_subgrid = (
            by_part if view.village_id else query(study.study_summary, parts.at_level("subgrid"))
        )
        followup = query(study.not_reached, scope)
    if total.is_empty():
        empty_notice("学习教育数据")
    else:
        subgrids = query(registry.subgrids)
        headline(total.row(0, named=True), followup)
        monthly_trend(trend)
        parts_compared(by_part, subgrids, view)
        subgrid_details(by_subgrid, subgrids)
        followup_list(followup, view)
    method_note(explain.explain("study"))


draw_page()
