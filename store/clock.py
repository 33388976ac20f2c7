"""The town's wall clock: Asia/Shanghai, stored naive in the database.

A fixed UTC+8 offset rather than ``zoneinfo``: China has no daylight saving time, and
a fixed offset needs no time-zone database on the server.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8))


def now_local() -> datetime:
    """Wall-clock time in Asia/Shanghai, naive (as stored in the database)."""
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


def today_local() -> date:
    """Today's date in Asia/Shanghai (the "no future dates" reference)."""
    return now_local().date()
