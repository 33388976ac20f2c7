"""Signed-in sessions through the real dashboard (AppTest; one real ``streamlit run``
for what only a server shows): a session ends when its account changes in the users
file or when demo passwords are turned off, the form's throttle survives "clear cache",
the start-up check names accounts unsafe for production once, a bad server setting
refuses sign-in, and a server behind a proxy knows the client's address. (Attempts
through :func:`auth.sign_in.attempt` alone: test_sign_in_attempts.py.)
"""

from __future__ import annotations

import logging

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from auth.roles import LEADER, OFFICE, SECRETARY
from auth.sign_in import CHANGED, DEMO_BLOCKED, PASSWORD_RESET, REMOVED, WRONG, demo_refusal
from auth.store import UserStore
from tests.support.loading import copy_db
from tests.support.page_runs import DASHBOARD, texts
from ui.text import plain

PASSWORD = "right-password-1"


# ------------------------------------------------------------------ through the dashboard


@pytest.fixture
def app(tmp_path, sample_db, monkeypatch):
    """The dashboard on its own database copy, users file and server settings."""
    db = copy_db(sample_db, tmp_path / "grid.duckdb")
    users = UserStore.load(tmp_path / "users.toml")
    users.set_user("s_leader", PASSWORD, LEADER, display_name="会话领导")
    users.set_user("s_cj03", PASSWORD, SECRETARY, village_id="CJ03", display_name="会话书记")
    server = tmp_path / "server.toml"
    server.write_text("[sign_in]\nbase_delay_seconds = 600\nmax_delay_seconds = 600\n")
    monkeypatch.setenv("GRID_DB", str(db))
    monkeypatch.setenv("GRID_USERS", str(users.path))
    monkeypatch.setenv("GRID_SERVER_CONFIG", str(server))
    return users


def audit_rows(action: str) -> list[tuple[str, str]]:
    from ui.db import cursor  # the app's own connection: one writer per process

    return (
        cursor()
        .execute(
            "SELECT user_name, detail FROM audit_log WHERE action = ? ORDER BY logged_at", [action]
        )
        .fetchall()
    )


def submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="sign_in_user").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()
    return at.run()


def on_sign_in_form(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["用户名", "密码"]


def signed_in(username: str) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    submit(at, username, PASSWORD)
    assert not at.exception
    assert not on_sign_in_form(at), texts(at)
    return at


def change_village(users: UserStore) -> None:
    users.set_user("s_cj03", PASSWORD, SECRETARY, village_id="CJ05", display_name="会话书记")


def change_role(users: UserStore) -> None:
    users.set_user("s_cj03", PASSWORD, LEADER, display_name="会话书记")


@pytest.mark.parametrize(
    ("change", "notice"),
    [
        (lambda users: users.remove("s_cj03"), REMOVED),
        (change_role, CHANGED),
        (change_village, CHANGED),
        (lambda users: users.reset_password("s_cj03", "another-password-2"), PASSWORD_RESET),
    ],
    ids=["removed", "role", "village", "password"],
)
@pytest.mark.slow
def test_a_session_ends_when_its_account_changes(app, change, notice):
    at = signed_in("s_cj03")
    at.run()  # an unchanged file keeps the session
    assert not on_sign_in_form(at)

    change(UserStore.load(app.path))  # what python -m auth or the admin page does
    at.run()
    assert on_sign_in_form(at)
    assert plain(notice) in texts(at)
    assert ("s_cj03", notice) in audit_rows("sign_out")
    assert at.metric.len == 0


def test_a_new_display_name_keeps_the_session(app):
    at = signed_in("s_leader")
    users = UserStore.load(app.path)
    users.records["s_leader"]["display_name"] = "新名字*加粗*"
    users.save()
    at.run()
    assert not on_sign_in_form(at)
    caption = next(c.value for c in at.sidebar.caption if "当前用户" in c.value)
    assert caption == r"当前用户：新名字\*加粗\*（镇领导）"  # text, not Markdown


@pytest.mark.slow
def test_a_session_held_by_a_demo_password_ends_when_demo_is_turned_off(app):
    users = UserStore.load(app.path)
    users.set_user("wangwu", "wangwu-demo", LEADER)
    users.demo = True
    users.save()
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert "wangwu" in texts(at)  # listed among the demo accounts
    submit(at, "wangwu", "wangwu-demo")
    assert not on_sign_in_form(at)

    users = UserStore.load(app.path)
    users.demo = False
    users.save()
    at.run()
    assert on_sign_in_form(at)
    assert plain(DEMO_BLOCKED) in texts(at)
    submit(at, "wangwu", "wangwu-demo")
    assert on_sign_in_form(at)
    assert plain(demo_refusal("wangwu")) in texts(at)
    assert "演示模式" not in texts(at)  # no demo hints in production


def test_the_form_throttle_survives_clear_cache(app):
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    for _ in range(3):
        submit(at, "s_leader", "guess")
        assert WRONG in texts(at)
    st.cache_data.clear()
    st.cache_resource.clear()
    submit(at, "s_leader", PASSWORD)
    assert "尝试次数过多" in texts(at)
    assert on_sign_in_form(at)
    assert len(audit_rows("sign_in_failed")) == 3


def test_an_unsafe_start_is_logged_once_per_users_file_version(app, caplog):
    users = UserStore.load(app.path)
    users.set_user("olddemo", "olddemo-demo", OFFICE)  # demo = false (the file's default)
    caplog.set_level(logging.WARNING, logger="grid.auth")
    AppTest.from_file(DASHBOARD, default_timeout=120).run()
    AppTest.from_file(DASHBOARD, default_timeout=120).run()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "olddemo" in errors[0] and "s_leader" not in errors[0]
    assert "python -m auth reset-password" in errors[0]

    UserStore.load(app.path).reset_password("olddemo", "a-real-password")
    caplog.clear()
    AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert not [r for r in caplog.records if r.levelno == logging.ERROR]


def test_a_bad_server_config_refuses_sign_in_with_the_key(app, tmp_path):
    (tmp_path / "server.toml").write_text("[sign_in]\nfree_attempts = -1\n")
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert plain("sign_in.free_attempts") in texts(at)
    assert at.text_input.len == 0  # no form to submit


# ------------------------------------------------------------------ a real server


@pytest.mark.browser
def test_a_real_server_logs_an_unsafe_start_and_knows_the_proxied_client(tmp_path_factory):
    """``streamlit run`` on loopback with a users file that is not safe for production,
    reached as nginx on the same host reaches it (X-Forwarded-For set): the server log
    names the demo account, the form refuses it, and a failed attempt is attributed to
    the address in the header, not to the proxy."""
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS, wait_until_idle
    from harness.server import sample_database, streamlit_server, write_users
    from store.database import connect

    work = tmp_path_factory.mktemp("sign-in-server")
    db = sample_database(tmp_path_factory, work / "grid.duckdb")
    users = write_users(
        work / "users.toml",
        [("olddemo", "olddemo-demo", OFFICE, "旧演示"), ("real", PASSWORD, LEADER, "正式")],
    )
    log = db.with_suffix(".server.log")
    client = "198.51.100.23"
    with streamlit_server(db, {"GRID_USERS": str(users)}) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="zh-CN", extra_http_headers={"X-Forwarded-For": client}
        )
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(url)
        wait_until_idle(page)  # the first run has happened, and the check in it
        assert "olddemo" in log.read_text(encoding="utf-8", errors="replace")

        def try_sign_in(username: str, password: str) -> str:
            page.goto(url)  # a fresh form: no alert of an earlier attempt to mistake
            wait_until_idle(page)
            page.get_by_label("用户名").fill(username)
            page.get_by_label("密码").fill(password)
            page.get_by_role("button", name="登录").click()
            alert = page.locator('[data-testid="stAlertContentError"]')
            alert.wait_for()
            text = alert.inner_text()
            wait_until_idle(page)
            return text

        assert "python -m auth reset-password olddemo" in try_sign_in("olddemo", "olddemo-demo")
        assert WRONG in try_sign_in("real", "guess")
        browser.close()

    text = log.read_text(encoding="utf-8", errors="replace")
    unsafe = [line for line in text.splitlines() if "演示密码" in line and "olddemo" in line]
    assert len(unsafe) == 1
    assert unsafe[0].split("已禁止登录：")[1].split("。")[0] == "olddemo"
    con = connect(db, read_only=True)
    try:
        rows = con.execute(
            "SELECT user_name, detail FROM audit_log WHERE action = 'sign_in_failed' "
            "ORDER BY logged_at"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("olddemo", f"{client}（演示密码，demo = false）"), ("real", client)]
