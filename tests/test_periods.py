"""Named periods of the sidebar (ui/periods.py) and the default view."""

from __future__ import annotations

from datetime import date

from store.months import add_months
from ui.filters import View, default_view, trend_filter
from ui.periods import CUSTOM, latest_complete_month, period_label, periods

# Data from 2024-12 to 2026-11, as the sample's.
MONTHS = [add_months(date(2024, 12, 1), i) for i in range(24)]


def test_the_latest_complete_month_is_the_last_one_that_has_ended():
    assert latest_complete_month(MONTHS, date(2026, 12, 4)) == date(2026, 11, 1)
    # November still running: October is the month to talk about.
    assert latest_complete_month(MONTHS, date(2026, 11, 20)) == date(2026, 10, 1)
    # Only running months: the last one rather than nothing.
    assert latest_complete_month(MONTHS[-1:], date(2026, 11, 2)) == date(2026, 11, 1)
    assert latest_complete_month([], date(2026, 11, 2)) is None


def test_the_default_view_is_the_latest_complete_month_of_the_whole_town():
    assert default_view(MONTHS, date(2026, 12, 4)) == View(
        date(2026, 11, 1), date(2026, 11, 1), None
    )


def test_named_periods_around_the_latest_complete_month():
    named = periods(MONTHS, date(2026, 12, 4))
    assert named == {
        "本月": (date(2026, 11, 1), date(2026, 11, 1)),
        "上月": (date(2026, 10, 1), date(2026, 10, 1)),
        "近三个月": (date(2026, 9, 1), date(2026, 11, 1)),
        "本季度": (date(2026, 10, 1), date(2026, 11, 1)),
        "上半年": (date(2026, 1, 1), date(2026, 6, 1)),
        "下半年": (date(2026, 7, 1), date(2026, 11, 1)),
        "本年": (date(2026, 1, 1), date(2026, 11, 1)),
    }
    assert CUSTOM not in named


def test_in_the_first_half_the_second_half_is_last_years_and_periods_are_clipped():
    named = periods(MONTHS, date(2026, 3, 10))  # anchor 2026-02
    assert named["上半年"] == (date(2026, 1, 1), date(2026, 2, 1))
    assert named["下半年"] == (date(2025, 7, 1), date(2025, 12, 1))
    # Data from 2025-01 only: a period reaching before it is clipped to the data.
    late = [m for m in MONTHS if m >= date(2025, 1, 1)]
    assert periods(late, date(2025, 2, 3))["近三个月"] == (date(2025, 1, 1), date(2025, 1, 1))
    # A period without any data month is not offered.
    assert "上月" not in periods(late, date(2025, 2, 3))


def test_period_labels_say_the_months():
    assert period_label("本月", (date(2026, 11, 1), date(2026, 11, 1))) == "本月 · 2026年11月"
    assert period_label("上半年", (date(2026, 1, 1), date(2026, 6, 1))) == "上半年 · 2026年1月—6月"
    assert period_label(CUSTOM, None) == CUSTOM


def test_a_trend_covers_twelve_months_or_the_whole_view():
    one = View(date(2026, 11, 1), date(2026, 11, 1), None)
    assert (trend_filter(one).start, trend_filter(one).end) == (
        date(2025, 12, 1),
        date(2026, 11, 1),
    )
    long = View(date(2025, 1, 1), date(2026, 11, 1), "CJ03")
    f = trend_filter(long)
    assert (f.start, f.end, f.village_id) == (date(2025, 1, 1), date(2026, 11, 1), "CJ03")
