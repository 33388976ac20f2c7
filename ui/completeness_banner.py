"""The 未报送 banner of the analytics pages: one line naming the units of the range
that have not reported, with a link to 报送情况 (docs/pages.md, 报送情况).

A village that has not uploaded must not read as a village that did nothing: every
page whose range includes unreported units says so above its numbers.
"""

from __future__ import annotations

import streamlit as st

from metrics.completeness import unreported_summary
from store.months import month_label
from ui.db import query
from ui.filters import View, to_params
from ui.navigation import page_path
from ui.text import plain

SHOWN = 3  # village-months named in full; the rest are counted


def banner_text(units: list[tuple[str, object, tuple[str, ...]]]) -> str:
    """'2026年11月 沙积村 未报送 活动、出勤；… 等 5 处', as Markdown."""
    named = [
        f"{month_label(month)} {plain(name)} 未报送 {'、'.join(kinds)}"
        for name, month, kinds in units[:SHOWN]
    ]
    more = f" 等 {len(units)} 处" if len(units) > SHOWN else ""
    return "；".join(named) + more


def unreported_banner(view: View) -> None:
    """The banner for ``view``'s range and village, when it has 未报送 units."""
    units = query(unreported_summary, view.start, view.end, view.village_id)
    if not units:
        return
    text, link = st.columns([5, 1], vertical_alignment="center")
    text.warning(banner_text(units), icon=":material/report:")
    link.page_link(
        page_path("completeness"),
        label="报送情况",
        icon=":material/fact_check:",
        query_params=to_params(view),
    )
