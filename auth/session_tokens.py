"""Remembered sign-ins: the server's side of the cookie that survives a page reload.

A sign-in through the form issues a token, ``secrets.token_urlsafe(32)`` (256 random
bits). The browser keeps it in an HttpOnly cookie (:mod:`auth.session_cookie`); the
server keeps only its SHA-256 digest, with the user name, a fingerprint of the user's
record (:meth:`auth.store.UserStore.fingerprint`), when it was issued and last seen and
when it expires. A token is good while

* it was not revoked (sign-out, ``python -m auth revoke-sessions``, or any reason below);
* it was seen within ``session_idle_minutes`` and issued within ``session_max_hours``
  (the users file's limits, as they are now);
* the account still exists with the same fingerprint (same role, village and password).

The store is a SQLite file beside the dashboard's database (:func:`sessions_file`), not
a table in it: ``python -m auth`` must revoke tokens while the dashboard holds the
DuckDB file, which admits no second process (docs/decisions/
0011-remembered-sign-ins-in-a-sqlite-sidecar.md). SQLite lets both write, one at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from auth.roles import User
from auth.sign_in import REMOVED
from auth.store import UserStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS sign_in_tokens (
    digest      TEXT PRIMARY KEY,  -- SHA-256 of the token; the token itself is never stored
    username    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,     -- of the user's record when issued
    created     REAL NOT NULL,     -- seconds since the Unix epoch
    last_seen   REAL NOT NULL,
    expires     REAL NOT NULL,     -- created + session_max_hours at issue
    revoked     REAL,              -- when it was revoked; NULL while it is good
    reason      TEXT               -- why (shown on the sign-in form), or SIGNED_OUT
);
CREATE INDEX IF NOT EXISTS sign_in_tokens_by_user ON sign_in_tokens (username);
"""

# Why a token cannot be used (Chinese: shown on the sign-in form and in the audit log).
EXPIRED = "会话已过期，请重新登录。"
REVOKED = "您的登录已被管理员撤销，请重新登录。"
ACCOUNT_CHANGED = "您的账号信息（角色、所属村居或密码）已变更，请重新登录。"
# The reason kept for a token whose user signed out: what another page of the same
# browser reads at its next interaction (a reload after a sign-out is told nothing).
SIGNED_OUT = "您已在另一个页面退出登录，请重新登录。"
# A touch is a write; one a minute is enough for an idle limit counted in minutes.
TOUCH_EVERY_SECONDS = 60.0
# Dead tokens are kept this long (so a reload can still say why), then deleted.
FORGET_AFTER_SECONDS = 7 * 24 * 3600
BUSY_TIMEOUT_SECONDS = 10.0


def sessions_file(database: str | os.PathLike[str]) -> Path:
    """The token store of the dashboard that serves ``database``: beside it."""
    path = Path(database)
    return path.with_name(path.name + ".sessions.sqlite3")


def digest(token: str) -> str:
    """The form a token is stored and looked up in (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class StoredToken:
    """One row of the store."""

    digest: str
    username: str
    fingerprint: str
    created: float
    last_seen: float
    expires: float
    revoked: float | None
    reason: str | None


@dataclass(frozen=True)
class Resumed:
    """What a cookie's token is worth now: the user and the token, or why not.

    ``problem`` is None when the user may go on; ``token`` is None for a token the
    store never issued (or forgot), which deserves no explanation."""

    user: User | None = None
    token: StoredToken | None = None
    problem: str | None = None


class SessionTokens:
    """The token store in one SQLite file; ``clock`` gives the time (seconds)."""

    def __init__(self, path: str | os.PathLike[str], clock: Callable[[], float] = time.time):
        self.path, self.clock = Path(path), clock

    @contextlib.contextmanager
    def _connection(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one operation (a write: one transaction, committed when it
        ends well). Short-lived: the dashboard's threads and the CLI each open their
        own; SQLite serialises the writers (each waits up to ``BUSY_TIMEOUT_SECONDS``)
        and, in WAL mode, never makes a reader wait."""
        # Made anew each time (0.2 ms): a deleted file comes back, owner-only, created
        # before SQLite opens it (its journal files copy the mode), with its table.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer
            con.executescript(SCHEMA)
            if not write:
                yield con
                return
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def issue(self, username: str, fingerprint: str, lifetime_seconds: float) -> str:
        """A new token for ``username`` (the caller hands it to the browser; only its
        digest is kept). Dead tokens older than ``FORGET_AFTER_SECONDS`` go."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._connection(write=True) as con:
            con.execute(
                # Dead since it was revoked, or at the latest since it expired.
                "DELETE FROM sign_in_tokens WHERE COALESCE(revoked, expires) < ?",
                [now - FORGET_AFTER_SECONDS],
            )
            con.execute(
                "INSERT INTO sign_in_tokens VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                [digest(token), username, fingerprint, now, now, now + lifetime_seconds],
            )
        return token

    def get(self, token_digest: str) -> StoredToken | None:
        """The stored token of this digest, or None."""
        with self._connection() as con:
            row = con.execute(
                "SELECT * FROM sign_in_tokens WHERE digest = ?", [token_digest]
            ).fetchone()
        return None if row is None else StoredToken(*row)

    def use(self, token_digest: str, idle_minutes: float, max_hours: float) -> str | None:
        """Why the token cannot be used now, or None: then it counts as seen (written
        at most once a minute). A token found expired is revoked here, so that it stays
        dead whatever the limits become."""
        token = self.get(token_digest)
        if token is None:
            return REVOKED
        if token.revoked is not None:
            return token.reason or REVOKED
        now = self.clock()
        idle = now - token.last_seen > idle_minutes * 60
        if idle or now > min(token.expires, token.created + max_hours * 3600):
            self.revoke(token_digest, EXPIRED)
            return EXPIRED
        if now - token.last_seen >= TOUCH_EVERY_SECONDS:
            with self._connection(write=True) as con:
                con.execute(
                    "UPDATE sign_in_tokens SET last_seen = ? WHERE digest = ?",
                    [now, token_digest],
                )
        return None

    def revoke(self, token_digest: str, reason: str) -> bool:
        """Revoke one token; whether it was good until now."""
        with self._connection(write=True) as con:
            cursor = con.execute(
                "UPDATE sign_in_tokens SET revoked = ?, reason = ? "
                "WHERE digest = ? AND revoked IS NULL",
                [self.clock(), reason, token_digest],
            )
            return cursor.rowcount > 0

    def revoke_user(self, username: str, reason: str = REVOKED) -> int:
        """Revoke every good token of ``username``; how many there were."""
        now = self.clock()
        with self._connection(write=True) as con:
            cursor = con.execute(
                "UPDATE sign_in_tokens SET revoked = ?, reason = ? "
                "WHERE username = ? AND revoked IS NULL AND expires > ?",
                [now, reason, username, now],
            )
            return cursor.rowcount

    def live_count(self, username: str) -> int:
        """Tokens of ``username`` not revoked and not past their absolute expiry."""
        with self._connection() as con:
            (count,) = con.execute(
                "SELECT COUNT(*) FROM sign_in_tokens "
                "WHERE username = ? AND revoked IS NULL AND expires > ?",
                [username, self.clock()],
            ).fetchone()
        return count

    def resume(self, token: str, users: UserStore) -> Resumed:
        """What the token in a reloaded page's cookie is worth against the users file
        as it is now. A token that fails a check is revoked with the reason."""
        token_digest = digest(token)
        stored = self.get(token_digest)
        if stored is None:
            return Resumed()
        problem = self.use(token_digest, users.session_idle_minutes, users.session_max_hours)
        if problem is None:
            current = users.fingerprint(stored.username)
            if current is None:
                problem = REMOVED
            elif current != stored.fingerprint:
                problem = ACCOUNT_CHANGED
            if problem:
                self.revoke(token_digest, problem)
        if problem:
            return Resumed(token=stored, problem=problem)
        return Resumed(user=users.user(stored.username), token=stored)
