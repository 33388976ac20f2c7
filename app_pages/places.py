"""阵地与志愿者: how the 党群服务站 and 服务点 are used month by month (idle ones
first), the 网格志愿者 by kind, and the 结对单位 programmes (see docs/pages.md,
阵地与志愿者).

Decisions:
* Places × months as a heat map (pink: idle in a month its village logged activities),
  because an idle place shows as a run of pink cells at a glance.
* Volunteers are counted by kind (在职党员, 结对单位党员, 新乡贤, 埭长 …), with the active
  ones beside them; with the whole town chosen, each village's counts are listed too.
"""

import polars as pl
import streamlit as st

from metrics import batch
from metrics.explain_lists import explain_places
from metrics.places import place_months, place_usage
from metrics.volunteers import programme_summary, volunteer_summary
from ui import session
from ui.charts.lists_charts import place_heatmap, volunteer_bars
from ui.charts.look import titled_chart
from ui.db import query
from ui.filters import to_filter
from ui.tables import show_table
from ui.widgets import empty_notice, method_note, metric_card, page_header

PLACE_COLUMNS = (
    ("name", "place_name"),
    ("kind", "place_kind"),
    "village_name",
    "activities",
    "participants",
    "months",
    "idle_months",
    "last_used",
)
VOLUNTEER_COLUMNS = (
    ("kind", "volunteer_kind"),
    "volunteers",
    ("active", "active_volunteers"),
    "active_share",
    "participations",
    ("reports", "volunteer_reports"),
)
VILLAGE_VOLUNTEER_COLUMNS = (("unit_name", "village_name"), *VOLUNTEER_COLUMNS)
PROGRAMME_COLUMNS = (
    "programme",
    ("units", "partner_units"),
    ("villages", "paired_villages"),
    "volunteers",
    ("active", "active_volunteers"),
    "participations",
)


def headline(usage: pl.DataFrame, volunteers: pl.DataFrame) -> None:
    cols = st.columns(4)
    idle = usage.filter(pl.col("idle_months") > 0).height
    cols[0].metric("党群服务站点（个）", f"{usage.height:,}")
    cols[1].metric("有闲置月份的站点（个）", f"{idle:,}", help="村居有活动、但该站点当月未开展活动")
    total, active = int(volunteers["volunteers"].sum()), int(volunteers["active"].sum())
    metric_card(cols[2], "volunteers", total)
    metric_card(cols[3], "active_share", active / total if total else None)


def places_section(usage: pl.DataFrame, months: pl.DataFrame) -> None:
    st.subheader("阵地使用")
    if usage.is_empty():
        empty_notice("党群服务站点")
        return
    idle = usage.filter(pl.col("idle_months") > 0).sort("idle_months", descending=True)
    if idle.height:
        names = "、".join(f"{r['village_name']}{r['name']}" for r in idle.head(5).to_dicts())
        st.warning(
            f"{idle.height} 个站点在所选期间有闲置月份：{names}" + ("等" if idle.height > 5 else "")
        )
    if not months.is_empty():
        titled_chart(
            place_heatmap(months),
            "各站点每月开展活动场数（粉色：当月闲置）",
            key="places_heatmap",
            height=80 + 22 * months["place_id"].n_unique(),
        )
    ordered = usage.sort("idle_months", "activities", descending=[True, False])
    show_table(ordered, PLACE_COLUMNS, "阵地与志愿者_站点", key="places_table")


def volunteers_section(town: pl.DataFrame, per_village: pl.DataFrame, whole_town: bool) -> None:
    st.subheader("网格志愿者")
    if int(town["volunteers"].sum()) == 0:
        empty_notice("网格志愿者")
        return
    titled_chart(volunteer_bars(town), "各类志愿者人数与活跃人数", key="volunteer_bars", height=320)
    show_table(town, VOLUNTEER_COLUMNS, "阵地与志愿者_志愿者", key="volunteers_table")
    if whole_town:
        shown = per_village.filter(pl.col("volunteers") > 0)
        show_table(
            shown, VILLAGE_VOLUNTEER_COLUMNS, "阵地与志愿者_各村居志愿者", key="volunteers_villages"
        )


def programmes_section(programmes: pl.DataFrame) -> None:
    st.subheader("结对单位项目")
    st.caption("城乡结对、双百结对、企村结对：结对单位党员以网格志愿者身份参与网格服务。")
    show_table(programmes, PROGRAMME_COLUMNS, "阵地与志愿者_结对项目", key="programmes_table")


def draw_page() -> None:
    page_header("阵地与志愿者")
    view = session.current_view()
    scope = to_filter(view)
    with batch():
        usage = query(place_usage, scope)
        months = query(place_months, scope)
        volunteers = query(volunteer_summary, scope)
        per_village = query(volunteer_summary, scope.at_level("village"))
        programmes = query(programme_summary, scope)
    headline(usage, volunteers)
    places_section(usage, months)
    volunteers_section(volunteers, per_village, not view.village_id)
    programmes_section(programmes)
    method_note(explain_places())


draw_page()
