"""Slow down repeated failed sign-ins (per user name and per client), thread-safe.

After ``free`` failures in a row, each further attempt must wait ``base`` seconds,
doubling per failure up to ``cap``. A success clears the count. State lives in the
server process: enough to make online guessing impractical without locking anybody
out for good.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    def __init__(
        self,
        free: int = 3,
        base: float = 2.0,
        cap: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free, self.base, self.cap, self.clock = free, base, cap, clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, key: str) -> float:
        """How long ``key`` must still wait before its next attempt (0 = may try now)."""
        with self._lock:
            count, last = self._failures.get(key, (0, 0.0))
        if count < self.free:
            return 0.0
        delay = min(self.cap, self.base * 2 ** (count - self.free))
        return max(0.0, last + delay - self.clock())

    def failure(self, key: str) -> None:
        with self._lock:
            count, _ = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1, self.clock())

    def success(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
