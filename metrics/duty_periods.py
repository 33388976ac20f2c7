"""The periods a duty is due in, for a range of months (docs/metrics.md, 责任落实).

A duty of frequency month, quarter or half-year is due once for each such calendar
period whose *last month* lies in the range: a quarter is judged when it closes, on
everything done in it (also in its months before the range's start). A range of one
month that closes no quarter therefore holds only the monthly duties.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from metrics.filters import Filter
from store.duty_catalogue import PERIOD_MONTHS
from store.months import add_months, month_label


@dataclass(frozen=True)
class Period:
    """One calendar period: ``start`` (first day) to ``end`` (first day after)."""

    frequency: str
    start: date
    end: date

    @property
    def label(self) -> str:
        """2026年10月, 2026年第3季度, 2026年上半年."""
        if self.frequency == "month":
            return month_label(self.start)
        if self.frequency == "quarter":
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        return f"{self.start.year}年{'上' if self.start.month == 1 else '下'}半年"

    @property
    def half_key(self) -> str:
        """The half-year as a 履职评价 file names it: 2026H1 (half-years only)."""
        return f"{self.start.year}H{1 if self.start.month == 1 else 2}"


def periods_in(f: Filter, frequency: str) -> list[Period]:
    """The periods of ``frequency`` whose last month lies in ``f``'s range, oldest first."""
    span = PERIOD_MONTHS[frequency]
    out = []
    for month in f.months:
        if month.month % span == 0:  # the last month of a period of this length
            start = add_months(month, 1 - span)
            out.append(Period(frequency, start, add_months(month, 1)))
    return out


def window_start(f: Filter) -> date:
    """The first day any period due in ``f`` starts (a half-year may start 5 months
    before the range)."""
    starts = [p.start for freq in PERIOD_MONTHS for p in periods_in(f, freq)]
    return min(starts, default=f.start)
