"""Named periods for the sidebar: 本月, 上月, 近三个月, 本季度, 上半年, 下半年, 本年.

Every period is anchored at the latest *complete* data month — the last month with
data that has already ended (today's month is still being reported) — because that is
the month a Monday meeting talks about. A period is clipped to the months that have
data; one that holds no data month is not offered. Half-years are the official
evaluation periods of the indices and the 考核 (docs/pages.md, 期间).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from store.months import add_months, month_label

CUSTOM = "自定义"
PERIOD_NAMES = ("本月", "上月", "近三个月", "本季度", "上半年", "下半年", "本年")


def latest_complete_month(months: Sequence[date], today: date) -> date | None:
    """The last data month that has ended by ``today`` (the last data month when every
    one is still running); None without data."""
    if not months:
        return None
    ended = [m for m in months if m < today.replace(day=1)]
    return ended[-1] if ended else months[-1]


def _spans(anchor: date) -> dict[str, tuple[date, date]]:
    """Each named period as (first month, last month) around ``anchor``."""
    quarter = anchor.replace(month=(anchor.month - 1) // 3 * 3 + 1)
    january = anchor.replace(month=1)
    july = anchor.replace(month=7)
    first_half = (january, min(anchor, january.replace(month=6)))
    # 下半年: this year's when it has begun, else last year's (the last one with data).
    second_half = (
        (july, anchor) if anchor >= july else (add_months(july, -12), add_months(july, -7))
    )
    return {
        "本月": (anchor, anchor),
        "上月": (add_months(anchor, -1), add_months(anchor, -1)),
        "近三个月": (add_months(anchor, -2), anchor),
        "本季度": (quarter, anchor),
        "上半年": first_half,
        "下半年": second_half,
        "本年": (january, anchor),
    }


def periods(months: Sequence[date], today: date) -> dict[str, tuple[date, date]]:
    """The named periods that hold data, clipped to the data months, in menu order."""
    anchor = latest_complete_month(months, today)
    if anchor is None:
        return {}
    out = {}
    for name, (start, end) in _spans(anchor).items():
        inside = [m for m in months if start <= m <= end]
        if inside:
            out[name] = (inside[0], inside[-1])
    return out


def period_label(name: str, span: tuple[date, date] | None) -> str:
    """'本月 · 2026年11月', '上半年 · 2026年1月—6月'; the bare name for 自定义."""
    if span is None:
        return name
    start, end = span
    if start == end:
        return f"{name} · {month_label(start)}"
    tail = f"{end.month}月" if start.year == end.year else month_label(end)
    return f"{name} · {month_label(start)}—{tail}"
