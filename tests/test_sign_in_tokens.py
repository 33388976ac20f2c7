"""Remembered sign-ins: the token store (a real SQLite file, its clock set by the test),
``python -m auth revoke-sessions``, and the dashboard's use of them through the sign-in
form (AppTest). What only a browser shows (the cookie, a reload, a pasted link):
test_sign_in_persistence_browser.py; the cookie's route: test_session_cookie_route.py.
"""

from __future__ import annotations

import sqlite3
import stat

import pytest
from streamlit.testing.v1 import AppTest

from auth.__main__ import main as auth_cli
from auth.roles import LEADER, OFFICE, SECRETARY
from auth.session_cookie import pending
from auth.session_tokens import (
    ACCOUNT_CHANGED,
    EXPIRED,
    FORGET_AFTER_SECONDS,
    REVOKED,
    SIGNED_OUT,
    SessionTokens,
    digest,
    sessions_file,
)
from auth.sign_in import REMOVED
from auth.store import UserStore
from tests.support.loading import copy_db
from tests.support.page_runs import DASHBOARD, texts
from tests.test_sign_in_sessions import PASSWORD, audit_rows, on_sign_in_form, submit
from ui.session import HANDOFF_KEY, TOKEN_KEY

HOUR = 3600.0


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def later(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def users(tmp_path) -> UserStore:
    """A users file with the default limits: 30 minutes idle, 8 hours in all."""
    store = UserStore.load(tmp_path / "users.toml")
    store.set_user("t_leader", PASSWORD, LEADER, display_name="令牌领导")
    store.set_user("t_cj03", PASSWORD, SECRETARY, village_id="CJ03", display_name="令牌书记")
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(tmp_path, clock) -> SessionTokens:
    return SessionTokens(sessions_file(tmp_path / "grid.duckdb"), clock=clock)


def issue(tokens: SessionTokens, users: UserStore, name: str) -> str:
    return tokens.issue(name, users.fingerprint(name), users.session_max_hours * HOUR)


# ------------------------------------------------------------------ the store


def test_a_token_is_random_and_only_its_digest_is_kept_owner_only(tokens, users):
    first, second = issue(tokens, users, "t_leader"), issue(tokens, users, "t_leader")
    assert first != second and len(first) >= 43  # 32 random bytes, URL-safe base64
    assert tokens.get(digest(first)).username == "t_leader"
    assert tokens.get(first) is None  # looked up by digest only
    data = tokens.path.read_bytes() + b"".join(
        p.read_bytes() for p in tokens.path.parent.glob(tokens.path.name + "-*")
    )
    assert first.encode() not in data and second.encode() not in data
    assert digest(first).encode() in data
    assert stat.S_IMODE(tokens.path.stat().st_mode) == 0o600
    assert tokens.path.name == "grid.duckdb.sessions.sqlite3"


def test_a_token_ends_after_the_idle_limit_and_stays_ended(tokens, users, clock):
    token = issue(tokens, users, "t_leader")
    clock.later(29 * 60)
    assert tokens.resume(token, users).user.username == "t_leader"  # and counts as seen
    clock.later(29 * 60)
    assert tokens.resume(token, users).problem is None  # 29 min after it was last seen
    clock.later(31 * 60)
    assert tokens.resume(token, users).problem == EXPIRED
    users.session_idle_minutes = 600  # a longer limit later does not bring it back
    assert tokens.resume(token, users).problem == EXPIRED
    assert tokens.get(digest(token)).revoked is not None


def test_activity_keeps_a_token_only_until_the_absolute_limit(tokens, users, clock):
    token = issue(tokens, users, "t_leader")
    for _ in range(23):  # seen every 20 minutes: 7 h 40 min
        clock.later(20 * 60)
        assert tokens.use(digest(token), 30, 8) is None
    clock.later(25 * 60)  # 8 h 5 min after the sign-in
    assert tokens.use(digest(token), 30, 8) == EXPIRED
    # A shorter limit set in the users file applies to tokens already issued.
    other = issue(tokens, users, "t_leader")
    clock.later(2 * HOUR - 60)
    assert tokens.use(digest(other), 600, 8) is None
    assert tokens.use(digest(other), 600, 1) == EXPIRED


def test_last_seen_is_written_at_most_once_a_minute(tokens, users, clock):
    token = issue(tokens, users, "t_leader")
    issued = tokens.get(digest(token)).last_seen
    clock.later(30)
    assert tokens.use(digest(token), 30, 8) is None
    assert tokens.get(digest(token)).last_seen == issued
    clock.later(31)
    assert tokens.use(digest(token), 30, 8) is None
    assert tokens.get(digest(token)).last_seen == clock.now


def test_revoking_one_token_and_all_tokens_of_a_user(tokens, users):
    one, two, three = (issue(tokens, users, "t_leader") for _ in range(3))
    other = issue(tokens, users, "t_cj03")
    assert tokens.revoke(digest(one), SIGNED_OUT) is True
    assert tokens.revoke(digest(one), REVOKED) is False  # already revoked: reason kept
    assert tokens.use(digest(one), 30, 8) == SIGNED_OUT
    assert tokens.use(digest(two), 30, 8) is None
    assert tokens.live_count("t_leader") == 2
    assert tokens.revoke_user("t_leader") == 2
    assert tokens.revoke_user("t_leader") == 0
    assert tokens.resume(three, users).problem == REVOKED
    assert tokens.resume(other, users).user.username == "t_cj03"


def change_role(users: UserStore) -> None:
    users.set_user("t_cj03", PASSWORD, LEADER, display_name="令牌书记")


def change_village(users: UserStore) -> None:
    users.set_user("t_cj03", PASSWORD, SECRETARY, village_id="CJ05", display_name="令牌书记")


def same_password_again(users: UserStore) -> None:
    users.reset_password("t_cj03", PASSWORD)  # a new salt: a new hash


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda users: users.remove("t_cj03"), REMOVED),
        (change_role, ACCOUNT_CHANGED),
        (change_village, ACCOUNT_CHANGED),
        (same_password_again, ACCOUNT_CHANGED),
    ],
    ids=["removed", "role", "village", "password"],
)
def test_a_changed_account_revokes_its_tokens(tokens, users, change, problem):
    token = issue(tokens, users, "t_cj03")
    change(users)
    current = UserStore.load(users.path)
    assert tokens.resume(token, current).problem == problem
    assert tokens.get(digest(token)).reason == problem
    UserStore.load(users.path).set_user(  # putting the account back does not revive it
        "t_cj03", PASSWORD, SECRETARY, village_id="CJ03", display_name="令牌书记"
    )
    assert tokens.resume(token, UserStore.load(users.path)).problem == problem


def test_a_new_display_name_keeps_the_token(tokens, users):
    token = issue(tokens, users, "t_cj03")
    users.records["t_cj03"]["display_name"] = "新名字"
    users.save()
    resumed = tokens.resume(token, UserStore.load(users.path))
    assert resumed.problem is None and resumed.user.display_name == "新名字"


def test_an_unknown_token_is_worth_nothing_and_dead_ones_are_forgotten(tokens, users, clock):
    assert tokens.resume("not-a-token", users) == tokens.resume("", users)
    assert tokens.resume("not-a-token", users).user is None
    assert tokens.resume("not-a-token", users).token is None
    old = issue(tokens, users, "t_leader")
    tokens.revoke(digest(old), SIGNED_OUT)
    clock.later(FORGET_AFTER_SECONDS - 60)
    issue(tokens, users, "t_leader")
    assert tokens.get(digest(old)) is not None  # a reload can still say why
    clock.later(120)
    issue(tokens, users, "t_leader")
    assert tokens.get(digest(old)) is None


def test_revoke_sessions_on_the_command_line(tmp_path, users, capsys):
    db = tmp_path / "grid.duckdb"
    tokens = SessionTokens(sessions_file(db))
    kept = issue(tokens, users, "t_cj03")
    for _ in range(2):
        issue(tokens, users, "t_leader")
    assert auth_cli(["revoke-sessions", "t_leader", "--db", str(db)]) == 0
    assert "已撤销 t_leader 的 2 个登录" in capsys.readouterr().out
    assert tokens.live_count("t_leader") == 0
    assert tokens.use(digest(kept), 30, 8) is None
    assert auth_cli(["revoke-sessions", "t_leader", "--db", str(db)]) == 0
    assert "t_leader 没有有效的登录" in capsys.readouterr().out


def test_a_store_that_cannot_be_written_is_an_error_of_the_command_line(tmp_path, capsys):
    folder = tmp_path / "not-a-folder"
    folder.write_text("a file where the database's folder should be")
    assert auth_cli(["revoke-sessions", "t_leader", "--db", str(folder / "grid.duckdb")]) == 1
    assert "错误：无法写入" in capsys.readouterr().err


# ------------------------------------------------------------------ through the dashboard


@pytest.fixture
def app(tmp_path, sample_db, monkeypatch):
    """The dashboard on its own database copy and users file."""
    db = copy_db(sample_db, tmp_path / "grid.duckdb")
    store = UserStore.load(tmp_path / "users.toml")
    store.set_user("t_office", PASSWORD, OFFICE, display_name="令牌镇办")
    monkeypatch.setenv("GRID_DB", str(db))
    monkeypatch.setenv("GRID_USERS", str(store.path))
    return SessionTokens(sessions_file(db))


def signed_in_through_the_form(name: str) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    submit(at, name, PASSWORD)
    assert not at.exception
    assert not on_sign_in_form(at), texts(at)
    return at


@pytest.mark.slow
def test_a_sign_in_through_the_form_is_remembered_and_sign_out_revokes_it(app):
    at = signed_in_through_the_form("t_office")
    token_digest = at.session_state[TOKEN_KEY]
    assert app.get(token_digest).username == "t_office"
    assert pending(at.session_state[HANDOFF_KEY])  # the page is to set the cookie

    at.sidebar.button(key="sign_out").click().run()
    assert on_sign_in_form(at)
    assert app.get(token_digest).reason == SIGNED_OUT
    assert TOKEN_KEY not in at.session_state
    assert pending(at.session_state[HANDOFF_KEY])  # the page is to clear the cookie


@pytest.mark.slow
def test_revoke_sessions_ends_an_open_session_at_its_next_interaction(app, capsys):
    at = signed_in_through_the_form("t_office")
    at.run()
    assert not on_sign_in_form(at)
    assert auth_cli(["revoke-sessions", "t_office"]) == 0  # GRID_DB names the database
    assert "1 个登录" in capsys.readouterr().out
    at.run()
    assert on_sign_in_form(at)
    assert REVOKED in texts(at)
    assert ("t_office", REVOKED) in audit_rows("sign_out")


@pytest.mark.slow
def test_a_remembered_sign_in_idle_too_long_ends_the_session(app):
    at = signed_in_through_the_form("t_office")
    token_digest = at.session_state[TOKEN_KEY]
    # Another page of the same browser used the token last 31 minutes ago (the
    # session's own clock is fresh: only the token store can end it).
    with sqlite3.connect(app.path) as con:
        con.execute(
            "UPDATE sign_in_tokens SET last_seen = last_seen - 31 * 60 WHERE digest = ?",
            [token_digest],
        )
    at.run()
    assert on_sign_in_form(at)
    assert EXPIRED in texts(at)
    assert app.get(token_digest).reason == EXPIRED
