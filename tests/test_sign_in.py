"""Sign-in that holds: the throttle nobody can reset or race, the cap on concurrent
password checks, input limits, sessions that follow the users file and the refusal of
demo passwords in production, through :func:`auth.sign_in.attempt` (the function the
form calls) on real DuckDB files and users files, and through the real dashboard
(AppTest; one real ``streamlit run`` for what only a server shows).

Password checks are counted by what they leave behind: every checked wrong password
writes one ``sign_in_failed`` row to the audit log, an attempt refused before its
check writes none.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from auth.roles import LEADER, OFFICE, SECRETARY
from auth.settings import SignInSettings
from auth.sign_in import (
    BUSY,
    CHANGED,
    DEMO_BLOCKED,
    PASSWORD_RESET,
    REMOVED,
    WRONG,
    attempt,
    check_slots,
    demo_refusal,
)
from auth.store import UserStore
from auth.throttle import Throttle
from store import audit
from store.paths import REPO_ROOT
from tests.support.loading import copy_db
from tests.support.page_runs import DASHBOARD, texts
from ui.text import plain

PASSWORD = "right-password-1"
CLIENT = "203.0.113.9"
SIMULTANEOUS = 12
# Delays far longer than any test: a refusal can never turn into an admission because
# the machine was slow.
SLOW = SignInSettings(
    free_attempts=3,
    base_delay_seconds=600,
    max_delay_seconds=600,
    max_concurrent_checks=2,
    busy_wait_seconds=120,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> UserStore:
    users = UserStore.load(tmp_path_factory.mktemp("users") / "users.toml")
    users.set_user("alice", PASSWORD, OFFICE, display_name="甲")
    return users


@pytest.fixture
def db(tmp_path):
    """A fresh database file with the audit table, and a connection to it."""
    path = tmp_path / "grid.duckdb"
    con = duckdb.connect(str(path))
    audit.entries(con)  # creates audit_log, as the schema does
    yield path, con
    con.close()


def throttle_of(con, settings: SignInSettings = SLOW) -> Throttle:
    return Throttle(
        con.cursor,
        free=settings.free_attempts,
        base=settings.base_delay_seconds,
        cap=settings.max_delay_seconds,
    )


def failed_rows(con) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT user_name, detail FROM audit_log WHERE action = 'sign_in_failed'"
    ).fetchall()


def try_once(store, con, username, password, client=CLIENT, settings=SLOW):
    return attempt(
        store, settings, throttle_of(con, settings), con.cursor, username, password, client
    )


# ------------------------------------------------------------------ the throttle


def test_throttle_survives_cache_clears_and_a_new_process(store, db):
    path, con = db
    for _ in range(3):
        assert try_once(store, con, "alice", "guess").error == WRONG
    # What Streamlit's "clear cache" message does, for every session of the server.
    st.cache_data.clear()
    st.cache_resource.clear()
    refused = try_once(store, con, "alice", PASSWORD)
    assert refused.user is None and refused.error.startswith("尝试次数过多")
    assert len(failed_rows(con)) == 3  # the refusal was neither checked nor logged
    con.close()

    fresh = duckdb.connect(str(path))  # a new connection, a new Throttle object
    assert throttle_of(fresh).wait_seconds("user:alice") > 500
    fresh.close()
    probe = (
        "import duckdb; from auth.throttle import Throttle; "
        f"con = duckdb.connect({str(path)!r}); "
        "t = Throttle(con.cursor, free=3, base=600, cap=600); "
        "print(t.attempts('user:alice'), int(t.wait_seconds('client:" + CLIENT + "') > 500))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split() == ["3", "1"]


@pytest.mark.parametrize("varying", ["nothing", "user name", "client"])
def test_simultaneous_wrong_attempts_get_at_most_the_free_checks(store, db, varying):
    _, con = db
    throttle = throttle_of(con)
    start = threading.Barrier(SIMULTANEOUS)

    def one(i: int):
        username = f"nobody{i}" if varying == "user name" else "alice"
        client = f"198.51.100.{i}" if varying == "client" else CLIENT
        start.wait()
        return attempt(store, SLOW, throttle, con.cursor, username, "guess", client)

    with ThreadPoolExecutor(SIMULTANEOUS) as pool:
        errors = [r.error for r in pool.map(one, range(SIMULTANEOUS))]

    assert len(failed_rows(con)) == SLOW.free_attempts
    assert errors.count(WRONG) == SLOW.free_attempts
    assert all(e.startswith("尝试次数过多") for e in errors if e != WRONG), errors


@pytest.mark.slow
def test_simultaneous_right_passwords_all_get_in(store, db):
    """Twelve sessions signing in as one user at once wait for each other, not fail."""
    _, con = db
    throttle = throttle_of(con)
    start = threading.Barrier(SIMULTANEOUS)

    def one(_):
        start.wait()
        return attempt(store, SLOW, throttle, con.cursor, "alice", PASSWORD, CLIENT)

    with ThreadPoolExecutor(SIMULTANEOUS) as pool:
        results = list(pool.map(one, range(SIMULTANEOUS)))
    assert [r.error for r in results] == [None] * SIMULTANEOUS
    assert {r.user.username for r in results} == {"alice"}
    signed_in = con.execute("SELECT count(*) FROM audit_log WHERE action = 'sign_in'").fetchall()
    assert signed_in == [(SIMULTANEOUS,)]
    assert throttle.attempts("user:alice") == throttle.attempts(f"client:{CLIENT}") == 0


def test_a_success_clears_the_count(store, db):
    _, con = db
    for _ in range(2):
        assert try_once(store, con, "alice", "guess").error == WRONG
    assert throttle_of(con).attempts("user:alice") == 2
    assert try_once(store, con, "alice", PASSWORD).user is not None
    assert throttle_of(con).attempts("user:alice") == 0
    for _ in range(3):  # all the free attempts again
        assert try_once(store, con, "alice", "guess").error == WRONG
    assert try_once(store, con, "alice", "guess").error.startswith("尝试次数过多")


def test_delay_doubles_up_to_the_cap(db):
    _, con = db
    now = [1000.0]
    throttle = Throttle(con.cursor, free=3, base=2, cap=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.admit(["u"]).failed()
    assert throttle.wait_seconds("u") == pytest.approx(2)
    now[0] += 2
    throttle.admit(["u"]).failed()
    assert throttle.wait_seconds("u") == pytest.approx(4)
    for _ in range(20):
        now[0] += 60
        throttle.admit(["u"]).failed()
    assert throttle.wait_seconds("u") == pytest.approx(60)
    assert throttle.wait_seconds("other") == 0
    now[0] -= 3600  # a clock set back never means a longer wait than the delay
    assert throttle.wait_seconds("u") == pytest.approx(60)


# ------------------------------------------------------------------ the concurrency cap


def hold_every_check_slot(size: int) -> threading.BoundedSemaphore:
    slots = check_slots(size)
    for _ in range(size):
        assert slots.acquire(timeout=60), "a check slot stayed taken"
    return slots


def test_a_full_server_refuses_instead_of_queueing(store, db):
    _, con = db
    quick = SignInSettings(max_concurrent_checks=2, busy_wait_seconds=0.5)
    slots = hold_every_check_slot(2)
    try:
        busy = try_once(store, con, "alice", PASSWORD, settings=quick)
    finally:
        slots.release()
        slots.release()
    assert busy.user is None and busy.error == BUSY == "服务器繁忙，请稍后再试。"
    assert failed_rows(con) == []
    assert throttle_of(con, quick).attempts("user:alice") == 0  # taken back: never checked
    assert try_once(store, con, "alice", PASSWORD, settings=quick).user is not None


def test_over_long_names_are_refused_before_any_check(store, db):
    _, con = db
    quick = SignInSettings(max_username_length=64, busy_wait_seconds=0.5)
    name = "x" * 100_000
    # Every check slot is taken: an attempt that went on to a password check would
    # come back "busy", not "too long".
    slots = hold_every_check_slot(quick.max_concurrent_checks)
    try:
        long_name = try_once(store, con, name, "guess", settings=quick)
        long_password = try_once(store, con, "alice", "p" * 5000, settings=quick)
    finally:
        for _ in range(quick.max_concurrent_checks):
            slots.release()
    assert long_name.error == "用户名过长（最多 64 个字符）。"
    assert long_password.error == "密码过长（最多 1024 个字符）。"
    rows = failed_rows(con)
    assert rows[0] == ("x" * 64 + "…", f"{CLIENT}（用户名过长）")
    throttle = throttle_of(con, quick)
    assert throttle.attempts(f"client:{CLIENT}") == 2
    assert throttle.attempts("user:alice") == 1
    assert throttle.attempts(f"user:{name}") == 0  # no row keyed by the long name


def test_refused_attempts_are_not_each_logged(store, db):
    _, con = db
    results = [try_once(store, con, "alice", "guess").error for _ in range(50)]
    assert results.count(WRONG) == 3
    assert len(failed_rows(con)) == 3


# ------------------------------------------------------------------ demo passwords


def test_demo_false_refuses_a_demo_password_of_any_account(tmp_path, db):
    _, con = db
    users = UserStore.load(tmp_path / "users.toml")
    users.set_user("zhangsan", "zhangsan-demo", LEADER)  # not one of the shipped names
    users.set_user("lisi", "lisi-own-pass", LEADER)
    users.demo = True
    users.save()
    assert try_once(UserStore.load(users.path), con, "zhangsan", "zhangsan-demo").user

    users.demo = False
    users.save()
    refused = try_once(UserStore.load(users.path), con, "zhangsan", "zhangsan-demo")
    assert refused.user is None
    assert refused.error == demo_refusal("zhangsan")
    assert "python -m auth reset-password zhangsan" in refused.error
    assert failed_rows(con)[-1][1].endswith("（演示密码，demo = false）")
    assert try_once(UserStore.load(users.path), con, "lisi", "lisi-own-pass").user


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
