"""Users in a TOML file, passwords hashed with argon2id (argon2-cffi).

The file is ``$GRID_USERS`` or ``data/config/users.toml``::

    demo = true                      # show the demo accounts on the sign-in page
    session_idle_minutes = 30        # sign out after this long without activity
    session_max_hours = 8            # and after this long in any case

    [users.leader]
    display_name = "镇领导（演示）"
    role = "镇领导"
    password_hash = "$argon2id$…"

    [users.cj03]
    role = "村居书记"
    village_id = "CJ03"
    …

Plain-text passwords are never stored; the CLI (``python -m auth``) adds users and
resets passwords.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from auth.roles import ROLES, SECRETARY, User
from etl.db import CONFIG_DIR

DEFAULT_USERS_FILE = CONFIG_DIR / "users.toml"
MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("timing-equaliser")


class UserStoreError(ValueError):
    """A bad users file or a bad request; the message names the file and the key."""


def users_file() -> Path:
    return Path(os.environ.get("GRID_USERS") or DEFAULT_USERS_FILE)


@dataclass
class UserStore:
    path: Path
    demo: bool = False
    session_idle_minutes: int = 30
    session_max_hours: int = 8
    records: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> UserStore:
        path = Path(path or users_file())
        if not path.exists():
            return cls(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UserStoreError(f"{path}: 不是有效的 TOML：{exc}") from exc
        store = cls(
            path,
            demo=bool(data.get("demo", False)),
            session_idle_minutes=int(data.get("session_idle_minutes", 30)),
            session_max_hours=int(data.get("session_max_hours", 8)),
            records=dict(data.get("users", {})),
        )
        for name, record in store.records.items():
            store._user(name, record)  # validates role and village
            if not str(record.get("password_hash", "")).startswith("$argon2"):
                raise UserStoreError(f"{path}: users.{name}.password_hash 不是 argon2 哈希")
        return store

    def _user(self, username: str, record: dict) -> User:
        try:
            return User(
                username=username,
                display_name=record.get("display_name") or username,
                role=record.get("role", ""),
                village_id=record.get("village_id") or None,
            )
        except ValueError as exc:
            raise UserStoreError(f"{self.path}: users.{username}: {exc}") from exc

    def users(self) -> list[User]:
        return [self._user(n, r) for n, r in sorted(self.records.items())]

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right, else None (same work either way)."""
        record = self.records.get(username)
        stored = record["password_hash"] if record else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if record is None:
            return None
        if _hasher.check_needs_rehash(stored):
            record["password_hash"] = _hasher.hash(password)
            self.save()
        return self._user(username, record)

    def set_user(
        self,
        username: str,
        password: str,
        role: str,
        village_id: str | None = None,
        display_name: str | None = None,
    ) -> User:
        """Add a user or replace one (role, village, name and password)."""
        if not username or not username.replace("_", "").replace("-", "").isalnum():
            raise UserStoreError("用户名只能包含字母、数字、- 和 _")
        if role not in ROLES:
            raise UserStoreError(f"未知角色：{role}（可选：{'、'.join(ROLES)}）")
        if village_id and role != SECRETARY:
            raise UserStoreError(f"只有村居书记需要指定村居（{role} 可查看全部村居）")
        _check_password(password)
        record = {"display_name": display_name or username, "role": role}
        if role == SECRETARY:
            record["village_id"] = village_id or ""
        record["password_hash"] = _hasher.hash(password)
        user = self._user(username, record)
        self.records[username] = record
        self.save()
        return user

    def reset_password(self, username: str, password: str) -> None:
        if username not in self.records:
            raise UserStoreError(f"没有用户 {username}")
        _check_password(password)
        self.records[username]["password_hash"] = _hasher.hash(password)
        self.save()

    def remove(self, username: str) -> None:
        if self.records.pop(username, None) is None:
            raise UserStoreError(f"没有用户 {username}")
        self.save()

    def save(self) -> None:
        data = {
            "demo": self.demo,
            "session_idle_minutes": self.session_idle_minutes,
            "session_max_hours": self.session_max_hours,
            "users": self.records,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserStoreError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
