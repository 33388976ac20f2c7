"""Text for the UI that is not one metric's value: rank movement, duration bins, and
the glossary's number formatting under the names the pages and tests use.

A metric's value is turned into text by its glossary entry
(:func:`metrics.glossary.value_text` and friends); the general formatters below are
the glossary's own, so there is one way to write a percentage or a duration.
"""

from __future__ import annotations

import re

from metrics.glossary import duration_text as hours
from metrics.glossary import number_text as number
from metrics.glossary import percent_text as pct
from metrics.glossary import points_change_text as pct_points

__all__ = [
    "bin_label",
    "days_in_hours",
    "hours",
    "number",
    "pct",
    "pct_points",
    "rank_change_text",
]


def rank_change_text(change: int | None) -> str:
    """Rank movement: ↑2 (moved up), ↓1, 持平, or — (no earlier data)."""
    if change is None:
        return "—"
    if change > 0:
        return f"↑{change}"
    if change < 0:
        return f"↓{-change}"
    return "持平"


def bin_label(label: str) -> str:
    """'24–48h' → '24–48小时' (the metrics layer labels duration bins in hours)."""
    return label.replace("h", "小时")


def days_in_hours(label: str) -> str:
    """'1–3天' → '24–72小时': a label in days for a page that keeps to hours (民情处置
    charts its durations in hours; the backlog's age buckets are configured in days)."""
    if "天" not in label:
        return label
    hours = re.sub(r"\d+(?:\.\d+)?", lambda m: f"{float(m.group()) * 24:g}", label)
    return hours.replace("天", "小时")
