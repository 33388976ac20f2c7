"""用户与审计 (管理员): manage dashboard users and read the audit log (see
docs/pages.md, 用户与审计, and docs/security.md)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from auth.roles import ROLES, SECRETARY
from auth.store import UserStore, UserStoreError
from metrics import registry
from store import audit
from ui import session
from ui.db import cursor, query
from ui.navigation import require_page
from ui.tables import data_grid, show_records
from ui.text import plain


def users_table(store: UserStore, names: dict[str, str]) -> None:
    """The accounts in the users file (never their hashes); a village by its name with
    its id. Where the file lives and how to script it are in docs/sign-in.md, not on
    the page: an administrator's screen is read over their shoulder."""
    users = store.users()
    frame = pl.DataFrame(
        {
            "用户名": [u.username for u in users],
            "显示名": [u.display_name for u in users],
            "角色": [u.role for u in users],
            "所属村居": [village_with_id(u.village_id, names) for u in users],
        }
    )
    data_grid(frame)
    st.caption("密码只以不可还原的方式加密保存，任何人（包括管理员）都无法查看。")


def village_with_id(village_id: str | None, names: dict[str, str]) -> str:
    """'营房村（CJ03）'; 全部 for an account not held to one village."""
    if not village_id:
        return "全部"
    return f"{names.get(village_id, village_id)}（{village_id}）"


def save_user(store: UserStore, username, password, role, village, display) -> None:
    """Add or change an account (audited), or say why not."""
    try:
        store.set_user(
            username.strip(),
            password,
            role,
            village_id=village if role == SECRETARY else None,
            display_name=display.strip() or None,
        )
    except UserStoreError as exc:
        st.error(str(exc))
        return
    audit.record(cursor(), session.user_name(), "user_change", f"保存用户 {username}")
    st.success(f"已保存用户 {plain(username)}。")


def add_user_form(store: UserStore, names: dict[str, str]) -> None:
    """新增或修改用户."""
    with st.form("add_user", clear_on_submit=True):
        st.subheader("新增或修改用户")
        username = st.text_input("用户名", key="admin_username")
        display = st.text_input("显示名", key="admin_display")
        role = st.selectbox("角色", ROLES, key="admin_role")
        village = st.selectbox(
            "所属村居（仅村居书记）",
            ["", *names],
            key="admin_village",
            format_func=lambda v: village_with_id(v, names) if v else "—",
        )
        password = st.text_input("密码（至少 8 位）", type="password", key="admin_password")
        if st.form_submit_button("保存用户", type="primary"):
            save_user(store, username, password, role, village, display)


def remove_user_form(store: UserStore) -> None:
    """删除用户 (never the signed-in administrator's own account)."""
    with st.form("remove_user"):
        st.subheader("删除用户")
        target = st.selectbox("用户", [u.username for u in store.users()], key="admin_remove")
        if not st.form_submit_button("删除"):
            return
        if target == session.user_name():
            st.error("不能删除当前登录的管理员账号。")
            return
        store.remove(target)
        audit.record(cursor(), session.user_name(), "user_change", f"删除用户 {target}")
        st.success(f"已删除用户 {plain(target)}。")


def audit_log() -> None:
    st.caption("登录、上传、撤销、零报告、边界更新、导出和用户变更，按时间倒序（最近 500 条）。")
    show_records(audit.entries(cursor(), limit=500), "审计日志", key="audit_log")


def draw_page() -> None:
    require_page("admin")
    st.title("用户与审计")
    tab_users, tab_audit = st.tabs(["用户", "审计日志"])
    villages = query(registry.villages)
    names = dict(villages.select("village_id", "name").iter_rows())
    with tab_users:
        store = UserStore.load()
        users_table(store, names)
        add_user_form(store, names)
        remove_user_form(store)
    with tab_audit:
        audit_log()


draw_page()
