"""The one filter every metric query goes through: month range, level and village.

Pages, exports and the CLI build a :class:`Filter` and pass it to the metric
functions; every SQL statement takes its range and scope from it (as bound
parameters), so a user's village scope can later be enforced in this one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

LEVELS = ("town", "village", "subgrid")
LEVEL_LABELS = {"town": "镇", "village": "村居", "subgrid": "子网格"}
# The registry column that identifies a unit of each level.
UNIT_COLUMNS = {"town": "town_id", "village": "village_id", "subgrid": "subgrid_id"}

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


class FilterError(ValueError):
    """A month, level or range that cannot be used (message in Chinese)."""


def parse_month(text: str) -> date:
    """``YYYY-MM`` → the first day of that month."""
    match = _MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise FilterError(f"月份格式应为 YYYY-MM（例如 2026-10），实际为 {text!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_label(month: date) -> str:
    """``YYYY-MM`` of a month."""
    return f"{month.year:04d}-{month.month:02d}"


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month`` (may be negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """Number of months from ``start`` to ``end`` inclusive."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


@dataclass(frozen=True)
class Filter:
    """A month range (inclusive, whole months), a level and an optional village.

    ``start`` and ``end`` are the first days of the first and last month (any day is
    accepted and moved to the first). ``level`` is the unit the results are broken
    down by: ``town``, ``village`` or ``subgrid``. ``village_id`` limits every
    result to one village (its sub-grids, members and reports).
    """

    start: date
    end: date
    level: str = "town"
    village_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, date):
                raise FilterError(f"{name} 应为日期，实际为 {value!r}")
            object.__setattr__(self, name, date(value.year, value.month, 1))
        if self.start > self.end:
            raise FilterError(
                f"起始月份 {month_label(self.start)} 晚于截止月份 {month_label(self.end)}"
            )
        if self.level not in LEVELS:
            raise FilterError(f"层级应为 {'、'.join(LEVELS)} 之一，实际为 {self.level!r}")
        if self.village_id is not None and not str(self.village_id).strip():
            object.__setattr__(self, "village_id", None)

    @classmethod
    def parse(
        cls, start: str, end: str, level: str = "town", village_id: str | None = None
    ) -> Filter:
        """Build from ``YYYY-MM`` texts (the CLI and URL query parameters)."""
        return cls(parse_month(start), parse_month(end), level, village_id or None)

    @property
    def end_exclusive(self) -> date:
        """The first day after the range."""
        return add_months(self.end, 1)

    @property
    def n_months(self) -> int:
        return months_between(self.start, self.end)

    @property
    def months(self) -> list[date]:
        """The calendar months of the range, first days."""
        return [add_months(self.start, i) for i in range(self.n_months)]

    @property
    def unit_column(self) -> str:
        """The registry column identifying a unit at this filter's level."""
        return UNIT_COLUMNS[self.level]

    def previous(self) -> Filter:
        """The range of the same length just before this one (for month-over-month)."""
        return replace(
            self, start=add_months(self.start, -self.n_months), end=add_months(self.start, -1)
        )

    def at_level(self, level: str) -> Filter:
        return replace(self, level=level)

    def for_months(self, start: date, end: date | None = None) -> Filter:
        return replace(self, start=start, end=end or start)

    def label(self) -> str:
        """Chinese label of the range, e.g. ``2026年5月–2026年10月``."""
        first = f"{self.start.year}年{self.start.month}月"
        if self.start == self.end:
            return first
        return f"{first}–{self.end.year}年{self.end.month}月"

    def params(self) -> dict[str, object]:
        """The bound parameters every metric query takes from the filter."""
        return {
            "start": self.start,
            "end": self.end,
            "end_excl": self.end_exclusive,
            "village": self.village_id,
        }
