"""Tables whose numbers may be missing by definition (a stage with no time limit has
no overdue count, a unit with nothing due no rate): shown with "—" on screen, exported
with empty cells, so no "None" reaches a reader and an export keeps its numbers."""

from __future__ import annotations

import polars as pl
import streamlit as st

from metrics.glossary import MISSING
from ui.exports import export_buttons
from ui.tables import NO_DATA, Columns, column_configs, labelled


def show_sparse_table(
    frame: pl.DataFrame, columns: Columns, name: str, key: str, height: int | None = None
) -> None:
    """:func:`ui.tables.show_table` for a frame with missing numbers ("—" on screen)."""
    shown = labelled(frame, columns)
    if shown.is_empty():
        st.info(NO_DATA)
        return
    gaps = [c for c in shown.columns if shown[c].null_count()]
    on_screen = shown.with_columns(pl.col(c).cast(pl.String).fill_null(MISSING) for c in gaps)
    configs = column_configs(columns)
    for header in gaps:  # now text: keep the numbers' right alignment and the hover help
        hover = (configs.get(header) or {}).get("help")
        configs[header] = st.column_config.TextColumn(help=hover, alignment="right")
    st.dataframe(
        on_screen,
        width="stretch",
        hide_index=True,
        column_config=configs,
        height=height or "auto",
    )
    export_buttons(shown, name, key=key)
