"""The period of a briefing: a month (``2026-11``) or a half-year (``2026H2``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from store.months import MonthError, add_months, month_label, parse_month

_HALF = re.compile(r"^\s*(\d{4})\s*[Hh]\s*([12])\s*$")


class PeriodError(ValueError):
    """Text that is neither ``YYYY-MM`` nor ``YYYYH1``/``YYYYH2`` (message in Chinese)."""


@dataclass(frozen=True)
class Period:
    """The months a briefing covers (first days) and how it is named."""

    start: date
    end: date
    key: str  # 2026-11 / 2026H2, as written on the command line and in file names

    @property
    def is_month(self) -> bool:
        return self.start == self.end

    @property
    def label(self) -> str:
        """'2026年11月' or '2026年下半年'."""
        if self.is_month:
            return month_label(self.start)
        return f"{self.start.year}年{'上' if self.start.month == 1 else '下'}半年"

    @property
    def kind(self) -> str:
        """'月度' or '半年' (the briefing's title says which)."""
        return "月度" if self.is_month else "半年"

    @property
    def compared(self) -> str:
        """What the change is measured against: '上月' or '上半年'/'上年下半年'."""
        if self.is_month:
            return "上月"
        return "上年下半年" if self.start.month == 1 else "上半年"


def parse_period(text: str | None) -> Period:
    """``2026-11`` → that month; ``2026H2`` → July to December 2026."""
    half = _HALF.match(text or "")
    if half:
        year, which = int(half.group(1)), int(half.group(2))
        start = date(year, 1 if which == 1 else 7, 1)
        return Period(start, add_months(start, 5), f"{year}H{which}")
    try:
        month = parse_month(text)
    except MonthError:
        raise PeriodError(
            "期间应为月份 YYYY-MM（例如 2026-11）或半年 YYYYH1/YYYYH2"
            f"（例如 2026H2），实际为 {text!r}"
        ) from None
    return Period(month, month, f"{month.year:04d}-{month.month:02d}")
