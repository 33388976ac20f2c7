"""The one filter every metric query goes through: month range, level and village.

Pages, exports and the CLI build a :class:`Filter` and pass it to the metric
functions; every SQL statement takes its range and scope from it (as bound
parameters), so a user's village scope can later be enforced in this one place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from store.months import MonthError, add_months, month_key, months_between, parse_month, range_label

LEVELS = ("town", "village", "subgrid")
LEVEL_LABELS = {"town": "镇", "village": "村居", "subgrid": "子网格"}
# The registry column that identifies a unit of each level.
UNIT_COLUMNS = {"town": "town_id", "village": "village_id", "subgrid": "subgrid_id"}


class FilterError(ValueError):
    """A month, level or range that cannot be used (message in Chinese)."""


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
                f"起始月份 {month_key(self.start)} 晚于截止月份 {month_key(self.end)}"
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
        try:
            return cls(parse_month(start), parse_month(end), level, village_id or None)
        except MonthError as exc:
            raise FilterError(str(exc)) from exc

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

    def year_before(self) -> Filter:
        """The same months one year earlier (for year-over-year, 同比)."""
        return replace(self, start=add_months(self.start, -12), end=add_months(self.end, -12))

    def at_level(self, level: str) -> Filter:
        return replace(self, level=level)

    def for_months(self, start: date, end: date | None = None) -> Filter:
        return replace(self, start=start, end=end or start)

    def label(self) -> str:
        """Chinese label of the range, e.g. ``2026年5月—2026年10月``."""
        return range_label(self.start, self.end)

    def params(self) -> dict[str, object]:
        """The bound parameters every metric query takes from the filter."""
        return {
            "start": self.start,
            "end": self.end,
            "end_excl": self.end_exclusive,
            "village": self.village_id,
        }
