"""责任落实: the six-level team as a chain, the 责任清单's fulfilment per level and
village, vacant posts, and the people of one level down to each person's duties (see
docs/pages.md, 责任落实).

Decisions:
* The chain is drawn top down (督导员 first), one bar per level, red where the level
  has vacant posts: the question a leader asks is "which link is weak".
* People are shown by name as the role may see them (``ui.privacy``: masked for 镇领导),
  in the tables, the person picker and the exports.
* A person's duties are listed period by period with their status words (已完成 …),
  the standard each is judged by beside it.
"""

import polars as pl
import streamlit as st

from metrics import batch
from metrics.duties import duties_of_person, duty_catalogue
from metrics.explain_lists import explain_responsibility
from metrics.glossary import label
from metrics.posts import unassigned, vacancies
from metrics.registry import subgrids
from metrics.team import level_chain, level_people, team_fulfilment
from store.duty_catalogue import TEAM_ROLES
from ui import session
from ui.charts.look import titled_chart
from ui.charts.team_chain import chain_bars, level_heatmap
from ui.db import query
from ui.exports import export_buttons
from ui.filters import to_filter
from ui.privacy import display_name, mask_columns
from ui.tables import labelled, rows_height, show_table
from ui.widgets import empty_notice, method_note, metric_card, page_header

CHAIN_COLUMNS = ("level", "role", "people", "vacant", "duties_due", "duties_done", "fulfilment")
PEOPLE_COLUMNS = (
    "person_id",
    "name",
    "village_name",
    "subgrid_name",
    "duties_due",
    "duties_done",
    "unrated",
    "fulfilment",
)
DUTY_COLUMNS = (
    "period_label",
    "duty_id",
    ("status", "duty_status"),
    "value",
    "target",
    "signal_text",
    "duty_text",
)
VACANCY_COLUMNS = (
    "village_name",
    "subgrid_name",
    "role",
    "needed",
    ("held", "post_held"),
    "vacant",
)
UNASSIGNED_COLUMNS = ("person_id", "name", "village_name", "role", "active_from")
CATALOGUE_COLUMNS = (
    "duty_id",
    "role",
    "duty_text",
    "frequency_label",
    "signal_text",
    "measured",
)
LEVEL_KEY, PERSON_KEY = "responsibility_level", "responsibility_person"


def headline(chain: pl.DataFrame, vacant: pl.DataFrame, waiting: pl.DataFrame) -> None:
    due, done = int(chain["duties_due"].sum()), int(chain["duties_done"].sum())
    cols = st.columns(4)
    metric_card(cols[0], "fulfilment", done / due if due else None)
    metric_card(cols[1], "duties_due", due, help=f"其中已履职 {done:,} 人·次")
    metric_card(cols[2], "vacant", int(vacant["vacant"].sum()))
    cols[3].metric(
        "未分配子网格（人）", f"{waiting.height:,}", help="有子网格的角色但未填子网格编号"
    )


def the_chain(chain: pl.DataFrame) -> None:
    st.subheader("六级责任链")
    titled_chart(
        chain_bars(chain),
        f"各层级{label('fulfilment')}（红色：有空缺岗位）",
        key="responsibility_chain",
        height=330,
    )
    show_table(chain, CHAIN_COLUMNS, "责任落实_六级责任链", key="responsibility_chain_table")


def villages_by_level(per_village: pl.DataFrame) -> None:
    st.subheader("各村居分层级履职率")
    if per_village.is_empty():
        empty_notice("履职数据")
        return
    titled_chart(
        level_heatmap(per_village),
        f"村居 × 层级的{label('fulfilment')}（空白：期间内无应履职事项）",
        key="responsibility_heatmap",
        height=60 + 30 * per_village["village_id"].n_unique(),
    )
    export_buttons(
        labelled(per_village, ("village_name", *CHAIN_COLUMNS)),
        "责任落实_各村居分层级",
        key="responsibility_villages",
    )


def with_unit_names(frame: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (village_id, subgrid_id) with the village's and the sub-grid's names."""
    villages = session.village_names()
    names = dict(zip(grid["subgrid_id"].to_list(), grid["name"].to_list(), strict=True))
    return frame.with_columns(
        pl.col("village_id")
        .replace_strict(villages, default=pl.col("village_id"))
        .alias("village_name"),
        pl.col("subgrid_id").replace_strict(names, default="—").alias("subgrid_name"),
    )


def one_level(scope, grid: pl.DataFrame) -> None:
    """The people of a chosen level, weakest first, and one person's duties."""
    st.subheader("逐级查看：人员与职责")
    role = st.selectbox("层级", TEAM_ROLES, key=LEVEL_KEY)
    people = query(level_people, scope, role)
    if people.is_empty():
        empty_notice(f"{role}的履职数据")
        return
    people = with_unit_names(people, grid)
    shown = mask_columns(people, "name")
    show_table(
        shown,
        PEOPLE_COLUMNS,
        f"责任落实_{role}",
        key="responsibility_people",
        height=rows_height(shown.height, cap=10),
    )
    labels = {
        r["person_id"]: f"{display_name(r['name'])}（{r['village_name']}"
        + ("" if r["subgrid_id"] is None else f" {r['subgrid_name']}")
        + "）"
        for r in people.iter_rows(named=True)
    }
    person = st.selectbox("查看此人的职责", list(labels), format_func=labels.get, key=PERSON_KEY)
    duties = query(duties_of_person, scope, person)
    if duties.is_empty():
        empty_notice("此人的职责记录")
        return
    show_table(duties, DUTY_COLUMNS, "责任落实_个人职责", key="responsibility_duties")


def posts_to_fill(vacant: pl.DataFrame, waiting: pl.DataFrame) -> None:
    st.subheader("空缺岗位与未分配子网格人员")
    if vacant.is_empty():
        st.success("期末各岗位均已配齐。")
    else:
        st.caption("按期末名册，在岗人数少于岗位配备要求的岗位。")
        show_table(vacant, VACANCY_COLUMNS, "责任落实_空缺岗位", key="responsibility_vacant")
    if waiting.is_empty():
        st.success("期末在册人员均已分配子网格。")
    else:
        st.caption("有子网格的角色（含普通党员）但未填写子网格编号，不计入任何子网格的队伍和分母。")
        shown = mask_columns(waiting, "name")
        show_table(
            shown, UNASSIGNED_COLUMNS, "责任落实_未分配子网格", key="responsibility_unassigned"
        )


def catalogue() -> None:
    with st.expander("责任清单（21 项职责及完成标准）", expanded=False):
        show_table(duty_catalogue(), CATALOGUE_COLUMNS, "责任清单", key="responsibility_catalogue")


def draw_page() -> None:
    page_header("责任落实")
    view = session.current_view()
    scope = to_filter(view)
    with batch():
        chain = query(level_chain, scope)
        per_village = query(team_fulfilment, scope)
        vacant = query(vacancies, scope)
        waiting = query(unassigned, scope)
        grid = query(subgrids, view.village_id)
    if int(chain["duties_due"].sum()) == 0 and int(chain["people"].sum()) == 0:
        empty_notice("责任落实数据")
    else:
        vacant = vacant.with_columns(pl.col("subgrid_name").fill_null("（村居岗位）"))
        headline(chain, vacant, waiting)
        the_chain(chain)
        if not view.village_id:
            villages_by_level(per_village)
        one_level(scope, grid)
        posts_to_fill(vacant, waiting)
    catalogue()
    method_note(explain_responsibility())


draw_page()
