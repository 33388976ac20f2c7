"""The 督办 page's forms: what each role may do to an item, and opening one by hand.

镇办人员 close, extend, reassign and may record feedback on any item, and open a 交办
item; a 村居书记 writes feedback on their own village's items; a 镇领导 reads. The
writer (:mod:`supervise.writer`) checks the role again, whatever this page shows. A
refused change shows its Chinese reason and changes nothing; a change done reruns the
page with a notice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import streamlit as st

from auth.roles import OFFICE, SECRETARY, User
from store.clock import today_local
from store.toml_config import ConfigError
from supervise import writer
from supervise.config import load_config
from supervise.items import owner_choices
from supervise.tables import CLOSED
from ui import session
from ui.db import cursor, reader
from ui.supervision import leave_notice

TEXT_LIMIT = writer.MAX_TEXT


def _apply(change: Callable[[], object], done: str) -> None:
    """Make the change; on success leave ``done`` for the next run and rerun."""
    try:
        change()
    except (writer.SupervisionError, ConfigError) as exc:
        st.error(str(exc))
        return
    leave_notice(done)
    st.rerun()


def _owner_picker(village_id: str, key: str) -> str | None:
    people = owner_choices(reader(), village_id)
    if people.is_empty():
        st.warning("该村居名册中没有在册的网格工作人员，无法指定责任人。")
        return None
    labels = {}
    for r in people.iter_rows(named=True):
        where = f"（{r['subgrid_name']}）" if r["subgrid_name"] else ""
        labels[r["person_id"]] = f"{r['role']} {r['name']}{where}"
    return st.selectbox("责任人", list(labels), format_func=labels.get, key=key)


def feedback_form(user: User, item: dict) -> None:
    """反馈: what the village did (its 村居书记, or the office on its behalf)."""
    with st.form(f"supervision_feedback_{item['item_id']}", clear_on_submit=False):
        text = st.text_area(
            "反馈内容",
            value=item["feedback"] or "",
            max_chars=TEXT_LIMIT,
            placeholder="已采取的措施、进展和还需要的支持",
        )
        if st.form_submit_button("提交反馈", type="primary"):
            _apply(
                lambda: writer.answer(cursor(), user, item["item_id"], text),
                f"已提交督办事项 #{item['item_id']} 的反馈。",
            )


def office_actions(user: User, item: dict) -> None:
    """办结, 延期, 指定责任人 and 代为反馈 for 镇办人员."""
    number = item["item_id"]
    close_tab, extend_tab, assign_tab, answer_tab = st.tabs(
        ["办结", "延期", "指定责任人", "代为反馈"]
    )
    with close_tab, st.form(f"supervision_close_{number}"):
        note = st.text_area("办结说明（可不填）", max_chars=TEXT_LIMIT)
        if st.form_submit_button("办结", type="primary"):
            _apply(
                lambda: writer.close(cursor(), user, number, note),
                f"督办事项 #{number} 已办结。",
            )
    with extend_tab, st.form(f"supervision_extend_{number}"):
        later = max(item["deadline"], today_local()) + timedelta(days=7)
        deadline = st.date_input("新的截止日期", value=later, format="YYYY-MM-DD")
        if st.form_submit_button("延期"):
            _apply(
                lambda: writer.extend(cursor(), user, number, deadline),
                f"督办事项 #{number} 已延期至 {deadline:%Y-%m-%d}。",
            )
    with assign_tab:
        owner = _owner_picker(item["village_id"], f"supervision_owner_{number}")
        if owner and st.button("指定为责任人", key=f"supervision_assign_{number}"):
            _apply(
                lambda: writer.assign(cursor(), user, number, owner),
                f"督办事项 #{number} 已指定责任人。",
            )
    with answer_tab:
        feedback_form(user, item)


def item_actions(user: User, item: dict) -> None:
    """The forms the user's role may use on ``item``."""
    if item["status"] == CLOSED:
        st.caption("该事项已办结，不能再修改。")
    elif user.role == OFFICE:
        office_actions(user, item)
    elif user.role == SECRETARY and user.village_id == item["village_id"]:
        feedback_form(user, item)
    else:
        st.caption("交办、延期和办结由镇办人员办理，反馈由本村居书记填写；当前账号只能查看。")


def manual_item_form(user: User, village_id: str | None) -> None:
    """新建交办事项 (镇办人员): a village, what to do, an owner and a deadline."""
    if user.role != OFFICE:
        return
    with st.expander("新建交办事项", icon=":material/add_task:"):
        names = session.village_names()
        if not names:
            st.info("名册中还没有村居。")
            return
        ids = list(names)
        village = st.selectbox(
            "村居",
            ids,
            index=ids.index(village_id) if village_id in ids else 0,
            format_func=names.get,
            key="supervision_new_village",
        )
        subject = st.text_area("督办内容", max_chars=TEXT_LIMIT, key="supervision_new_subject")
        owner = _owner_picker(village, "supervision_new_owner")
        try:
            days = load_config().deadline_days["manual"]
        except ConfigError as exc:
            st.error(str(exc))
            return
        deadline = st.date_input(
            "截止日期",
            value=today_local() + timedelta(days=days),
            format="YYYY-MM-DD",
            key="supervision_new_deadline",
        )
        if owner and st.button("交办", type="primary", key="supervision_new_submit"):
            _apply(
                lambda: writer.open_item(
                    cursor(),
                    user,
                    village_id=village,
                    subject=subject,
                    owner_id=owner,
                    deadline=deadline,
                ),
                f"已交办：{names.get(village, village)}。",
            )
