"""会议室大屏: the look and the rotation of the meeting-room TV (``?screen=tv``).

A TV at 1920×1080 is read from across the room (about 4 m): text is at least 28 px,
key figures about 120 px (scaled down with a narrower screen), and nothing needs a
pointer. The sidebar, the header and the
toolbar are hidden; every rule of the big type is scoped to the screen's container
(class ``st-key-tv_screen``), so nothing leaks into the other pages, and the hiding
rules exist only while the TV page is shown.

The views rotate in a fragment that reruns every few seconds (``st.fragment
(run_every=…)``). A fragment rerun skips the entry script, so the rotation does what
the entry script does before a page: checks the session (it ends at the next turn when
revoked, expired or signed out elsewhere; a screen that rotates counts as active), holds
the metrics to the user's village scope and reads one snapshot.

Tables are drawn as HTML rather than ``st.dataframe``: the data grid is a canvas whose
type size does not follow the page's, and a TV needs no sorting or downloads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from metrics import scope as metric_scope
from metrics.glossary import change_text, entry, is_flat, value_text
from ui import session
from ui.auth_gate import checked_user
from ui.db import begin_snapshot, end_snapshot
from ui.navigation import SCREEN_PARAM, TV_SCREEN
from ui.text import html_text, plain

SECONDS_PARAM = "seconds"
DEFAULT_SECONDS, MIN_SECONDS, MAX_SECONDS = 15, 5, 600
INDEX_KEY = "_tv_view_index"
EXIT_LABEL = "退出大屏"  # the link back to 总览 (the sidebar is hidden here)
SCREEN_KEY = "tv_screen"  # the container's key: its class st-key-tv_screen scopes the CSS
FOOTER_KEY = "tv_footer"
LIGHT_CLASSES = {"红": "tv-red", "黄": "tv-amber", "绿": "tv-green"}

# Sizes are set for 1920 px wide and follow the width (vw) within bounds, so that a
# smaller TV or a laptop shows the same screen, smaller, rather than cut off.
STYLE = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], header[data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important;
  padding: 1.2rem 2.4rem 3rem !important; }
.st-key-tv_screen { font-size: clamp(16px, 1.57vw, 32px); line-height: 1.35; color: #1f2430; }
.st-key-tv_screen .tv-bar { display: flex; flex-wrap: wrap; align-items: baseline;
  gap: 0 1.5vw; border-bottom: 4px solid #C8102E; padding-bottom: 10px; margin-bottom: 18px; }
.st-key-tv_screen .tv-view { font-size: clamp(28px, 2.92vw, 60px); font-weight: 700;
  color: #C8102E; }
.st-key-tv_screen .tv-scope { font-size: clamp(18px, 1.78vw, 36px); color: #444; flex: 1; }
.st-key-tv_screen .tv-dots { font-size: clamp(16px, 1.57vw, 32px); color: #999;
  letter-spacing: 6px; }
.st-key-tv_screen .tv-dots b { color: #C8102E; }
.st-key-tv_screen .tv-cards { display: grid; gap: 1.45vw;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 240px), 1fr)); }
.st-key-tv_screen .tv-card { border: 3px solid #e3e3e3; border-radius: 18px;
  padding: 1.45vw 1.55vw; }
.st-key-tv_screen .tv-card-label { font-size: clamp(20px, 2.08vw, 42px); font-weight: 600; }
.st-key-tv_screen .tv-card-value { font-size: clamp(44px, 6.25vw, 128px); font-weight: 700;
  line-height: 1.15; margin: 12px 0; font-variant-numeric: tabular-nums; white-space: nowrap; }
.st-key-tv_screen .tv-change { font-size: clamp(17px, 1.78vw, 36px); margin-top: 6px; }
.st-key-tv_screen .tv-good { color: #1e7b34; }
.st-key-tv_screen .tv-bad { color: #C8102E; }
.st-key-tv_screen .tv-flat { color: #666; }
.st-key-tv_screen .tv-note { font-size: clamp(15px, 1.46vw, 30px); color: #555;
  margin-top: 22px; }
.st-key-tv_screen table.tv-table { width: 100%; border-collapse: collapse;
  font-size: clamp(16px, 1.57vw, 32px); }
.st-key-tv_screen .tv-table th { text-align: left; font-weight: 600; color: #555;
  border-bottom: 3px solid #ccc; padding: 8px 0.75vw; }
.st-key-tv_screen .tv-table td { border-bottom: 1px solid #e6e6e6; padding: 8px 0.75vw;
  white-space: nowrap; }
.st-key-tv_screen .tv-table td.tv-wrap { white-space: normal; }
.st-key-tv_screen .tv-table td.tv-num { text-align: right; font-variant-numeric: tabular-nums; }
.st-key-tv_screen td.tv-red { background: #fbd5d5; color: #9b0d22; font-weight: 700; }
.st-key-tv_screen td.tv-amber { background: #fde9c4; color: #7a4b00; font-weight: 700; }
.st-key-tv_screen td.tv-green { color: #1e7b34; }
.st-key-tv_screen .tv-dot { display: inline-block; width: 0.85em; height: 0.85em;
  border-radius: 50%; margin-right: 10px; vertical-align: -0.1em; }
.st-key-tv_screen .tv-legend span { font-size: clamp(16px, 1.57vw, 32px) !important; }
.st-key-tv_screen .tv-legend div { font-size: clamp(16px, 1.57vw, 32px); }
.st-key-tv_screen .tv-legend span[style*="width:18px"] { width: 1.2em !important;
  height: 0.9em !important; }
.st-key-tv_screen [data-testid="stAlert"] p { font-size: clamp(16px, 1.67vw, 34px); }
.st-key-tv_screen [data-testid="stElementToolbar"],
.st-key-tv_screen [data-testid="stDeckGlJsonChartZoomButton"] { display: none !important; }
.st-key-tv_screen .tv-points { margin-top: 1.6vw; border-left: 8px solid #C8102E;
  background: #faf6f6; padding: 1vw 1.5vw; }
.st-key-tv_screen .tv-points h3 { font-size: clamp(20px, 2.08vw, 42px); margin: 0 0 10px;
  padding: 0; }
.st-key-tv_screen .tv-points li { font-size: clamp(16px, 1.67vw, 34px); margin: 6px 0; }
.st-key-tv_footer { position: fixed; left: 0; right: 0; bottom: 0; z-index: 10;
  background: #fff; padding: 2px 2.4rem; }
.st-key-tv_footer p { font-size: 16px; color: #888; }
</style>"""


@dataclass(frozen=True)
class TvView:
    """One view of the rotation: its title, how to read its data and how to draw it.

    Reading comes first and drawing after, so that the screen changes at once rather
    than showing the new title over the old view while the numbers are computed.
    """

    title: str
    load: Callable[[], Any]
    draw: Callable[[Any], None]


def seconds_per_view() -> tuple[int, str | None]:
    """The seconds each view stays (``?seconds=…``, default 15) and a notice when the
    link's value cannot be used."""
    raw = st.query_params.get(SECONDS_PARAM)
    if raw is None:
        return DEFAULT_SECONDS, None
    if raw.isdigit() and MIN_SECONDS <= int(raw) <= MAX_SECONDS:
        return int(raw), None
    notice = (
        f"链接中的切换间隔“{raw}”无效（应为 {MIN_SECONDS}–{MAX_SECONDS} 秒），"
        f"已按每 {DEFAULT_SECONDS} 秒切换。"
    )
    return DEFAULT_SECONDS, notice


def enter_tv_mode() -> None:
    """Hide the sidebar and the header, and keep ``screen=tv`` in the URL (so that the
    address the TV keeps opens this screen again)."""
    if st.query_params.get(SCREEN_PARAM) != TV_SCREEN:
        st.query_params[SCREEN_PARAM] = TV_SCREEN
    st.html(STYLE)


def rotate(views: Sequence[TvView], seconds: int, scope_text: str) -> None:
    """Show ``views`` one after another, ``seconds`` each, in the screen's container."""

    @st.fragment(run_every=seconds)
    def turn() -> None:
        user = checked_user()
        if user is None:
            st.rerun()  # the whole app: its entry script shows the sign-in form
        metric_scope.set_scope(user.village_scope)
        index = session.value(INDEX_KEY, 0) % len(views)
        session.put(INDEX_KEY, index + 1)
        shown = views[index]
        begin_snapshot()
        try:
            data = shown.load()
            with st.container(key=SCREEN_KEY):
                st.html(bar(shown.title, scope_text, index, len(views)))
                shown.draw(data)
        finally:
            end_snapshot()

    turn()


def bar(title: str, scope_text: str, index: int, count: int) -> str:
    """The top line: the view's title, the scope and which of the views this is."""
    dots = "".join("<b>●</b>" if i == index else "○" for i in range(count))
    return (
        f"<div class='tv-bar'><span class='tv-view'>{html_text(title)}</span>"
        f"<span class='tv-scope'>{html_text(scope_text)}</span>"
        f"<span class='tv-dots'>{dots}</span></div>"
    )


def change_html(key: str, change: float | None, prefix: str) -> str:
    """'环比 +2.1个百分点' coloured by whether it went the good way ('—' for nothing
    to compare with; grey, no sign of better or worse, for 持平)."""
    text = change_text(key, change)
    if text is None:
        return f"<div class='tv-change tv-flat'>{prefix} —</div>"
    better = entry(key).higher_is_better
    if is_flat(key, change) or better is None:
        tone = "tv-flat"
    else:
        tone = "tv-good" if (change > 0) == better else "tv-bad"
    return f"<div class='tv-change {tone}'>{prefix} {html_text(text)}</div>"


def kpi_cards(rows: Sequence[dict], note: str) -> str:
    """The KPI cards: each row ``kpi, label, value, change, change_year``."""
    cards = []
    for row in rows:
        key = row["kpi"]
        cards.append(
            "<div class='tv-card'>"
            f"<div class='tv-card-label'>{html_text(row['label'])}</div>"
            f"<div class='tv-card-value'>{html_text(value_text(key, row['value']))}</div>"
            f"{change_html(key, row['change'], '环比')}"
            f"{change_html(key, row['change_year'], '同比')}"
            "</div>"
        )
    note_html = f"<div class='tv-note'>{html_text(note)}</div>"
    return f"<div class='tv-cards'>{''.join(cards)}</div>{note_html}"


def points(title: str, sentences: Sequence[str]) -> str:
    """A titled list of sentences (本月要点)."""
    items = "".join(f"<li>{html_text(s)}</li>" for s in sentences)
    return f"<div class='tv-points'><h3>{html_text(title)}</h3><ul>{items}</ul></div>"


@dataclass(frozen=True)
class Cell:
    """A table cell: its text, and optionally a light (红/黄/绿), a number's alignment,
    wrapping, or a coloured dot before the text."""

    text: str
    light: str | None = None
    number: bool = False
    wrap: bool = False
    dot: str | None = None


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """An HTML table in the screen's type (cells escaped here)."""
    head = "".join(f"<th>{html_text(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            classes = [LIGHT_CLASSES.get(cell.light or "", "")]
            classes += ["tv-num"] if cell.number else []
            classes += ["tv-wrap"] if cell.wrap else []
            names = " ".join(c for c in classes if c)
            mark = dot(cell.dot) if cell.dot else ""
            cells.append(f"<td class='{names}'>{mark}{html_text(cell.text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table class='tv-table'><tr>{head}</tr>{''.join(body)}</table>"


def dot(colour: str) -> str:
    """A coloured dot (the alert level), as HTML."""
    return f"<span class='tv-dot' style='background:{colour}'></span>"


def notice(text: str) -> None:
    """A line under the screen (e.g. an invalid link value), literal text."""
    st.caption(plain(text))
