"""Number formatting in Chinese conventions (percent with one decimal, 小时/天)."""

from __future__ import annotations

import math


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(fraction: float | None, digits: int = 1) -> str:
    """0.8532 → '85.3%'; missing → '—'."""
    if _missing(fraction):
        return "—"
    return f"{fraction * 100:.{digits}f}%"


def pct_points(delta: float | None) -> str | None:
    """A change of a fraction, in percentage points: 0.021 → '+2.1个百分点'."""
    if _missing(delta):
        return None
    return f"{delta * 100:+.1f}个百分点"


def hours(value: float | None) -> str:
    """Durations: under 48 h in 小时, longer in 天 (one decimal)."""
    if _missing(value):
        return "—"
    if value < 48:
        return f"{value:.1f} 小时"
    return f"{value / 24:.1f} 天"


def number(value: float | None, digits: int = 0) -> str:
    """Thousands separators; missing → '—'."""
    if _missing(value):
        return "—"
    return f"{value:,.{digits}f}"


def mask_name(name: str | None) -> str:
    """Mask a personal name for display: 张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明."""
    if not name:
        return ""
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
