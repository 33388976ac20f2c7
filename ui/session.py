"""The one owner of the session's state: the signed-in user, the shared view, hand-offs.

Everything the dashboard keeps for a browser session between script runs goes through
this module, so that each key has one owner and one meaning:

* the signed-in user and its sign-in times and epoch (read and checked by
  :mod:`ui.auth_gate`; every other module asks :func:`user`), and its remembered
  sign-in token's digest and cookie hand-off (:mod:`ui.remembered_sign_in`);
* the shared view (month range and village) and the village names, set by the entry
  point before a page runs;
* values a widget callback leaves for the next run (a map click, a picked table row),
  taken once with :func:`take`.

Widget keys that only one page reads (e.g. ``coverage_month``) are that page's own;
it still reads and writes them through :func:`value` and :func:`put`.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from auth.roles import User

# The sign-in: tests sign a user in by setting these three (as the form would).
USER_KEY, SINCE_KEY, SEEN_KEY, EPOCH_KEY = "user", "auth_since", "auth_seen", "auth_epoch"
NOTICE_KEY = "auth_notice"
# The remembered sign-in (ui.remembered_sign_in): the digest of the session's token, never
# the token, and the nonce of a cookie hand-off the browser has yet to make.
TOKEN_KEY, HANDOFF_KEY = "auth_token", "auth_cookie_handoff"
VIEW_KEY, VILLAGE_NAMES_KEY = "current_view", "village_names"


# --- the signed-in user -----------------------------------------------------------------


def user() -> User | None:
    """The user signed in to this session, as stored (``ui.auth_gate`` checks it on
    every run before any page code runs)."""
    return st.session_state.get(USER_KEY)


def user_name() -> str:
    """The signed-in user's name for the audit trail."""
    return getattr(user(), "username", None) or "（未登录）"


def start_user_session(signed_in: User, epoch: str, now: float, since: float | None = None) -> None:
    """Record a sign-in: the user, when it signed in (``since``, default ``now``; a
    remembered sign-in keeps its first one) and was last seen, its epoch."""
    st.session_state[USER_KEY] = signed_in
    st.session_state[SINCE_KEY] = now if since is None else since
    st.session_state[SEEN_KEY] = now
    st.session_state[EPOCH_KEY] = epoch


def end_user_session() -> User | None:
    """Forget the signed-in user, its times and its token; returns who it was."""
    ended = st.session_state.pop(USER_KEY, None)
    for key in (SINCE_KEY, SEEN_KEY, EPOCH_KEY, TOKEN_KEY):
        st.session_state.pop(key, None)
    return ended


def token_digest() -> str | None:
    """The digest of the session's remembered sign-in token (None: not remembered)."""
    return st.session_state.get(TOKEN_KEY)


def set_token_digest(value: str) -> None:
    """Hold the session to the remembered sign-in token of digest ``value``."""
    st.session_state[TOKEN_KEY] = value


def cookie_handoff() -> str | None:
    """The nonce of the cookie hand-off the page has yet to make, if any."""
    return st.session_state.get(HANDOFF_KEY)


def set_cookie_handoff(nonce: str | None) -> None:
    """Ask the page to make the hand-off ``nonce`` (None: nothing left to hand off)."""
    if nonce is None:
        st.session_state.pop(HANDOFF_KEY, None)
    else:
        st.session_state[HANDOFF_KEY] = nonce


def replace_user(current: User) -> None:
    """Keep ``current`` as the signed-in user (its display name changed in the file)."""
    st.session_state[USER_KEY] = current


def signed_in_at() -> float:
    """When the session signed in (epoch seconds; 0 if unknown)."""
    return st.session_state.get(SINCE_KEY, 0.0)


def last_seen() -> float:
    """When the session last ran a script (epoch seconds; 0 if unknown)."""
    return st.session_state.get(SEEN_KEY, 0.0)


def seen(now: float) -> None:
    """Note that the session ran a script at ``now``."""
    st.session_state[SEEN_KEY] = now


def epoch() -> str | None:
    """The users file's epoch of the account when it signed in."""
    return st.session_state.get(EPOCH_KEY)


def set_epoch(value: str) -> None:
    """Hold the session to the account's epoch ``value`` from now on."""
    st.session_state[EPOCH_KEY] = value


def leave_notice(text: str) -> None:
    """A notice for the sign-in form (why the session ended)."""
    st.session_state[NOTICE_KEY] = text


def take_notice() -> str | None:
    """The notice left for the sign-in form, once."""
    return take(NOTICE_KEY)


# --- the shared view --------------------------------------------------------------------


def set_view_context(view, village_names: dict[str, str]) -> None:
    """Called by the entry point before the page runs: the sidebar's view and the
    village names (``ui.filters.View``)."""
    st.session_state[VIEW_KEY] = view
    st.session_state[VILLAGE_NAMES_KEY] = village_names


def current_view():
    """The month range and village the user chose in the sidebar (``ui.filters.View``)."""
    return st.session_state[VIEW_KEY]


def village_names() -> dict[str, str]:
    """village_id → display name."""
    return st.session_state.get(VILLAGE_NAMES_KEY, {})


# --- hand-offs and page state -------------------------------------------------------------


def take(key: str) -> Any:
    """Take (and clear) a value a widget callback left for this run."""
    return st.session_state.pop(key, None)


def value(key: str, default: Any = None) -> Any:
    """The session's value of ``key`` (a widget's state or a page's own)."""
    return st.session_state.get(key, default)


def put(key: str, stored: Any) -> None:
    """Set the session's value of ``key`` (e.g. a widget's default before it is drawn)."""
    st.session_state[key] = stored


def has(key: str) -> bool:
    """Whether the session holds a value for ``key``."""
    return key in st.session_state
