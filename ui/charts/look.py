"""The dashboard's chart look and how a figure is drawn on a page.

Chart titles are drawn as text above the chart (:func:`titled_chart`) because the
house style puts the legend where a Plotly title would go.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from metrics.glossary import entry, hover_format

# Plotly defaults for every chart: Chinese-capable fonts, the theme's red first.
COLOURS = ["#C8102E", "#E8A33D", "#3A6EA5", "#5B8C5A", "#8E5EA2", "#6C757D", "#D9534F"]
FONT = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
# Plotly's own toolbar (zoom, pan, download) is hidden on every chart: it covered the
# legend on phones and costs the browser a toolbar per chart; Streamlit's fullscreen
# button stays.
CONFIG = {"displayModeBar": False, "displaylogo": False}


def data_array(values) -> np.ndarray:
    """A trace's per-point values (``x``, ``y``, ``z``, ``text``, ``customdata``) as a
    NumPy object array. Plotly validates and copies a Python list element by element —
    30 ms for the pick markers of one heat map of 网格覆盖 — and takes an array as it
    is; an object array is written out as the very same JSON (``test_ui_helpers``)."""
    return np.asarray(values, dtype=object)


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


def draw(figure: go.Figure, key: str | None = None, height: int = 360, **kwargs) -> None:
    """Draw a Plotly figure full-width in the house look, without Plotly's toolbar;
    ``kwargs`` go to ``st.plotly_chart`` (e.g. ``on_select``, ``selection_mode``)."""
    st.plotly_chart(style(figure, height), width="stretch", key=key, config=CONFIG, **kwargs)


def chart(figure: go.Figure, key: str | None = None, height: int = 360) -> None:
    """Draw a Plotly figure full-width with the dashboard style."""
    draw(figure, key=key, height=height)


def titled_chart(figure: go.Figure, title: str, key: str, height: int = 360) -> None:
    """A chart with its title as text above it (the legend keeps the top line)."""
    st.markdown(f"**{title}**")
    chart(figure, key=key, height=height)


def value_hover(key: str, label: str | None = None, axis: str = "y") -> str:
    """The hover text of one value of metric ``key``: '%{x}<br>学习覆盖率：85.3%'."""
    m = entry(key)
    unit = "" if m.kind == "rate" or not m.unit else f" {m.unit}"
    other = "y" if axis == "x" else "x"
    value = f"%{{{axis}:{hover_format(key)}}}"
    return f"%{{{other}}}<br>{label or m.label}：{value}{unit}<extra></extra>"


def value_axis(key: str) -> dict:
    """A y axis for metric ``key``: percent ticks for rates, else its unit as title."""
    m = entry(key)
    if m.kind == "rate":
        return {"tickformat": ".0%", "rangemode": "tozero"}
    return {"title": m.unit, "rangemode": "tozero"}


def count_axis(counts: Sequence[int], unit: str) -> dict:
    """A y axis for counts: whole numbers only (small counts would get 0.5 ticks)."""
    axis = {"title": unit, "rangemode": "tozero"}
    if max(counts, default=0) <= 8:
        axis["dtick"] = 1
    return axis
