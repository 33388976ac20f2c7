"""村居详情: everything for one village — KPIs, its sub-grids side by side, the trend,
and the rows behind each number.

The village is the view's (sidebar or link ``?village=CJ03``). Without one the page
offers a picker that makes the choice the shared view (and so the URL), rather than
a page-local choice a copied link would lose. A click on a sub-grid (map, ranking)
preselects it for the rows, handed over in session state: the shared filters rewrite
the query string to from/to/village, so a ``subgrid`` URL parameter would not survive
to this page (``ui.filters.set_view`` would have to keep extra parameters).
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from metrics import Filter, batch
from metrics.assessment import town_ranks
from metrics.explain import explain
from metrics.indices import vanguard_members
from metrics.overview import kpi_trend, kpis, scorecard
from metrics.registry import subgrids
from metrics.rows import activity_rows, attendance_rows, report_rows
from store.months import month_label
from ui.charts_b import (
    SUBGRID_HANDOFF,
    chart_export,
    mask_names,
    member_index_columns,
    pending_pop,
    scorecard_table,
    small_multiples,
)
from ui.db import query
from ui.filters import View, drill_to
from ui.format import number, pct, pct_points
from ui.page import PAGE_BY_KEY, current_view, page_header, village_names
from ui.text import plain
from ui.widgets import chart, empty_notice, method_note, table

VILLAGE_PAGE = PAGE_BY_KEY["village"].path
PENDING_VILLAGE = "_village_pick"
WHOLE_VILLAGE = ""
TIME_FORMAT = "%Y-%m-%d %H:%M"
KPI_SHOWN = {
    "compliant_share": "制度落实率",
    "study_coverage": "学习覆盖率",
    "on_time_resolve_rate": "按期办结率",
    "fortress_index": "平均堡垒指数",
}


def _remember_pick() -> None:
    """on_change of the picker: drill on the next line of the script, then forget."""
    st.session_state[PENDING_VILLAGE] = st.session_state.get("village_pick")
    st.session_state["village_pick"] = None


def _yes_no(column: str) -> pl.Expr:
    """是/否 (empty while not yet decided), as in the upload files."""
    return pl.when(pl.col(column)).then(pl.lit("是")).when(~pl.col(column)).then(pl.lit("否"))


def _method_note() -> None:
    method_note(
        "\n\n".join(
            explain(topic) for topic in ("coverage", "study", "response", "fortress", "vanguard")
        )
    )


view = current_view()
names = village_names()

picked = pending_pop(PENDING_VILLAGE)
if picked:
    drill_to(VILLAGE_PAGE, View(view.start, view.end, picked))

page_header("村居详情")

if not view.village_id:
    st.info("请选择一个村居查看详情（也可在左侧筛选中选择，或从地图、排名页点击进入）。")
    st.selectbox(
        "村居",
        list(names),
        index=None,
        placeholder="请选择村居…",
        format_func=lambda v: names.get(v, v),
        key="village_pick",
        on_change=_remember_pick,
    )
    _method_note()
    st.stop()

village = view.village_id
village_name = names.get(village, village)
f_village = Filter(view.start, view.end, "village", village)
f_subgrids = Filter(view.start, view.end, "subgrid", village)
with batch():
    kpi = query(kpis, f_village)
    cards = query(scorecard, f_village)
    town_rank = query(town_ranks, Filter(view.start, view.end, "village", village))
    grid_cards = query(scorecard, f_subgrids)
    trend = query(kpi_trend, f_village)
    grids = query(subgrids, village)

# ---- headline figures -------------------------------------------------------------
st.subheader(f"{plain(village_name)} · 主要指标")
values = {row["kpi"]: row for row in kpi.iter_rows(named=True)}
columns = st.columns(len(KPI_SHOWN) + 2)
for col, key in zip(columns, KPI_SHOWN, strict=False):
    row = values.get(key)
    if row is None:
        col.metric(KPI_SHOWN[key], "—", border=True)
    elif key == "fortress_index":
        delta = None if row["change"] is None else f"{row['change']:+.1f}"
        col.metric(KPI_SHOWN[key], number(row["value"], 1), delta, border=True)
    else:
        col.metric(KPI_SHOWN[key], pct(row["value"]), pct_points(row["change"]), border=True)
card = cards.row(0, named=True) if not cards.is_empty() else {}
columns[-2].metric(
    "平均先锋指数",
    number(card.get("vanguard_index"), 1),
    card.get("grade"),
    delta_color="off",
    delta_arrow="off",
    border=True,
)
rank_row = town_rank.filter(pl.col("unit_id") == village)
if rank_row.is_empty():
    columns[-1].metric("考核总分", "—", border=True)
else:
    columns[-1].metric(
        "考核总分",
        number(rank_row["total"][0], 1),
        f"全镇第 {rank_row['rank'][0]} 名 / {rank_row['units'][0]}",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
if card and not card.get("surveyed", True):
    st.caption("本期无党员群众测评：堡垒指数按其余部分折算，标注“无测评”。")
st.caption("环比：与紧邻的等长期间相比（单月即与上月相比）。")

# ---- sub-grids side by side ---------------------------------------------------------
st.subheader("各子网格对比")
if grid_cards.is_empty():
    empty_notice("子网格数据")
else:
    side = scorecard_table(grid_cards, "子网格")
    table(side, f"{village_name}_子网格对比", key="village_subgrids")
    bars = grid_cards.select(
        pl.col("unit_name").alias("子网格"),
        (pl.col("compliant_share") * 100).round(1).alias("制度落实率（%）"),
        (pl.col("study_coverage") * 100).round(1).alias("学习覆盖率（%）"),
        (pl.col("on_time_resolve_rate") * 100).round(1).alias("按期办结率（%）"),
        pl.col("fortress_index").round(1).alias("堡垒指数"),
    )
    figure = small_multiples(
        bars,
        "子网格",
        [(c, c) for c in bars.columns[1:]],
    )
    chart(figure, key="village_multiples", height=560)
    chart_export(bars, f"{village_name}_子网格对比图", key="village_multiples_export")

# ---- trend ---------------------------------------------------------------------------
st.subheader("月度趋势")
if trend.is_empty():
    empty_notice("月度数据")
else:
    trend_frame = trend.select(
        pl.col("month").map_elements(month_label, return_dtype=pl.String).alias("月份"),
        (pl.col("compliant_share") * 100).round(1).alias("制度落实率（%）"),
        (pl.col("study_coverage") * 100).round(1).alias("学习覆盖率（%）"),
        (pl.col("on_time_resolve_rate") * 100).round(1).alias("按期办结率（%）"),
        pl.col("fortress_index").round(2).alias("堡垒指数"),
    )
    left, right = st.columns(2)
    rates = go.Figure()
    for col in trend_frame.columns[1:4]:
        rates.add_trace(
            go.Scatter(x=trend_frame["月份"], y=trend_frame[col], name=col, mode="lines+markers")
        )
    rates.update_layout(yaxis={"range": [0, 105], "title": "%"})
    with left:
        st.markdown("**三项比率（%）**")
        chart(rates, key="village_trend_rates")
    fortress = go.Figure(
        go.Scatter(
            x=trend_frame["月份"], y=trend_frame["堡垒指数"], name="堡垒指数", mode="lines+markers"
        )
    )
    fortress.update_layout(yaxis={"range": [0, 100], "title": "指数"}, showlegend=False)
    with right:
        st.markdown("**平均堡垒指数**")
        chart(fortress, key="village_trend_fortress")
    chart_export(trend_frame, f"{village_name}_月度趋势", key="village_trend_export")

# ---- the rows behind each number -----------------------------------------------------
st.subheader("明细数据")
grid_names = dict(grids.select("subgrid_id", "name").iter_rows())
unit_key = f"village_rows_unit_{village}"
wanted = pending_pop(SUBGRID_HANDOFF)
if wanted:
    if wanted in grid_names:
        st.session_state[unit_key] = wanted
    else:
        st.warning(f"子网格编号“{plain(wanted)}”不属于{plain(village_name)}，已显示全村。")
months = f_village.months
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
level = "village" if unit == WHOLE_VILLAGE else "subgrid"
rows_filter = Filter(first, last, level, village)
rows_unit = village if unit == WHOLE_VILLAGE else unit
scope = village_name if unit == WHOLE_VILLAGE else f"{village_name}{grid_names[unit]}"
with batch():
    activities = query(activity_rows, rows_filter, rows_unit)
    sign_ins = query(attendance_rows, rows_filter, rows_unit)
    reports = query(report_rows, rows_filter, rows_unit)
    members = query(vanguard_members, rows_filter)
if level == "subgrid":
    members = members.filter(pl.col("subgrid_id") == unit)

tabs = st.tabs(
    [
        f"活动台账（{activities.height}）",
        f"签到记录（{sign_ins.height}）",
        f"民情事项（{reports.height}）",
        f"党员先锋指数（{members.height}）",
    ]
)
with tabs[0]:
    table(
        activities.select(
            pl.col("activity_id").alias("活动编号"),
            pl.col("activity_date").cast(pl.String).alias("活动日期"),
            pl.col("subgrid_name").fill_null("（村居层面）").alias("子网格"),
            pl.col("activity_type").alias("活动类型"),
            pl.col("topic").alias("活动主题"),
            pl.col("place_id").alias("活动地点编号"),
            pl.col("duration_min").alias("时长（分钟）"),
            pl.col("roll").alias("签到人数"),
            pl.col("present").alias("出席"),
            pl.col("leave").alias("请假"),
            pl.col("absent").alias("缺席"),
            pl.col("home").alias("送学上门"),
        ),
        f"活动台账_{scope}",
        key="village_activities",
    )
with tabs[1]:
    table(
        mask_names(sign_ins).select(
            pl.col("activity_id").alias("活动编号"),
            pl.col("activity_date").cast(pl.String).alias("活动日期"),
            pl.col("activity_type").alias("活动类型"),
            pl.col("subgrid_id").replace_strict(grid_names, default=None).alias("子网格"),
            pl.col("person_id").alias("人员编号"),
            pl.col("name").alias("姓名"),
            pl.col("status").alias("出勤状态"),
            pl.col("mode").alias("参与方式"),
            pl.col("signed_at").dt.strftime(TIME_FORMAT).alias("签到时间"),
        ),
        f"签到记录_{scope}",
        key="village_attendance",
    )
with tabs[2]:
    table(
        reports.select(
            pl.col("report_id").alias("事项编号"),
            pl.col("subgrid_id").replace_strict(grid_names, default=None).alias("子网格"),
            pl.col("category").alias("事项类别"),
            pl.col("summary").alias("事项摘要"),
            pl.col("status").alias("办理状态"),
            pl.col("reported_at").dt.strftime(TIME_FORMAT).alias("上报时间"),
            pl.col("accepted_at").dt.strftime(TIME_FORMAT).alias("受理时间"),
            pl.col("resolved_at").dt.strftime(TIME_FORMAT).alias("办结时间"),
            pl.col("accept_h").round(1).alias("受理时长（小时）"),
            pl.col("resolve_h").round(1).alias("办结时长（小时）"),
            _yes_no("on_time_accept").alias("按时受理"),
            _yes_no("on_time_resolve").alias("按期办结"),
            pl.col("satisfaction").alias("满意度"),
        ),
        f"民情事项_{scope}",
        key="village_reports",
    )
with tabs[3]:
    table(
        mask_names(members.sort("vanguard_index", descending=True, nulls_last=True)).select(
            pl.col("person_id").alias("人员编号"), *member_index_columns(grid_names)
        ),
        f"党员先锋指数_{scope}",
        key="village_members",
    )
st.caption("姓名已脱敏显示。明细按所选子网格和月份筛选；签到记录为这些活动的签到。")

_method_note()
