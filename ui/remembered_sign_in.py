"""Staying signed in across a reload (F5, a pasted link, a new tab of the same browser).

The dashboard's side of :mod:`auth.session_tokens` (the server's record of each
remembered sign-in) and :mod:`auth.session_cookie` (the HttpOnly cookie and its route):

* :func:`remember` — after a sign-in through the form: issue a token and hand it to
  the browser as a cookie (the page makes the hand-off, :func:`hand_over`);
* :func:`resume` — on a run without a signed-in user: the cookie's token, checked
  against the store and the users file, starts the session (with the original
  sign-in time, so a reload never extends ``session_max_hours``);
* :func:`problem` — on every signed-in run: the session's token is still good (not
  revoked by a sign-out in another page or ``python -m auth revoke-sessions``);
* :func:`forget` — at sign-out: revoke the token and clear the cookie.

Streamlit sees the cookies of the request that opened the page's WebSocket
(``st.context.cookies``), so a cookie set during a session counts from the next reload.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

import streamlit as st

from auth.roles import User
from auth.session_cookie import (
    COOKIE_NAME,
    ROUTE_PATH,
    hand_off,
    hand_off_clear,
    pending,
    route_served,
)
from auth.session_tokens import SIGNED_OUT, SessionTokens, digest, sessions_file
from auth.store import UserStore
from store import audit
from store.paths import resolve_db_path
from ui import session
from ui.db import cursor

_log = logging.getLogger("grid.auth")
_warned = threading.Event()  # the server log says once that reloads will not keep sign-ins

# The digest of the cookie this session has already looked at: the cookie does not
# change during a session, and a dead one is explained (and cleared) once.
COOKIE_SEEN_KEY = "auth_cookie_seen"
UNCHECKABLE = "暂时无法核对登录状态，请重新登录。"

# Runs in the page (not sandboxed, same origin): POST the nonce, once per nonce. The
# route answers with the cookie; the script never sees the token.
_HAND_OVER_JS = """
export default function ({ data }) {
  const nonce = data && data.nonce;
  if (!nonce || window.__gridCookieHandOff === nonce) return;
  window.__gridCookieHandOff = nonce;
  fetch(data.url, {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ nonce }),
  }).catch(() => { window.__gridCookieHandOff = null; });
}
"""
_hand_over_component = st.components.v2.component("grid_session_cookie", js=_HAND_OVER_JS)


def tokens() -> SessionTokens:
    """The token store of the dashboard's database."""
    return SessionTokens(sessions_file(resolve_db_path()))


def _cookie() -> str | None:
    try:
        # to_dict(): AppTest's stand-in client answers any single lookup with a mock.
        value = st.context.cookies.to_dict().get(COOKIE_NAME)
    except (AttributeError, RuntimeError):  # no client: a bare script run
        return None
    return value if isinstance(value, str) and value else None


def remember(user: User, store: UserStore) -> None:
    """After a sign-in through the form: a token for this browser, handed over as a
    cookie by the page's next run. A broken token store costs the reload, not the
    sign-in."""
    lifetime = store.session_max_hours * 3600
    try:
        token = tokens().issue(user.username, store.fingerprint(user.username) or "", lifetime)
    except (sqlite3.Error, OSError) as exc:
        _log.error("登录保持不可用（%s）：刷新页面后需重新登录", exc)
        return
    session.set_token_digest(digest(token))
    session.set_cookie_handoff(hand_off(token, lifetime))
    if not route_served() and not _warned.is_set():
        _warned.set()
        _log.warning(
            "服务器未以 streamlit run serve.py 启动，无法设置登录 Cookie：刷新页面后需重新登录"
        )


def resume(store: UserStore, now: float) -> User | None:
    """The user of this browser's cookie if its token is still good (the session is
    started), else None; a token that has just died is explained on the form, audited
    and cleared from the browser, once per session."""
    token = _cookie()
    if token is None or session.value(COOKIE_SEEN_KEY) == digest(token):
        return None
    session.put(COOKIE_SEEN_KEY, digest(token))
    try:
        result = tokens().resume(token, store)
    except (sqlite3.Error, OSError) as exc:
        _log.error("登录保持不可用（%s）", exc)
        return None
    stored = result.token
    if stored is None:  # never issued here, or long forgotten
        return None
    if result.user is None:
        if result.problem != SIGNED_OUT:
            session.leave_notice(result.problem or UNCHECKABLE)
        if stored.revoked is None:  # good until this check: say why it ended
            audit.record(cursor(), stored.username, "sign_out", result.problem or "")
        session.set_cookie_handoff(hand_off_clear(stored.digest))
        return None
    epoch = store.epoch(result.user.username) or ""
    session.start_user_session(result.user, epoch, now, since=stored.created)
    session.set_token_digest(stored.digest)
    return result.user


def problem(store: UserStore) -> str | None:
    """Why the session's remembered sign-in has ended (None: it is good, or the
    session has none); a good one counts as seen."""
    token_digest = session.token_digest()
    if token_digest is None:
        return None
    try:
        return tokens().use(token_digest, store.session_idle_minutes, store.session_max_hours)
    except (sqlite3.Error, OSError) as exc:
        _log.error("登录保持无法核对（%s）", exc)
        return UNCHECKABLE


def forget(reason: str | None) -> None:
    """At sign-out: revoke the session's token (``reason`` is what another page of
    this browser reads at its next interaction) and clear the cookie."""
    token_digest = session.token_digest()
    if token_digest is None:
        return
    try:
        tokens().revoke(token_digest, reason or SIGNED_OUT)
    except (sqlite3.Error, OSError) as exc:
        _log.error("登录 Cookie 未能撤销（%s）", exc)
    session.set_cookie_handoff(hand_off_clear(token_digest))


def hand_over(where) -> None:
    """Draw (in ``where``, invisibly) the component that makes the pending cookie
    hand-off, until the browser has made it."""
    nonce = session.cookie_handoff()
    if nonce is None:
        return
    if not pending(nonce):
        session.set_cookie_handoff(None)
        return
    with where:
        _hand_over_component(key="grid_session_cookie", data={"nonce": nonce, "url": ROUTE_PATH})
