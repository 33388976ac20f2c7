"""子网格详情: one sub-grid over the view's months — its KPIs, the 制度清单 requirements met
and missing in the latest data month, the members not reached by study, the reports
still open, its team and its monthly trend (see docs/pages.md, 子网格详情).

The sub-grid is in the URL (``?subgrid=CJ05-03``, ``ui.subgrid_link``) with the view's
months; the heat map of 网格覆盖, the map, 考核排名 and 村居详情 link here. Without one
(or when the sidebar's village no longer holds it) the page offers a picker of the
view's sub-grids. A 村居书记 asking for a sub-grid of another village is refused, in
words that do not say whether it exists.
"""

from __future__ import annotations

import logging

import polars as pl
import streamlit as st

from metrics import batch, default_config
from metrics.explain import explain
from metrics.glossary import change_text, label, value_text
from metrics.registry import subgrids
from metrics.subgrid_detail import (
    find_subgrid,
    members_not_reached,
    open_reports,
    requirements_of_month,
    subgrid_kpis,
    subgrid_scorecard,
    subgrid_team,
    subgrid_trend,
    team_posts,
)
from store.months import month_label, range_label
from ui import session
from ui.charts.trends import kpi_trends
from ui.completeness_banner import unreported_banner
from ui.db import query
from ui.filters import View, to_filter, to_params, trend_filter
from ui.names import village_name
from ui.navigation import page_path
from ui.privacy import mask_columns
from ui.subgrid_link import (
    drill_to_listed_subgrid,
    forget_linked_subgrid,
    linked_subgrid,
    markdown_label,
    subgrid_label,
    subgrid_options,
)
from ui.tables import show_table
from ui.text import plain
from ui.widgets import empty_notice, method_note, metric_card, scope_label

PICKER_KEY, PENDING_PICK = "subgrid_pick", "_subgrid_pick"
KPI_SHOWN = ("compliant_share", "study_coverage", "on_time_resolve_rate", "fortress_index")
NOT_REACHED_COLUMNS = ("person_id", "name", "months_not_reached")
OPEN_COLUMNS = (
    "report_id",
    "category",
    "summary",
    ("reporter_name", "name", "上报人"),
    "reported_at",
    "status_at_end",
    "age_h",
    ("overdue_text", "overdue_reason"),
)
# Narrow enough for a phone: what a person is in one column (a volunteer's kind, else
# 党员 or 群众).
TEAM_COLUMNS = ("role", "name", "person_id", ("kind_text", "role", "身份"))
TOPICS = ("coverage", "study", "response", "fortress")
MISSING = "—"


def remember_pick() -> None:
    """on_change of the picker: open the pick on the next run, then forget it."""
    session.put(PENDING_PICK, session.value(PICKER_KEY))
    session.put(PICKER_KEY, None)


def subgrid_picker(options: dict[str, str], prompt: str) -> None:
    """A box of sub-grids (``options``: id → label); a pick opens that sub-grid."""
    st.selectbox(
        prompt,
        list(options),
        index=None,
        placeholder="请选择子网格…",
        format_func=lambda s: options.get(s, s),  # read now: formats outside this run too
        key=PICKER_KEY,
        on_change=remember_pick,
    )


def refusal(wanted: str) -> None:
    """The notice for a linked sub-grid the user may not see or that does not exist."""
    user = session.user()
    own = getattr(user, "village_scope", None)
    if own:
        # Not "does not exist": that would tell which ids of other villages do.
        logging.getLogger("grid.access").warning("%s: 子网格 %s", user.username, wanted)
        st.error(
            f"当前账号只能查看本村居（{plain(village_name(own))}）的子网格，"
            f"链接中的“{plain(wanted)}”未显示。"
        )
    else:
        st.error(f"子网格编号“{plain(wanted)}”不存在，请在下方选择子网格。")


def choose_subgrid(view: View) -> dict | None:
    """The sub-grid the URL asks for, checked; else None after a notice and the picker."""
    wanted = linked_subgrid()
    unit = query(find_subgrid, wanted) if wanted else None
    if wanted and unit is None:
        refusal(wanted)
    elif unit and view.village_id and unit["village_id"] != view.village_id:
        named = markdown_label(unit["name"], unit["village_name"], unit["subgrid_id"])
        st.info(f"{named}不属于左侧所选的{plain(village_name(view.village_id))}，请重新选择。")
        unit = None
    if unit is not None:
        return unit
    forget_linked_subgrid()
    st.caption(scope_label())
    if not wanted:
        st.info(
            "请选择一个子网格查看详情（也可从网格覆盖的热力图、地图、考核排名或村居详情点击进入）。"
        )
    subgrid_picker(subgrid_options(query(subgrids, view.village_id)), "子网格")
    return None


def headline(kpi: pl.DataFrame, card: dict, siblings: int) -> None:
    """主要指标: the four KPIs with 环比 and 同比, then members, stars, open reports, rank."""
    st.subheader("主要指标")
    values = {row["kpi"]: row for row in kpi.iter_rows(named=True)}
    for col, key in zip(st.columns(len(KPI_SHOWN)), KPI_SHOWN, strict=True):
        row = values.get(key) or {}
        metric_card(col, key, row.get("value"), row.get("change"), border=True)
        year = change_text(key, row.get("change_year"))
        col.caption(f"同比 {year or '—（去年同期无数据）'}")
    # A wrapping row: two figures a line on a phone rather than one each.
    row = st.container(horizontal=True, gap="medium")
    metric_card(row, "members", card.get("members"))
    row.metric(label("stars"), card.get("stars") or MISSING)
    metric_card(row, "open_at_end", card.get("open_at_end"))
    metric_card(row, "overdue_at_end", card.get("overdue_at_end"))
    rank = card.get("rank")
    place = f"村内第 {rank} 名 / {siblings}" if rank is not None else "本期无排名"
    st.caption(
        f"{label('total')}：{value_text('total', card.get('total'))}（{place}）。"
        "环比：与紧邻的等长期间相比；同比：与去年同期相比。"
    )


def requirements(reqs: pl.DataFrame) -> None:
    """制度落实: the sub-grid requirements met and missing in the latest data month, one
    line each (a list rather than a table: it reads on a phone without scrolling)."""
    if reqs.is_empty():
        st.subheader("制度落实")
        empty_notice("活动台账数据")
        return
    st.subheader(f"制度落实（{month_label(reqs['month'][0])}）")
    missing = reqs.filter(~pl.col("met"))
    if missing.is_empty():
        st.success(f"制度清单 {reqs.height} 项要求全部达到。")
    else:
        names = "、".join(plain(n) for n in missing["label"])
        st.warning(f"未达到 {missing.height} 项（共 {reqs.height} 项）：{names}。")
    st.markdown(
        "\n".join(
            f"- {':green[已达标]' if r['met'] else ':red[未达标]'} **{plain(r['label'])}**："
            f"已开展 {r['held']} 次，应开展 ≥{r['min_count']} 次"
            for r in reqs.iter_rows(named=True)
        )
    )


def study_follow_up(missing: pl.DataFrame) -> None:
    """连续未参学党员: the members to follow up (names as the role may see them)."""
    months = default_config().study.not_reached_months
    st.subheader(f"连续 {months} 个月未参学的党员")
    if missing.is_empty():
        st.success("没有需要跟进的党员。")
        return
    show_table(
        mask_columns(missing, "name"), NOT_REACHED_COLUMNS, "子网格_未参学", key="subgrid_unreached"
    )


def open_issues(reports: pl.DataFrame) -> None:
    """民情事项: the reports open at the end of the range, overdue ones first."""
    overdue = int(reports["overdue"].sum()) if not reports.is_empty() else 0
    st.subheader(f"未办结民情事项（{reports.height} 件，其中超期 {overdue} 件）")
    if reports.is_empty():
        st.success("期末没有未办结的民情事项。")
        return
    shown = mask_columns(reports, "reporter_name").with_columns(
        reporter_name=pl.col("reporter_name").fill_null(MISSING),
        overdue_text=pl.col("overdue_reason").fill_null("未超期"),
    )
    show_table(shown, OPEN_COLUMNS, "子网格_未办结事项", key="subgrid_reports")


def team_section(team: pl.DataFrame, posts: pl.DataFrame) -> None:
    """子网格队伍: 子网格长, 网格员 and 网格志愿者 on the roll at the end of the range."""
    st.subheader("子网格队伍")
    vacant = posts.filter(pl.col("vacant") > 0)
    if not vacant.is_empty():
        gaps = "、".join(f"{r['role']}缺 {r['vacant']} 人" for r in vacant.iter_rows(named=True))
        st.warning(f"岗位空缺：{plain(gaps)}（按责任清单的配备要求）。")
    if team.is_empty():
        empty_notice("在册的队伍成员")
        return
    member = pl.when(pl.col("is_party_member")).then(pl.lit("党员")).otherwise(pl.lit("群众"))
    shown = mask_columns(team, "name").with_columns(
        kind_text=pl.coalesce(pl.col("volunteer_type"), member)
    )
    show_table(shown, TEAM_COLUMNS, "子网格_队伍", key="subgrid_team")


def detail(view: View, unit: dict) -> None:
    sid, village = unit["subgrid_id"], unit["village_id"]
    name = subgrid_label(unit["name"], unit["village_name"], sid)
    st.caption(
        f"{markdown_label(unit['name'], unit['village_name'], sid)} · "
        f"{range_label(view.start, view.end)}"
    )
    unreported_banner(View(view.start, view.end, village))
    f = to_filter(view, "subgrid", village_id=village)
    trend_f = to_filter(
        view, "subgrid", start=trend_filter(view).start, end=view.end, village_id=village
    )
    with batch():
        kpi = query(subgrid_kpis, f, sid)
        card = query(subgrid_scorecard, f, sid)
        reqs = query(requirements_of_month, f, sid)
        missing = query(members_not_reached, f, sid)
        reports = query(open_reports, f, sid)
        team = query(subgrid_team, f, sid)
        posts = query(team_posts, f, sid)
        trend = query(subgrid_trend, trend_f, sid)
        siblings = query(subgrids, village)
    headline(kpi, card.row(0, named=True) if not card.is_empty() else {}, siblings.height)
    requirements(reqs)
    study_follow_up(missing)
    open_issues(reports)
    team_section(team, posts)
    st.subheader("月度趋势（近 12 个月）")
    if trend.is_empty():
        empty_notice("月度数据")
    else:
        kpi_trends(trend, f"{name}_月度趋势", key="subgrid_trend")
    st.divider()
    left, right = st.columns(2)
    left.page_link(
        page_path("village"),
        label=f"返回{village_name(village)}村居详情",
        icon=":material/home_work:",
        query_params=to_params(View(view.start, view.end, village)),
    )
    with right:
        others = subgrid_options(siblings.filter(pl.col("subgrid_id") != sid))
        subgrid_picker(others, "查看本村居其他子网格")


def draw_page() -> None:
    view = session.current_view()
    drill_to_listed_subgrid(view, session.take(PENDING_PICK), query(subgrids))
    st.title("子网格详情")
    unit = choose_subgrid(view)
    if unit is not None:
        detail(view, unit)
    method_note("\n\n".join(explain(topic) for topic in TOPICS))


draw_page()
