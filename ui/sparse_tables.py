"""Tables whose cells may be empty (a stage with no time limit has no overdue count, a
unit with nothing due no rate, an absent member no sign-in time, an upload not undone
no undo time): shown with "—" on screen, exported with empty cells, so no "None"
reaches a reader and an export keeps its numbers. Every table of the dashboard goes
through :func:`dash_missing` (``ui.tables.show_table``, ``show_records``,
``show_scorecard``)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from metrics.glossary import MISSING, TIME_FORMAT
from store.python_values import mapped


def dash_missing(shown: pl.DataFrame, configs: dict | None = None) -> tuple[pl.DataFrame, dict]:
    """``shown`` for the screen with "—" in every empty cell (Streamlit would write
    "None"), and ``configs`` adjusted: a number column with a gap becomes text (right
    aligned, its hover help kept), since a number column cannot hold "—". Exports keep
    the frame as it was, empty cells and numbers."""
    configs = dict(configs or {})
    gaps = [c for c in shown.columns if shown[c].null_count()]
    if not gaps:
        return shown, configs
    texts = []
    for name in gaps:
        dtype = shown.schema[name]
        if dtype == pl.String:
            texts.append(pl.col(name).fill_null(MISSING))
            continue
        if dtype.is_temporal():
            shape = TIME_FORMAT if dtype == pl.Datetime else "%Y-%m-%d"
            text = pl.col(name).dt.strftime(shape)
        else:
            text = pl.col(name).cast(pl.String)
        old = configs.get(name) or {}
        if dtype.is_numeric():
            shape = _number_format(old)
            if shape:  # the decimals the column had as a number (70.0 next to 59.5)
                text = mapped(shown[name], lambda v, shape=shape: shape % v, pl.String)
            hover = old.get("help") if isinstance(old, dict) else None
            configs[name] = st.column_config.TextColumn(help=hover, alignment="right")
        texts.append(text.fill_null(MISSING))
    return shown.with_columns(texts), configs


def _number_format(config) -> str | None:
    """The printf format of a ``st.column_config.NumberColumn`` setting, if any."""
    if not isinstance(config, dict):
        return None
    return (config.get("type_config") or {}).get("format")
