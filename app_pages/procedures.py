"""程序清单: the three procedures step by step — 党内重要事项决策, 乡村治理, 党员学习教育
— and the 制度清单's quarterly and half-yearly systems (see docs/pages.md, 程序清单).

Decisions:
* Each procedure is drawn as its stages top down, with the overdue items beside the
  items that reached each stage: where a procedure stalls is what the office follows up.
* The two lists to act on are tables: matters not yet 公示 (oldest wait first) and
  reports fed back to the 总网格长 but not yet discussed at a 例会.
"""

import polars as pl
import streamlit as st

from metrics import batch
from metrics.decision_procedure import decision_stages, decision_villages, open_matters
from metrics.explain_lists import explain_procedures
from metrics.glossary import label
from metrics.governance_procedure import governance_steps, undiscussed_reports
from metrics.study_procedure import study_steps
from metrics.systems import system_compliance, system_villages
from ui import session
from ui.charts.lists_charts import stage_bars
from ui.charts.look import titled_chart
from ui.charts.trends import month_trend
from ui.db import query
from ui.filters import to_filter
from ui.tables import show_table
from ui.widgets import empty_notice, method_note, metric_card, page_header

STAGE_COLUMNS = ("stage", "items", "median_days", ("overdue", "stage_overdue"))
DECISION_VILLAGE_COLUMNS = (
    "village_name",
    "matters",
    "supervised",
    "published",
    ("open", "open_matters"),
    ("overdue", "stage_overdue"),
    "days_to_publish",
)
OPEN_MATTER_COLUMNS = (
    "matter_id",
    "village_name",
    "subject",
    "stage",
    "stage_on",
    "days_waiting",
    ("overdue", "is_overdue"),
)
UNDISCUSSED_COLUMNS = (
    "report_id",
    "village_name",
    "subgrid_name",
    "category",
    "summary",
    "escalated_at",
    "status_at_end",
    "days_waiting",
    ("overdue", "is_overdue"),
)
STUDY_COLUMNS = (
    "month",
    "villages_active",
    "notified",
    "notice_share",
    ("reached", "reached_people"),
    ("reached_home", "reached_home_people"),
    "home_share",
    "pairs",
    "pairs_met",
    "pair_share",
)
SYSTEM_COLUMNS = (
    ("label", "system_label"),
    "frequency_label",
    "due",
    "met",
    ("share", "system_share"),
)
SYSTEM_VILLAGE_COLUMNS = (
    ("label", "system_label"),
    "village_name",
    "due",
    "met",
    ("share", "system_share"),
)


def headline(decisions: pl.DataFrame, waiting: pl.DataFrame, study: pl.DataFrame) -> None:
    stage = dict(zip(decisions["stage"].to_list(), decisions["items"].to_list(), strict=True))
    cols = st.columns(4)
    metric_card(cols[0], "matters", stage.get("总网格长提议", 0))
    metric_card(cols[1], "published", stage.get("结果公示", 0))
    cols[2].metric(
        "待例会讨论（件）", f"{waiting.height:,}", help="已反馈总网格长、期末尚未经例会讨论"
    )
    notified, active = study["notified"].sum(), study["villages_active"].sum()
    metric_card(cols[3], "notice_share", notified / active if active else None)


def decision_section(stages: pl.DataFrame, villages: pl.DataFrame, matters: pl.DataFrame) -> None:
    st.subheader("党内重要事项决策")
    st.caption("镇领导督导 → 总网格长提议 → 党员议事会商议 → 两委会决议或党员大会表决 → 结果公示")
    if int(stages["items"].sum()) == 0:
        empty_notice("重要事项决策记录")
    else:
        titled_chart(
            stage_bars(stages), "所选期间提议的事项：各环节件数与超期", "decision_stages", 300
        )
        show_table(stages, STAGE_COLUMNS, "程序清单_重要事项_环节", key="decision_stage_table")
        show_table(
            villages, DECISION_VILLAGE_COLUMNS, "程序清单_重要事项_各村居", key="decision_villages"
        )
    st.markdown("**尚未公示的事项**")
    if matters.is_empty():
        st.success("期末所有事项均已公示。")
    else:
        show_table(matters, OPEN_MATTER_COLUMNS, "程序清单_未公示事项", key="decision_open")


def governance_section(steps: pl.DataFrame, waiting: pl.DataFrame) -> None:
    st.subheader("乡村治理")
    st.caption("网格员/志愿者提供线索 → 子网格长受理核实 → 反馈总网格长 → 网格工作例会讨论 → 办结")
    if int(steps["items"].sum()) == 0:
        empty_notice("民情事项")
        return
    titled_chart(stage_bars(steps), "所选期间上报的事项：各环节件数与超期", "governance_steps", 360)
    show_table(steps, STAGE_COLUMNS, "程序清单_乡村治理_环节", key="governance_table")
    st.markdown("**已反馈总网格长、尚未经例会讨论的事项**")
    if waiting.is_empty():
        st.success("所选期间反馈的事项均已提交例会讨论。")
    else:
        show_table(waiting, UNDISCUSSED_COLUMNS, "程序清单_待例会讨论", key="governance_waiting")


def study_section(study: pl.DataFrame) -> None:
    st.subheader("党员学习教育")
    st.caption("总网格长下发学习提示 → 党员参学（年老体弱者送学上门）→ 老新结对、以老带老")
    if study.is_empty():
        empty_notice("学习教育数据")
        return
    if study.height > 1:
        titled_chart(
            month_trend(study, ["notice_share", "home_share", "pair_share"]),
            f"{label('notice_share')}、{label('home_share')}与{label('pair_share')}（按月）",
            key="study_steps_trend",
        )
    show_table(study, STUDY_COLUMNS, "程序清单_学习教育", key="study_steps_table")


def systems_section(systems: pl.DataFrame, per_village: pl.DataFrame, town: bool) -> None:
    st.subheader("制度清单：按季度、半年落实的制度")
    if int(systems["due"].sum()) == 0:
        st.info("所选范围内没有到期的季度或半年（季度在 3、6、9、12 月，半年在 6、12 月判断）。")
        return
    show_table(systems, SYSTEM_COLUMNS, "程序清单_制度落实", key="systems_table")
    if town and not per_village.is_empty():
        show_table(
            per_village, SYSTEM_VILLAGE_COLUMNS, "程序清单_制度落实_各村居", key="systems_villages"
        )


def draw_page() -> None:
    page_header("程序清单")
    view = session.current_view()
    scope = to_filter(view)
    with batch():
        decisions = query(decision_stages, scope)
        villages = query(decision_villages, scope)
        matters = query(open_matters, scope)
        steps = query(governance_steps, scope)
        waiting = query(undiscussed_reports, scope)
        study = query(study_steps, scope)
        systems = query(system_compliance, scope)
        per_village = query(system_villages, scope)
    headline(decisions, waiting, study)
    decision_section(decisions, villages, matters)
    governance_section(steps, waiting)
    study_section(study)
    systems_section(systems, per_village, not view.village_id)
    method_note(explain_procedures())


draw_page()
