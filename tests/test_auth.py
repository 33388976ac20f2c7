"""Users, password hashing, throttling and roles."""

from __future__ import annotations

import io

import pytest

from auth.__main__ import main
from auth.roles import ADMIN, LEADER, OFFICE, SECRETARY, User
from auth.store import DEFAULT_USERS_FILE, UserStore, UserStoreError
from auth.throttle import Throttle


@pytest.fixture
def store(tmp_path):
    s = UserStore.load(tmp_path / "users.toml")
    s.set_user("office1", "correct horse", OFFICE, display_name="办公室")
    s.set_user("cj05", "battery staple", SECRETARY, village_id="CJ05")
    return s


def test_passwords_are_hashed_not_stored(store):
    text = store.path.read_text(encoding="utf-8")
    assert "correct horse" not in text and "battery staple" not in text
    assert text.count("$argon2id$") == 2


def test_authenticate(store):
    again = UserStore.load(store.path)
    user = again.authenticate("office1", "correct horse")
    assert user == User("office1", "办公室", OFFICE, None)
    assert again.authenticate("office1", "wrong password") is None
    assert again.authenticate("nobody", "correct horse") is None
    assert again.authenticate("cj05", "battery staple").village_scope == "CJ05"


def test_reset_and_remove(store):
    store.reset_password("cj05", "new password 1")
    assert store.authenticate("cj05", "battery staple") is None
    assert store.authenticate("cj05", "new password 1") is not None
    store.remove("cj05")
    assert UserStore.load(store.path).authenticate("cj05", "new password 1") is None
    with pytest.raises(UserStoreError):
        store.remove("cj05")


def test_bad_requests_are_refused(store):
    with pytest.raises(UserStoreError, match="至少"):
        store.set_user("x1", "short", LEADER)
    with pytest.raises(UserStoreError, match="未知角色"):
        store.set_user("x1", "long enough", "书记")
    with pytest.raises(UserStoreError, match="村居"):
        store.set_user("x1", "long enough", SECRETARY)
    with pytest.raises(UserStoreError, match="村居"):
        store.set_user("x1", "long enough", LEADER, village_id="CJ01")


def test_a_tampered_file_is_rejected_with_its_key(tmp_path):
    path = tmp_path / "u.toml"
    path.write_text('[users.a]\nrole = "镇领导"\npassword_hash = "plain"\n', encoding="utf-8")
    with pytest.raises(UserStoreError, match=r"users\.a\.password_hash"):
        UserStore.load(path)


def test_throttle_slows_repeated_failures():
    now = [1000.0]
    t = Throttle(free=3, base=2, cap=60, clock=lambda: now[0])
    for _ in range(3):
        assert t.wait_seconds("u") == 0
        t.failure("u")
    assert t.wait_seconds("u") == pytest.approx(2)
    t.failure("u")
    assert t.wait_seconds("u") == pytest.approx(4)
    now[0] += 4
    assert t.wait_seconds("u") == 0
    for _ in range(20):
        t.failure("u")
    assert t.wait_seconds("u") == pytest.approx(60)
    assert t.wait_seconds("other") == 0
    t.success("u")
    assert t.wait_seconds("u") == 0


def test_roles_and_pages():
    assert "upload" in User("o", "o", OFFICE).pages
    assert "upload" not in User("l", "l", LEADER).pages
    assert User("a", "a", ADMIN).pages == ("admin",)
    assert not User("l", "l", LEADER).sees_names
    assert User("s", "s", SECRETARY, "CJ01").sees_names


def test_cli_adds_and_lists_users(tmp_path, monkeypatch, capsys):
    path = str(tmp_path / "cli.toml")
    monkeypatch.setattr("sys.stdin", io.StringIO("a good password\n"))
    assert (
        main(
            [
                "--file",
                path,
                "add",
                "zs",
                "--role",
                "村居书记",
                "--village",
                "CJ02",
                "--password-stdin",
            ]
        )
        == 0
    )
    assert main(["--file", path, "list"]) == 0
    assert "zs\t村居书记\tCJ02" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--file", path, "reset-password", "zs", "--password-stdin"]) == 1
    assert UserStore.load(path).authenticate("zs", "a good password") is not None


def test_shipped_demo_users_file_is_valid():
    store = UserStore.load(DEFAULT_USERS_FILE)
    assert store.demo is True
    assert {u.role for u in store.users()} == {LEADER, SECRETARY, OFFICE, ADMIN}
    assert store.authenticate("office", "office-demo") is not None
