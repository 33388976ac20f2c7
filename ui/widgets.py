"""Page furniture every page uses the same way: the header with its scope, metric
cards named and written by the glossary, notices and the method note."""

from __future__ import annotations

import streamlit as st

from metrics.filters import LEVEL_LABELS
from metrics.glossary import change_text, entry, is_flat, value_text
from store.months import range_label
from ui import session
from ui.names import village_name
from ui.text import plain


def scope_label() -> str:
    """'营房村 · 2026年5月—2026年10月' (or 全镇), as Markdown: the village name is escaped."""
    view = session.current_view()
    return f"{plain(village_name(view.village_id))} · {range_label(view.start, view.end)}"


def page_header(title: str, months: bool = True) -> None:
    """The page title with the scope it shows; without the month range for a page the
    range does not apply to (督办: an item is listed until it is closed)."""
    st.title(title)
    if months:
        st.caption(scope_label())
    else:
        village = plain(village_name(session.current_view().village_id))
        st.caption(f"{village} · 不限月份（事项办结前一直列出）")


def metric_card(
    container,
    key: str,
    value,
    change: float | None = None,
    help: str | None = None,
    border: bool = False,
    text: str | None = None,
) -> None:
    """A card of metric ``key``: the glossary's label (with the unit where the value
    text lacks it), its value (``text`` where the page writes it in its own unit), and
    its change as the glossary writes it — green when it went the good way, red the bad
    way, neither (and no arrow) for 持平 or for a figure with no better direction."""
    m = entry(key)
    flat = is_flat(key, change)
    better = m.higher_is_better
    colour = "off" if flat or better is None else ("normal" if better else "inverse")
    container.metric(
        m.card_label,
        text if text is not None else value_text(key, value),
        delta=change_text(key, change),
        delta_color=colour,
        delta_arrow="off" if flat else "auto",
        help=help,
        border=border,
    )


def method_note(text: str) -> None:
    """'How these numbers are computed', shown on every page."""
    with st.expander("口径说明：这些数字是怎么算的", expanded=False):
        st.markdown(text)


def empty_notice(what: str = "数据") -> None:
    """The notice of a section with nothing to show for the chosen range."""
    st.info(f"所选范围内没有{what}。请调整月份范围或村居。")


def level_picker(title: str, key: str, container=st) -> str:
    """A choice between villages and sub-grids (村居 / 子网格), side by side."""
    return container.radio(
        title,
        ["village", "subgrid"],
        format_func=LEVEL_LABELS.get,
        horizontal=True,
        key=key,
    )
