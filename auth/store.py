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
resets passwords. The file is written owner-only (0600), atomically.

Every shipped account's password is ``<username>-demo`` (:func:`demo_password`);
:meth:`UserStore.demo_password_accounts` finds the accounts that still have theirs,
which may not sign in once ``demo = false``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import tempfile
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import tomli_w
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from auth.roles import ROLES, SECRETARY, User
from store.paths import CONFIG_DIR

DEFAULT_USERS_FILE = CONFIG_DIR / "users.toml"
MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps the time of "no such user" equal to "wrong password".
    Made on first use, not at import: one argon2 hash (0.2–0.5 s here) was paid by every
    process that imports this module, the server and each command among them."""
    return _hasher.hash("timing-equaliser")


class UserStoreError(ValueError):
    """A bad users file or a bad request; the message names the file and the key."""


def users_file() -> Path:
    return Path(os.environ.get("GRID_USERS") or DEFAULT_USERS_FILE)


class FileVersion(NamedTuple):
    """What tells one content of a file from the next without reading it: an atomic
    replace gives a new inode, an edit in place a new size or modification time."""

    device: int
    inode: int
    size: int
    mtime_ns: int


def _version_of(stat: os.stat_result) -> FileVersion:
    return FileVersion(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def file_version(path: Path) -> FileVersion | None:
    """The file's current version, or None when it does not exist."""
    try:
        return _version_of(os.stat(path))
    except FileNotFoundError:
        return None


def loose_mode(path: Path) -> int | None:
    """The file's permission bits when users other than the owner may read or write
    it (the users file holds password hashes), else None (also when it is missing)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    return mode if mode & 0o077 else None


def demo_password(username: str) -> str:
    """The demo password of an account, as the shipped users file sets them."""
    return f"{username}-demo"


@dataclass
class UserStore:
    path: Path
    demo: bool = False
    session_idle_minutes: int = 30
    session_max_hours: int = 8
    records: dict[str, dict] = field(default_factory=dict)
    version: FileVersion | None = None  # of the file as read (None: there was none)

    @classmethod
    def load(cls, path: Path | None = None) -> UserStore:
        path = Path(path or users_file())
        try:
            with path.open("rb") as handle:
                version = _version_of(os.fstat(handle.fileno()))
                text = handle.read().decode("utf-8")
        except FileNotFoundError:
            return cls(path)
        except UnicodeDecodeError as exc:
            raise UserStoreError(f"{path}: 不是 UTF-8 文本：{exc}") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserStoreError(f"{path}: 不是有效的 TOML：{exc}") from exc
        store = cls(
            path,
            demo=bool(data.get("demo", False)),
            session_idle_minutes=int(data.get("session_idle_minutes", 30)),
            session_max_hours=int(data.get("session_max_hours", 8)),
            records=dict(data.get("users", {})),
            version=version,
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

    def user(self, username: str) -> User | None:
        """The account ``username`` as the file describes it now, or None."""
        record = self.records.get(username)
        return None if record is None else self._user(username, record)

    def epoch(self, username: str) -> str | None:
        """A token that changes whenever the user's password is set again (the stored
        hash has a fresh salt each time). One-way, so a session can keep it without
        keeping anything that helps to guess the password."""
        record = self.records.get(username)
        if record is None:
            return None
        digest = hashlib.sha256(b"grid-session-epoch\0" + record["password_hash"].encode())
        return digest.hexdigest()[:32]

    def fingerprint(self, username: str) -> str | None:
        """What a remembered sign-in (:mod:`auth.session_tokens`) is held to: changes
        when the account's role, village or password changes (None: no such account).
        One-way, like :meth:`epoch`; a changed display name leaves it as it is."""
        record = self.records.get(username)
        if record is None:
            return None
        parts = (record.get("role", ""), record.get("village_id") or "", record["password_hash"])
        digest = hashlib.sha256("\0".join(("grid-sign-in-fingerprint", *parts)).encode())
        return digest.hexdigest()

    def demo_password_accounts(self) -> tuple[str, ...]:
        """The accounts whose password is still their demo password, sorted.

        Each check is a full argon2 verification (~64 MiB, tens of ms), so the verdict
        is kept per (user name, stored hash) for the life of the process: a users file
        that changed costs only the accounts whose hash changed.
        """
        found = []
        with _demo_lock:
            for name, record in sorted(self.records.items()):
                stored = record["password_hash"]
                verdict = _demo_verdicts.get((name, stored))
                if verdict is None:
                    verdict = _verifies(stored, demo_password(name))
                    _demo_verdicts[(name, stored)] = verdict
                if verdict:
                    found.append(name)
        return tuple(found)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right, else None (same work either way)."""
        record = self.records.get(username)
        stored = record["password_hash"] if record else _dummy_hash()
        if not _verifies(stored, password) or record is None:
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
        # mkstemp creates the file 0600 before a byte is written, so the hashes are
        # never readable by others, not even for a moment; the replace is atomic.
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(tomli_w.dumps(data).encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


_stores_lock = threading.Lock()
_stores: dict[str, UserStore] = {}


def current_store(path: Path | None = None) -> UserStore:
    """The users file as it is now, shared by the whole process.

    Compared with the file on every call (one ``stat``), re-read when it changed: a
    removed user or a reset password applies at the next interaction of every session.
    """
    path = Path(path or users_file())
    version = file_version(path)
    with _stores_lock:
        cached = _stores.get(str(path))
    if cached is not None and cached.version == version:
        return cached
    store = UserStore.load(path)
    with _stores_lock:
        _stores[str(path)] = store
    return store


_demo_lock = threading.Lock()
_demo_verdicts: dict[tuple[str, str], bool] = {}


def _verifies(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserStoreError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
