"""Sign-in for the dashboard: the form, session expiry, throttling and the audit.

The signed-in :class:`~auth.roles.User` lives in ``st.session_state["user"]``; a
session ends after ``session_idle_minutes`` without activity or ``session_max_hours``
in any case (both in the users file). Failed attempts are slowed down per user name
and per client address. Every sign-in, failure and sign-out is audited.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from auth.roles import User
from auth.store import UserStore, users_file
from auth.throttle import Throttle
from etl import audit
from ui.db import cursor

USER_KEY, SINCE_KEY, SEEN_KEY = "user", "auth_since", "auth_seen"
_NOTICE_KEY = "auth_notice"

# Shown on the sign-in page only while the users file says ``demo = true`` and only for
# accounts whose password is still the demo one (so a reset password is never shown).
DEMO_ACCOUNTS = {
    "leader": "leader-demo",
    "office": "office-demo",
    "cj03": "cj03-demo",
    "admin": "admin-demo",
}


@st.cache_resource
def _throttle() -> Throttle:
    """One throttle per server process, shared by all sessions."""
    return Throttle()


@st.cache_resource(ttl=30)
def _load_store(path: str) -> UserStore:
    return UserStore.load(Path(path))


def _store() -> UserStore:
    """The users file, re-read at most every 30 s (so an admin's change applies soon)."""
    return _load_store(str(users_file()))


def _client() -> str:
    """The client's address (``unknown`` when Streamlit cannot tell, e.g. in AppTest)."""
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        return "unknown"
    return address if isinstance(address, str) and address else "unknown"


def current_user() -> User | None:
    """The signed-in user, or None (also when the session has expired)."""
    user = st.session_state.get(USER_KEY)
    if user is None:
        return None
    store = _store()
    now = time.time()
    since = st.session_state.get(SINCE_KEY, 0.0)
    seen = st.session_state.get(SEEN_KEY, 0.0)
    if now - seen > store.session_idle_minutes * 60 or now - since > store.session_max_hours * 3600:
        sign_out(reason="会话已过期，请重新登录。")
        return None
    st.session_state[SEEN_KEY] = now
    return user


def sign_out(reason: str | None = None) -> None:
    user = st.session_state.pop(USER_KEY, None)
    st.session_state.pop(SINCE_KEY, None)
    st.session_state.pop(SEEN_KEY, None)
    if reason:
        st.session_state[_NOTICE_KEY] = reason
    if user is not None:
        audit.record(cursor(), user.username, "sign_out", reason or "")


def _attempt(username: str, password: str) -> str | None:
    """Try to sign in; returns an error message or None on success."""
    throttle = _throttle()
    keys = (f"user:{username}", f"client:{_client()}")
    wait = max(throttle.wait_seconds(k) for k in keys)
    if wait > 0:
        return f"尝试次数过多，请 {int(wait) + 1} 秒后再试。"
    user = _store().authenticate(username, password)
    if user is None:
        for key in keys:
            throttle.failure(key)
        audit.record(cursor(), username or "（空）", "sign_in_failed", _client())
        return "用户名或密码不正确。"
    for key in keys:
        throttle.success(key)
    now = time.time()
    st.session_state[USER_KEY] = user
    st.session_state[SINCE_KEY] = now
    st.session_state[SEEN_KEY] = now
    audit.record(cursor(), user.username, "sign_in", _client())
    return None


def sign_in_form() -> None:
    """The sign-in page (the only thing shown until a user signs in)."""
    st.title("漕泾镇网格化党建看板")
    notice = st.session_state.pop(_NOTICE_KEY, None)
    if notice:
        st.info(notice)
    with st.form("sign_in", border=True):
        st.subheader("登录")
        username = st.text_input("用户名", key="sign_in_user")
        password = st.text_input("密码", type="password", key="sign_in_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        error = _attempt(username.strip(), password)
        if error:
            st.error(error)
        else:
            st.rerun()
    hints = _demo_hints()
    if hints:
        st.caption("演示模式（正式部署请在用户文件中设 demo = false 并重设密码）：\n" + hints)


def _demo_hints() -> str:
    """Markdown list of the demo accounts whose demo password still works (demo mode only)."""
    return _demo_hints_of(str(users_file()))


@st.cache_resource(ttl=30)
def _demo_hints_of(path: str) -> str:
    store = _load_store(path)
    if not store.demo:
        return ""
    users = {u.username: u for u in store.users()}
    lines = []
    for name, password in DEMO_ACCOUNTS.items():
        if name in users and store.authenticate(name, password) is not None:
            scope = f"（{users[name].village_id}）" if users[name].village_id else ""
            lines.append(f"- `{name}` / `{password}` — {users[name].role}{scope}")
    return "\n".join(lines)


def sidebar_account(user: User) -> None:
    """Who is signed in, and the sign-out button."""
    with st.sidebar:
        scope = f" · {user.village_id}" if user.village_id else ""
        st.caption(f"当前用户：{user.display_name}（{user.role}{scope}）")
        if st.button("退出登录", key="sign_out"):
            sign_out()
            st.rerun()
