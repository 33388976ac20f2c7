"""Slow down repeated sign-in attempts per key (user name, client address).

After ``free`` attempts, each further one must wait ``base`` seconds after the
previous, doubling per attempt up to ``cap``; a success clears the count. Enough to
make online guessing impractical without locking anybody out for good.

Nobody can reset it: the counts live in the database (table ``sign_in_throttle``,
created when missing), not in Streamlit's caches, which any client may clear; a new
process on the same database file starts from the same counts.

Nobody can race it: an attempt is counted *before* its password is checked
(:meth:`Throttle.admit`), under one process-wide lock, so attempts made at the same
moment see each other. Attempts still being checked in this process are counted as
well; an attempt that is over the limit only because of them waits (bounded) until
they are settled: twelve wrong guesses at once get ``free`` checks, while twenty
sessions that sign in as one user at once all get in. An attempt that was counted but
never checked (the server was too busy) is taken back; one whose process died while
checking stays counted.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Literal

import duckdb

from store.database import transaction

THROTTLE_DDL = """
CREATE TABLE IF NOT EXISTS sign_in_throttle (
    key          VARCHAR PRIMARY KEY,
    attempts     INTEGER NOT NULL,
    last_attempt DOUBLE NOT NULL  -- seconds since the Unix epoch (survives a restart)
)
"""
# A key left alone this long is forgotten (keeps the table small; a day-old count
# protects nothing that the free attempts do not).
FORGET_AFTER_SECONDS = 24 * 3600

# One lock for the whole process around read-decide-count, and the attempts being
# checked right now: module state, so that no cache clear and no second Throttle
# object can split them.
_condition = threading.Condition()
_in_flight: Counter[tuple[str, str]] = Counter()


class Throttled(Exception):
    """Too many attempts: try again in ``wait_seconds``."""

    def __init__(self, wait_seconds: float):
        super().__init__(f"throttled for {wait_seconds:.1f} s")
        self.wait_seconds = wait_seconds


class ThrottleBusy(Exception):
    """Other attempts on the same keys did not finish in time."""


class Throttle:
    """The throttle over one database; ``connect`` returns a fresh cursor on it."""

    def __init__(
        self,
        connect: Callable[[], duckdb.DuckDBPyConnection],
        free: int = 3,
        base: float = 2.0,
        cap: float = 300.0,
        clock: Callable[[], float] = time.time,
    ):
        self.connect, self.free, self.base, self.cap, self.clock = connect, free, base, cap, clock
        con = connect()
        try:
            rows = con.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchall()
        finally:
            con.close()
        # Keys of the in-flight counter: one database file is one throttle, however
        # many Throttle objects (cursors, settings) point at it.
        self.database = str(rows[0][0]) if rows and rows[0][0] else f"memory:{id(self)}"

    def _delay(self, attempts: int) -> float:
        return min(self.cap, self.base * 2 ** min(attempts - self.free, 64))

    def _remaining(self, attempts: int, last: float, now: float) -> float:
        if attempts < self.free:
            return 0.0
        delay = self._delay(attempts)
        # A clock set back must not turn into a longer wait than the delay itself.
        return max(0.0, min(delay, last + delay - now))

    @staticmethod
    def _rows(con, keys: tuple[str, ...]) -> dict[str, tuple[int, float]]:
        con.execute(THROTTLE_DDL)
        rows = con.execute(
            "SELECT key, attempts, last_attempt FROM sign_in_throttle WHERE key IN "
            f"({', '.join('?' * len(keys))})",
            list(keys),
        ).fetchall()
        return {key: (attempts, last) for key, attempts, last in rows}

    def wait_seconds(self, key: str) -> float:
        """How long ``key`` must still wait before its next attempt (0 = may try now)."""
        con = self.connect()
        try:
            attempts, last = self._rows(con, (key,)).get(key, (0, 0.0))
        finally:
            con.close()
        return self._remaining(attempts, last, self.clock())

    def attempts(self, key: str) -> int:
        """Attempts counted against ``key`` (those being checked included)."""
        con = self.connect()
        try:
            return self._rows(con, (key,)).get(key, (0, 0.0))[0]
        finally:
            con.close()

    def admit(self, keys: Iterable[str], wait: float = 10.0) -> Ticket:
        """Count one attempt against every key, or refuse it.

        Raises :class:`Throttled` when a key must still wait, :class:`ThrottleBusy`
        when attempts being checked on these keys did not settle within ``wait``
        seconds. The returned ticket must be settled (it is a context manager that
        counts an unsettled attempt as a failure).
        """
        keys = tuple(dict.fromkeys(keys))
        deadline = time.monotonic() + wait
        with _condition:
            while True:
                must_wait, others_checking = self._decide_and_count(keys)
                if must_wait > 0:
                    raise Throttled(must_wait)
                if not others_checking:
                    for key in keys:
                        _in_flight[(self.database, key)] += 1
                    return Ticket(self, keys)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ThrottleBusy()
                _condition.wait(remaining)

    def _decide_and_count(self, keys: tuple[str, ...]) -> tuple[float, bool]:
        """(seconds to wait, whether to wait for attempts in flight); counts the
        attempt when both say go. Runs under the process-wide lock."""
        with contextlib.closing(self.connect()) as con:
            con.execute(THROTTLE_DDL)
            with transaction(con):
                now = self.clock()
                con.execute(
                    "DELETE FROM sign_in_throttle WHERE last_attempt < ?",
                    [now - FORGET_AFTER_SECONDS],
                )
                rows = self._rows(con, keys)
                must_wait, others_checking = 0.0, False
                for key in keys:
                    attempts, last = rows.get(key, (0, 0.0))
                    if attempts < self.free:
                        continue
                    if _in_flight[(self.database, key)]:
                        others_checking = True
                    else:
                        must_wait = max(must_wait, self._remaining(attempts, last, now))
                if must_wait == 0 and not others_checking:
                    for key in keys:
                        con.execute(
                            "INSERT INTO sign_in_throttle VALUES (?, 1, ?) ON CONFLICT (key) DO "
                            "UPDATE SET attempts = sign_in_throttle.attempts + 1, "
                            "last_attempt = excluded.last_attempt",
                            [key, now],
                        )
            return must_wait, others_checking

    def _settle(self, keys: tuple[str, ...], outcome: Literal["success", "failure", "withdrawn"]):
        with _condition:
            try:
                if outcome == "success":
                    # Attempts on these keys still being checked stay counted.
                    self._write(
                        "UPDATE sign_in_throttle SET attempts = ? WHERE key = ?",
                        [[_in_flight[(self.database, key)] - 1, key] for key in keys],
                    )
                elif outcome == "withdrawn":  # a failure was counted at admission already
                    self._write(
                        "UPDATE sign_in_throttle SET attempts = attempts - 1 WHERE key = ?",
                        [[key] for key in keys],
                    )
            finally:
                for key in keys:
                    _in_flight[(self.database, key)] -= 1
                    if _in_flight[(self.database, key)] <= 0:
                        del _in_flight[(self.database, key)]
                _condition.notify_all()

    def _write(self, statement: str, rows: list[list]) -> None:
        with contextlib.closing(self.connect()) as con, transaction(con):
            for params in rows:
                con.execute(statement, params)
            con.execute("DELETE FROM sign_in_throttle WHERE attempts <= 0")


class Ticket:
    """One admitted attempt; settle it exactly once."""

    def __init__(self, throttle: Throttle, keys: tuple[str, ...]):
        self.throttle, self.keys, self.settled = throttle, keys, False

    def _settle(self, outcome) -> None:
        if not self.settled:
            self.settled = True
            self.throttle._settle(self.keys, outcome)

    def succeeded(self) -> None:
        """The password was right: clear the keys."""
        self._settle("success")

    def failed(self) -> None:
        """Checked and refused: the attempt stays counted."""
        self._settle("failure")

    def withdrawn(self) -> None:
        """Never checked (no free check slot): take the attempt back."""
        self._settle("withdrawn")

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc) -> None:
        self._settle("failure")
