"""Users, password hashing, roles, the users file on disk, the server settings and
the client address. (The throttle, sign-in attempts and sessions:
test_sign_in_attempts.py and test_sign_in_sessions.py.)"""

from __future__ import annotations

import io
import ipaddress
import os
import stat
import subprocess
import sys

import pytest

from auth.__main__ import main
from auth.roles import ADMIN, LEADER, OFFICE, SECRETARY, User
from auth.settings import (
    DEFAULT_SERVER_CONFIG,
    LOCAL_CLIENT,
    ServerSettings,
    client_address,
    current_settings,
    load_settings,
)
from auth.store import DEFAULT_USERS_FILE, UserStore, UserStoreError, current_store
from store.paths import REPO_ROOT
from store.toml_config import ConfigError


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


# ------------------------------------------------------------------ the file on disk


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_users_file_is_written_owner_only(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text("demo = false\n", encoding="utf-8")
    path.chmod(0o644)  # as an older version (or a copy) left it
    store = UserStore.load(path)
    store.set_user("zs", "a good password", LEADER)
    assert mode_of(path) == 0o600
    assert UserStore.load(path).authenticate("zs", "a good password") is not None
    assert [p.name for p in tmp_path.iterdir()] == ["users.toml"]  # no temp file left


def test_the_epoch_changes_with_the_password_only(store):
    epoch = store.epoch("cj05")
    assert epoch and store.records["cj05"]["password_hash"] not in epoch
    store.set_user("office2", "another password", OFFICE)  # someone else changes
    assert UserStore.load(store.path).epoch("cj05") == epoch
    store.reset_password("cj05", "battery staple")  # even the same password again
    assert UserStore.load(store.path).epoch("cj05") != epoch
    assert store.epoch("nobody") is None


def test_current_store_follows_the_file(store):
    first = current_store(store.path)
    assert current_store(store.path) is first  # unchanged: not read again
    UserStore.load(store.path).remove("cj05")
    assert current_store(store.path).user("cj05") is None


def test_demo_passwords_are_found_for_every_account(tmp_path):
    store = UserStore.load(tmp_path / "users.toml")
    store.set_user("zhaoliu", "zhaoliu-demo", LEADER)  # not a shipped name
    store.set_user("sunqi", "sunqi-own-pass", LEADER)
    store.set_user("leader", "office-demo", LEADER)  # another account's demo password
    assert store.demo_password_accounts() == ("zhaoliu",)
    store.reset_password("zhaoliu", "zhaoliu-new-pass")
    assert UserStore.load(store.path).demo_password_accounts() == ()


def test_shipped_accounts_all_have_their_demo_password():
    store = UserStore.load(DEFAULT_USERS_FILE)
    assert store.demo_password_accounts() == ("admin", "cj03", "leader", "office")


def run_auth(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auth", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_cli_check_refuses_demo_passwords_in_production(tmp_path):
    path = tmp_path / "users.toml"
    store = UserStore.load(path)
    store.set_user("zhaoliu", "zhaoliu-demo", OFFICE)
    store.set_user("sunqi", "sunqi-own-pass", LEADER)
    unsafe = run_auth("--file", str(path), "check")
    assert unsafe.returncode == 1
    assert "zhaoliu" in unsafe.stdout and "sunqi" not in unsafe.stdout
    assert "python -m auth reset-password zhaoliu" in unsafe.stdout

    store.demo = True
    store.save()
    assert run_auth("--file", str(path), "check").returncode == 0  # demo mode says so

    store.demo = False
    store.reset_password("zhaoliu", "zhaoliu-new-pass")
    safe = run_auth("--file", str(path), "check")
    assert safe.returncode == 0, safe.stdout + safe.stderr
    assert "没有账号使用演示密码" in safe.stdout
    assert safe.stderr == ""

    path.chmod(0o644)
    assert "权限为 644" in run_auth("--file", str(path), "check").stderr


# ------------------------------------------------------------------ server.toml


def test_shipped_server_config_is_the_defaults():
    assert load_settings(DEFAULT_SERVER_CONFIG) == ServerSettings()


def test_server_config_keys_are_optional_and_validated(tmp_path):
    path = tmp_path / "server.toml"
    path.write_text(
        '[proxy]\ntrusted_proxies = ["10.0.0.5", "fd00::/8"]\n'
        "[sign_in]\nfree_attempts = 5\nbusy_wait_seconds = 2.5\n",
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.5/32"),
        ipaddress.ip_network("fd00::/8"),
    )
    assert settings.sign_in.free_attempts == 5
    assert settings.sign_in.busy_wait_seconds == 2.5
    assert settings.sign_in.max_username_length == 64  # default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sign_in]\nfree_attempts = 0\n", r"sign_in\.free_attempts 无效：应不小于 1"),
        ("[sign_in]\nfree_attempts = 2.5\n", r"sign_in\.free_attempts 无效：应为整数"),
        ("[sign_in]\nmax_concurrent_checks = 1000\n", r"max_concurrent_checks 无效：应不大于 64"),
        ("[sign_in]\nbusy_wait_seconds = 0\n", r"busy_wait_seconds 无效：应大于 0"),
        ("[sign_in]\nmax_delay_seconds = 1\n", r"max_delay_seconds 无效：应不小于 base_delay"),
        ("[sign_in]\nmax_password_length = 4\n", r"max_password_length 无效：应不小于 8"),
        ("[sign_in]\nfree_atempts = 3\n", r"sign_in\.free_atempts 无效：未知的配置项"),
        ('[proxy]\ntrusted_proxies = ["nginx"]\n', r"proxy\.trusted_proxies 无效：'nginx' 不是"),
        ('[proxy]\ntrusted_proxies = "127.0.0.1"\n', r"proxy\.trusted_proxies 无效：应为文字列表"),
        ("[proxies]\n", r"proxies 无效：未知的配置项"),
        ("[sign_in\n", r"server\.toml 格式错误"),
    ],
)
def test_a_bad_server_config_names_the_key(tmp_path, text, message):
    path = tmp_path / "server.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_server_config_path_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.toml"
    path.write_text("[sign_in]\nmax_username_length = 20\n", encoding="utf-8")
    monkeypatch.setenv("GRID_SERVER_CONFIG", str(path))
    assert current_settings().sign_in.max_username_length == 20
    path.write_text("[sign_in]\nmax_username_length = 30\n", encoding="utf-8")
    assert current_settings().sign_in.max_username_length == 30  # re-read when changed
    monkeypatch.setenv("GRID_SERVER_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="找不到配置文件"):
        current_settings()


# ------------------------------------------------------------------ the client address

PROXY = ipaddress.ip_network("10.0.0.5/32")
LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        # Direct: the peer itself, whatever it claims.
        ("198.51.100.7", [], (), "198.51.100.7"),
        ("198.51.100.7", ["1.2.3.4"], (), "198.51.100.7"),
        ("2001:db8::0:1", [], (), "2001:db8::1"),
        # Loopback (Streamlit reports None): not trusted unless listed.
        (None, [], (), LOCAL_CLIENT),
        (None, ["203.0.113.9"], (), LOCAL_CLIENT),
        (None, ["203.0.113.9"], LOOPBACK, "203.0.113.9"),
        (None, [], LOOPBACK, LOCAL_CLIENT),
        # A trusted proxy: the right-most entry that is not one of our proxies.
        ("10.0.0.5", ["203.0.113.9"], (PROXY,), "203.0.113.9"),
        ("10.0.0.5", ["6.6.6.6, 203.0.113.9"], (PROXY,), "203.0.113.9"),  # forged left part
        ("10.0.0.5", ["6.6.6.6", "203.0.113.9"], (PROXY,), "203.0.113.9"),  # two header lines
        ("10.0.0.5", ["203.0.113.9, 10.0.0.5"], (PROXY,), "203.0.113.9"),  # proxy chain
        ("10.0.0.5", ["203.0.113.9:51234"], (PROXY,), "203.0.113.9"),
        ("10.0.0.5", ["[2001:db8::9]:443"], (PROXY,), "2001:db8::9"),
        ("10.0.0.5", [], (PROXY,), "10.0.0.5"),  # no header: the proxy itself
        ("10.0.0.5", ["10.0.0.5"], (PROXY,), "10.0.0.5"),
        # An untrusted peer cannot pretend to be the proxy's client.
        ("10.0.0.6", ["203.0.113.9"], (PROXY,), "10.0.0.6"),
        ("10.0.0.5", ["203.0.113.9"], (ipaddress.ip_network("10.0.0.0/24"),), "203.0.113.9"),
    ],
)
def test_client_address(peer, forwarded, trusted, client):
    assert client_address(peer, forwarded, trusted) == client


def test_a_garbage_forwarded_entry_is_bounded():
    client = client_address("10.0.0.5", ["x" * 10_000], (PROXY,))
    assert len(client) == 64
