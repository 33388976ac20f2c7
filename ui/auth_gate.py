"""Sign-in for the dashboard: the form, the session and its checks on every run.

The signed-in :class:`~auth.roles.User` is kept by :mod:`ui.session` with the time it
signed in, the time it was last seen and its session epoch
(:meth:`auth.store.UserStore.epoch`, never the password hash). On every script run
:func:`checked_user` checks the session: expiry (``session_idle_minutes``,
``session_max_hours`` in the users file) and, against the users file as it is now
(re-read when it changed), that the account still exists with the same role and
village, that its password was not set again and, with ``demo = false``, that it is
not a demo password. Otherwise the session ends at that interaction, with a notice on
the sign-in form and an audit entry. A run without a signed-in user first tries the
browser's remembered sign-in, and a signed-in run checks it is still good
(:mod:`ui.remembered_sign_in`); a sign-out revokes it.

What an attempt may do is decided in :mod:`auth.sign_in` (input limits, the throttle
in the database, the cap on concurrent password checks, demo passwords). Nothing that
must hold against a user lives in Streamlit's caches: any client can clear them.
"""

from __future__ import annotations

import logging
import threading
import time

import streamlit as st

from auth.roles import User
from auth.settings import ServerSettings, SignInSettings, client_address, current_settings
from auth.sign_in import attempt, session_problem, unsafe_start_message
from auth.store import UserStore, UserStoreError, current_store, demo_password, loose_mode
from auth.throttle import Throttle
from store import audit
from store.paths import resolve_db_path
from store.toml_config import ConfigError
from ui import remembered_sign_in, session
from ui.db import cursor
from ui.text import plain

_log = logging.getLogger("grid.auth")


def _store() -> UserStore:
    """The users file as it is now; a broken file stops every page with its error."""
    try:
        return current_store()
    except UserStoreError as exc:
        st.error(plain(str(exc)))
        st.stop()


def _settings() -> ServerSettings:
    """``server.toml`` as it is now; a broken file refuses sign-in with its error."""
    try:
        return current_settings()
    except ConfigError as exc:
        st.error(plain(f"{exc}（修正后刷新页面即可登录）"))
        st.stop()


@st.cache_resource(show_spinner=False)
def sign_in_throttle(database: str, settings: SignInSettings) -> Throttle:
    """The throttle over the dashboard's database (``database`` keys the cache).

    Only this small object is cached: its counts are in the database and its lock and
    in-flight counts are module state, so clearing the cache resets nothing.
    """
    return Throttle(
        cursor,
        free=settings.free_attempts,
        base=settings.base_delay_seconds,
        cap=settings.max_delay_seconds,
    )


def _client(settings: ServerSettings) -> str:
    """The client's address (``auth.settings.client_address``: proxies per settings)."""
    try:
        peer = st.context.ip_address
        forwarded = st.context.headers.get_all("X-Forwarded-For")
    except (AttributeError, RuntimeError):  # no client: a bare script run
        peer, forwarded = None, []
    return client_address(peer, forwarded, settings.trusted_proxies)


_checked_lock = threading.Lock()
_checked: set[tuple] = set()


def startup_check() -> None:
    """Log what makes this server unsafe to run, once per version of each file.

    Runs at the top of every script run and costs a ``stat`` per file once done: the
    demo-password check (an argon2 verification per account) runs on the first run
    of the process and again only for accounts whose hash changed.
    """
    store = _store()
    key = ("users", str(store.path), store.version)
    with _checked_lock:
        first = key not in _checked
        _checked.add(key)
    if first:
        message = unsafe_start_message(store)
        if message:
            _log.error(message)
        mode = loose_mode(store.path)
        if mode is not None:
            _log.warning(
                "用户文件 %s 的权限为 %o，其他系统用户可读取密码哈希；请运行 chmod 600 %s",
                store.path,
                mode,
                store.path,
            )
    try:
        current_settings()
    except ConfigError as exc:
        with _checked_lock:
            first = str(exc) not in _checked
            _checked.add(str(exc))
        if first:
            _log.error("%s；修正前无人能登录", exc)


def checked_user() -> User | None:
    """The signed-in user after this run's checks, or None (also when the session has
    just been ended by them)."""
    store = _store()
    now = time.time()
    user = session.user() or remembered_sign_in.resume(store, now)
    if user is None:
        return None
    idle = now - session.last_seen() > store.session_idle_minutes * 60
    if idle or now - session.signed_in_at() > store.session_max_hours * 3600:
        sign_out(reason="会话已过期，请重新登录。")
        return None
    epoch = session.epoch()
    if epoch is None:
        # Only the sign-in form creates sessions, and it sets the epoch. A session
        # without one (server code put the user there) is held to the file from here.
        epoch = store.epoch(user.username)
        session.set_epoch(epoch)
    problem = session_problem(store, user, epoch or "") or remembered_sign_in.problem(store)
    if problem:
        sign_out(reason=problem)
        return None
    current = store.user(user.username)
    if current != user:  # only the display name can differ here: show the new one
        session.replace_user(current)
        user = current
    session.seen(now)
    return user


def sign_out(reason: str | None = None) -> None:
    """End the session (audited, its remembered sign-in revoked); ``reason`` is shown
    on the sign-in form."""
    remembered_sign_in.forget(reason)
    user = session.end_user_session()
    if reason:
        session.leave_notice(reason)
    if user is not None:
        audit.record(cursor(), user.username, "sign_out", reason or "")


def sign_in_form() -> None:
    """The sign-in page (the only thing shown until a user signs in)."""
    st.title("漕泾镇网格化党建看板")
    notice = session.take_notice()
    if notice:
        st.info(plain(notice))
    settings = _settings()
    with st.form("sign_in", border=True):
        st.subheader("登录")
        username = st.text_input("用户名", key="sign_in_user")
        password = st.text_input("密码", type="password", key="sign_in_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        result = attempt(
            _store(),
            settings.sign_in,
            sign_in_throttle(str(resolve_db_path()), settings.sign_in),
            cursor,
            username,
            password,
            _client(settings),
        )
        if result.error:
            st.error(plain(result.error))
        else:
            session.start_user_session(result.user, result.epoch, time.time())
            remembered_sign_in.remember(result.user, _store())
            st.rerun()
    hints = _demo_hints(_store())
    if hints:
        st.caption("演示模式（正式部署请在用户文件中设 demo = false 并重设密码）：\n" + hints)


def _demo_hints(store: UserStore) -> str:
    """Markdown list of the accounts whose demo password still works (demo mode only;
    a reset password is never shown)."""
    if not store.demo:
        return ""
    lines = []
    for name in store.demo_password_accounts():
        user = store.user(name)
        scope = f"（{plain(user.village_id)}）" if user.village_id else ""
        lines.append(f"- {plain(name)} / {plain(demo_password(name))} — {plain(user.role)}{scope}")
    return "\n".join(lines)


def sidebar_account(user: User, village_names: dict[str, str] | None = None, place=None) -> None:
    """Who is signed in (a 村居书记 with their village's name and id), and the sign-out
    button, in ``place`` (default: the sidebar)."""
    with place if place is not None else st.sidebar:
        village = (village_names or {}).get(user.village_id or "", user.village_id)
        named = f"{village}（{user.village_id}）" if village != user.village_id else village
        scope = f" · {plain(named)}" if user.village_id else ""
        st.caption(f"当前用户：{plain(user.display_name)}（{plain(user.role)}{scope}）")
        if st.button("退出登录", key="sign_out"):
            sign_out()
            st.rerun()
