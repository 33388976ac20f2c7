"""Sign-in attempts that hold: the throttle nobody can reset or race, the cap on
concurrent password checks, input limits and the refusal of demo passwords in
production, through :func:`auth.sign_in.attempt` (the function the form calls) on real
DuckDB files and users files. (The same through the dashboard, and the sessions that
follow: test_sign_in_sessions.py.)

Password checks are counted by what they leave behind: every checked wrong password
writes one ``sign_in_failed`` row to the audit log, an attempt refused before its
check writes none.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest
import streamlit as st

from auth.roles import LEADER, OFFICE
from auth.settings import SignInSettings
from auth.sign_in import BUSY, WRONG, attempt, check_slots, demo_refusal
from auth.store import UserStore
from auth.throttle import Throttle
from store import audit
from store.paths import REPO_ROOT

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
