"""Months: the unit every figure is counted in. One place to parse, step and name them.

A month is the ``date`` of its first day. ``YYYY-MM`` is how months are written in
URLs, CLI arguments and files (:func:`parse_month`, :func:`month_key`); 2026年10月 is
how they are shown (:func:`month_label`).
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


class MonthError(ValueError):
    """Text that is not a month ``YYYY-MM`` (message in Chinese)."""


def parse_month(text: str | None) -> date:
    """``YYYY-MM`` → the first day of that month; :class:`MonthError` otherwise."""
    match = _MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise MonthError(f"月份格式应为 YYYY-MM（例如 2026-10），实际为 {text!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_or_none(text: str | None) -> date | None:
    """:func:`parse_month`, or None for missing or malformed text (URL parameters)."""
    try:
        return parse_month(text)
    except MonthError:
        return None


def month_key(month: date) -> str:
    """``YYYY-MM`` of a month (as written in URLs, CLI output and files)."""
    return f"{month.year:04d}-{month.month:02d}"


def month_label(month: date) -> str:
    """date(2026, 10, 1) → '2026年10月' (as shown to users)."""
    return f"{month.year}年{month.month}月"


def month_key_expr(column: str) -> pl.Expr:
    """:func:`month_key` of a date column, as a polars expression."""
    return pl.col(column).dt.strftime("%Y-%m")


def month_label_expr(column: str) -> pl.Expr:
    """:func:`month_label` of a date column, as a polars expression."""
    return pl.format("{}年{}月", pl.col(column).dt.year(), pl.col(column).dt.month())


def range_label(start: date, end: date) -> str:
    """'2026年5月—2026年10月', or one month."""
    if (start.year, start.month) == (end.year, end.month):
        return month_label(start)
    return f"{month_label(start)}—{month_label(end)}"


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month`` (may be negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """Number of months from ``start`` to ``end`` inclusive."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def month_span(end: date, count: int) -> list[date]:
    """``count`` consecutive months ending with ``end``'s month, oldest first."""
    last = date(end.year, end.month, 1)
    return [add_months(last, -k) for k in range(count - 1, -1, -1)]
