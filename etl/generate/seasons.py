"""The generator's calendar: the Spring Festival and the seasons that thin out activity.

The Spring Festival month (and the month around it) and the summer heat (July,
August) see fewer activities and lower attendance; June and December, the end of
each half-year, see a small push.
"""

from __future__ import annotations

from datetime import date

from store.months import add_months

# Spring Festival dates (the month that holds it is the quietest of the year).
SPRING_FESTIVAL = {
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}


def season_factor(month: date) -> float:
    """Share of the usual activity level ``month`` sees (1.0 = normal)."""
    sf = SPRING_FESTIVAL.get(month.year)
    factor = 1.0
    if sf and sf.month == month.month:
        factor = 0.72
    elif sf and abs(sf.month - month.month) == 1 and month.month <= 3:
        factor = 0.9
    elif month.month in (7, 8):
        factor = 0.88
    elif month.month in (6, 12):
        factor = 1.04
    return factor


def last_complete_month(today: date | None = None) -> date:
    """The first day of the last calendar month that has fully ended."""
    today = today or date.today()
    return add_months(today.replace(day=1), -1)
