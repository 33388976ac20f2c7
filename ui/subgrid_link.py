"""The way to 子网格详情: the sub-grid travels in the URL (``?subgrid=CJ05-03``) with
the shared view's months and the sub-grid's village, so a drill-down, a copied link
and a refresh all open the same sub-grid.

The shared filters keep page-specific query parameters (``ui.filters.set_view``), so
``subgrid`` stays in the URL while the page is open; a move to another page drops it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import streamlit as st

from ui.filters import View, to_params
from ui.navigation import page_path
from ui.text import plain

SUBGRID_PARAM = "subgrid"


def subgrid_params(view: View, subgrid_id: str, village_id: str) -> dict[str, str]:
    """The query string of 子网格详情 for ``subgrid_id`` over the view's months."""
    return {**to_params(View(view.start, view.end, village_id)), SUBGRID_PARAM: subgrid_id}


def drill_to_subgrid(view: View, subgrid_id: str, village_id: str) -> None:
    """Open 子网格详情 of ``subgrid_id`` (of ``village_id``) over the view's months."""
    st.switch_page(page_path("subgrid"), query_params=subgrid_params(view, subgrid_id, village_id))


def drill_to_listed_subgrid(view: View, subgrid_id: str | None, subgrids: pl.DataFrame) -> None:
    """:func:`drill_to_subgrid` for a sub-grid id picked on a page, its village looked up
    in ``subgrids`` (``metrics.registry.subgrids``); an id not listed there (a stale
    pick) does nothing."""
    if not subgrid_id:
        return
    match = subgrids.filter(pl.col("subgrid_id") == subgrid_id)
    if not match.is_empty():
        drill_to_subgrid(view, subgrid_id, match["village_id"][0])


def linked_subgrid() -> str | None:
    """The sub-grid id the URL asks for, or None."""
    value = st.query_params.get(SUBGRID_PARAM)
    return (value.strip() or None) if isinstance(value, str) else None


def forget_linked_subgrid() -> None:
    """Drop the sub-grid from the URL (it no longer matches what the page shows)."""
    if SUBGRID_PARAM in st.query_params:
        del st.query_params[SUBGRID_PARAM]


def subgrid_label(name: str, village_name: str, subgrid_id: str) -> str:
    """'水库村 第3网格（CJ05-03）': the name with its village, the id beside it (plain
    text: for pickers and tables; wrap in :func:`ui.text.plain` for Markdown)."""
    return f"{village_name} {name}（{subgrid_id}）"


def subgrid_options(subgrids: pl.DataFrame) -> dict[str, str]:
    """subgrid_id → :func:`subgrid_label` for each row of ``subgrids``."""
    rows: Sequence[tuple] = subgrids.select("subgrid_id", "name", "village_name").rows()
    return {sid: subgrid_label(name, village, sid) for sid, name, village in rows}


def markdown_label(name: str, village_name: str, subgrid_id: str) -> str:
    """:func:`subgrid_label` as literal Markdown text (names come from uploads)."""
    return plain(subgrid_label(name, village_name, subgrid_id))
