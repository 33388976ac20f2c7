"""A sign-in attempt from start to end, and whether a signed-in session may go on.

No Streamlit here: :mod:`ui.auth_gate` draws the form and keeps the session; this
module decides. An attempt goes, in this order, through

1. the input limits (an over-long user name or password is refused before any
   hashing, and counted against the client only);
2. the throttle (:class:`auth.throttle.Throttle`: counted before the check, refused
   without an audit entry when over the limit, so a flood cannot fill the log);
3. a check slot (at most ``max_concurrent_checks`` argon2 verifications at once in
   the process, each ~64 MiB; an attempt that gets no slot within
   ``busy_wait_seconds`` is refused as busy and taken back from the throttle);
4. the password, then the production rule: with ``demo = false`` an account whose
   password is still its demo one does not get in;
5. the audit log (user name truncated to the length limit).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from auth.roles import User
from auth.settings import SignInSettings
from auth.store import UserStore, demo_password
from auth.throttle import Throttle, ThrottleBusy, Throttled
from store import audit

BUSY = "服务器繁忙，请稍后再试。"
WRONG = "用户名或密码不正确。"
EMPTY = "请输入用户名和密码。"

# Why a session was ended (shown on the sign-in form, written to the audit log).
REMOVED = "您的账号已被删除，已退出登录。"
CHANGED = "您的账号角色或所属村居已变更，请重新登录。"
PASSWORD_RESET = "您的密码已被重设，请用新密码重新登录。"
DEMO_BLOCKED = "您的账号仍在使用演示密码，正式部署时不能使用，已退出登录。请联系管理员重设密码。"


def demo_refusal(username: str) -> str:
    """What a user with a still-demo password reads when ``demo = false``."""
    return (
        f"账号 {username} 仍在使用演示密码，正式部署（demo = false）时不能登录。"
        f"请管理员运行 python -m auth reset-password {username} 重设密码。"
    )


@dataclass(frozen=True)
class Attempt:
    """The result of :func:`attempt`: a user and their session epoch, or an error."""

    user: User | None = None
    epoch: str | None = None
    error: str | None = None


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def check_slots(size: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore that caps concurrent password checks at ``size``."""
    with _slots_lock:
        return _slots.setdefault(size, threading.BoundedSemaphore(size))


def audit_name(username: str, limit: int) -> str:
    """The user name as the audit log keeps it: at most ``limit`` characters."""
    return username if len(username) <= limit else username[:limit] + "…"


def attempt(
    store: UserStore,
    settings: SignInSettings,
    throttle: Throttle,
    connect: Callable[[], duckdb.DuckDBPyConnection],
    username: str,
    password: str,
    client: str,
) -> Attempt:
    """Check one sign-in attempt; ``connect`` gives a cursor for the audit entry."""
    username = username.strip()
    if not username or not password:
        return Attempt(error=EMPTY)
    deadline = time.monotonic() + settings.busy_wait_seconds
    name_too_long = len(username) > settings.max_username_length
    # An over-long name is no account: only the client is charged for it.
    keys = [f"client:{client}"] if name_too_long else [f"user:{username}", f"client:{client}"]
    try:
        ticket = throttle.admit(keys, wait=settings.busy_wait_seconds)
    except Throttled as refused:
        return Attempt(error=f"尝试次数过多，请 {int(refused.wait_seconds) + 1} 秒后再试。")
    except ThrottleBusy:
        return Attempt(error=BUSY)

    def failed(detail: str, error: str) -> Attempt:
        ticket.failed()
        name = audit_name(username, settings.max_username_length)
        audit.record(connect(), name, "sign_in_failed", detail)
        return Attempt(error=error)

    with ticket:
        if name_too_long:
            limit = settings.max_username_length
            return failed(f"{client}（用户名过长）", f"用户名过长（最多 {limit} 个字符）。")
        if len(password) > settings.max_password_length:
            limit = settings.max_password_length
            return failed(f"{client}（密码过长）", f"密码过长（最多 {limit} 个字符）。")
        slots = check_slots(settings.max_concurrent_checks)
        if not slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            ticket.withdrawn()
            return Attempt(error=BUSY)
        try:
            user = store.authenticate(username, password)
        finally:
            slots.release()
        if user is None:
            return failed(client, WRONG)
        if not store.demo and password == demo_password(username):
            return failed(f"{client}（演示密码，demo = false）", demo_refusal(username))
        ticket.succeeded()
    audit.record(connect(), user.username, "sign_in", client)
    return Attempt(user=user, epoch=store.epoch(user.username))


def session_problem(store: UserStore, user: User, epoch: str) -> str | None:
    """Why the session of ``user`` (signed in with ``epoch``) must end now, or None.

    Checked on every script run against the users file as it is now: the account
    still exists with the same role and village, its password was not set again,
    and (``demo = false``) it no longer has its demo password.
    """
    current = store.user(user.username)
    if current is None:
        return REMOVED
    if (current.role, current.village_id) != (user.role, user.village_id):
        return CHANGED
    if store.epoch(user.username) != epoch:
        return PASSWORD_RESET
    if user.username in blocked_demo_accounts(store):
        return DEMO_BLOCKED
    return None


def blocked_demo_accounts(store: UserStore) -> tuple[str, ...]:
    """Accounts that may not sign in because ``demo = false`` and their password is
    still the demo one (empty in demo mode)."""
    return () if store.demo else store.demo_password_accounts()


def unsafe_start_message(store: UserStore) -> str | None:
    """The server-log error for a users file that is not safe to run with, or None."""
    blocked = blocked_demo_accounts(store)
    if not blocked:
        return None
    names = "、".join(blocked)
    return (
        f"不安全的启动：用户文件 {store.path} 设为 demo = false，"
        f"但以下账号仍在使用演示密码（用户名-demo），已禁止登录：{names}。"
        f"请逐个运行 python -m auth reset-password NAME 重设密码"
        f"（或用 python -m auth remove NAME 删除）。"
    )
