"""Personal names on screen and in exports: shown only to roles that need them.

Town leaders judge units, not persons, so they see masked names (张*明); village
secretaries (their own members) and town office staff (data work) see full names.
Before sign-in exists in a session (e.g. a bare AppTest), names are masked.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from ui.format import mask_name


def sees_names() -> bool:
    """Whether the signed-in user may see full personal names."""
    user = st.session_state.get("user")
    return bool(getattr(user, "sees_names", False))


def display_name(name: str | None) -> str:
    """The name as this user may see it."""
    if name is None:
        return ""
    return name if sees_names() else mask_name(name)


def mask_columns(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Mask the given name columns of a frame for users who may not see names."""
    if sees_names():
        return frame
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns(
        pl.col(c).map_elements(mask_name, return_dtype=pl.String) for c in present
    )
