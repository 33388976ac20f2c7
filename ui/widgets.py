"""Small Streamlit building blocks every page uses the same way."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from store import audit
from ui.db import cursor
from ui.export import csv_bytes, xlsx_bytes
from ui.page import current_user_name

# Plotly defaults for every chart: Chinese-capable fonts, the theme's red first.
COLOURS = ["#C8102E", "#E8A33D", "#3A6EA5", "#5B8C5A", "#8E5EA2", "#6C757D", "#D9534F"]
FONT = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'


def style(figure: go.Figure, height: int = 360) -> go.Figure:
    """Apply the dashboard's chart look (fonts, colours, margins, legend)."""
    figure.update_layout(
        height=height,
        font={"family": FONT, "size": 13},
        colorway=COLOURS,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"font": {"family": FONT}},
    )
    return figure


def chart(figure: go.Figure, key: str | None = None, height: int = 360) -> None:
    """Draw a Plotly figure full-width with the dashboard style."""
    st.plotly_chart(style(figure, height), width="stretch", key=key)


def _slug(text: str) -> str:
    return re.sub(r"[^\w\u4e00-\u9fff-]+", "_", text).strip("_") or "export"


def _exported(frame: pl.DataFrame, name: str, fmt: str, who: str) -> bytes:
    """Build an export when (and only when) the user clicks its button; audit it."""
    data = csv_bytes(frame) if fmt == "csv" else xlsx_bytes(frame, sheet=name)
    audit.record(cursor(), who, "export", f"{name}.{fmt}（{frame.height} 行）")
    return data


def export_buttons(frame: pl.DataFrame, name: str, key: str | None = None) -> None:
    """CSV (UTF-8 with BOM) and XLSX downloads of ``frame``, formula-neutralised."""
    slug = _slug(name)
    key = key or slug
    # Read now: the download callback may run outside this script run.
    who = current_user_name()
    left, right, _ = st.columns([1, 1, 6])
    left.download_button(
        "下载 CSV",
        data=lambda: _exported(frame, name, "csv", who),
        file_name=f"{slug}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
    )
    right.download_button(
        "下载 Excel",
        data=lambda: _exported(frame, name, "xlsx", who),
        file_name=f"{slug}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx",
        on_click="ignore",
    )


def table(frame: pl.DataFrame, name: str, key: str | None = None, height: int | None = None):
    """A table with its two export buttons underneath."""
    if frame.is_empty():
        st.info("所选范围内没有数据。")
        return
    kwargs = {"height": height} if height else {}
    st.dataframe(frame, width="stretch", hide_index=True, **kwargs)
    export_buttons(frame, name, key=key)


def method_note(text: str) -> None:
    """'How these numbers are computed', shown on every page."""
    with st.expander("口径说明：这些数字是怎么算的", expanded=False):
        st.markdown(text)


def empty_notice(what: str = "数据") -> None:
    st.info(f"所选范围内没有{what}。请调整月份范围或村居。")
