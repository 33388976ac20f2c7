"""Personal names on screen and in exports: shown only to roles that need them.

All name masking of the dashboard lives here. Town leaders judge units, not persons,
so they see masked names (张*明); village secretaries (their own members) and town
office staff (data work) see full names. Before sign-in exists in a session (e.g. a
bare AppTest), names are masked. A masked name keeps its length, so a reader can still
tell two people apart by shape.
"""

from __future__ import annotations

import polars as pl

from store.person_names import mask_name
from ui import session

__all__ = ["display_name", "mask_columns", "mask_name", "sees_names"]


def sees_names() -> bool:
    """Whether the signed-in user may see full personal names."""
    return bool(getattr(session.user(), "sees_names", False))


def display_name(name: str | None) -> str:
    """The name as this user may see it ("" for none)."""
    if not name:
        return ""
    return name if sees_names() else mask_name(name)


def mask_columns(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """``frame`` with the personal names in ``columns`` as this user may see them
    (columns it lacks are ignored)."""
    present = [c for c in columns if c in frame.columns]
    if sees_names() or not present or frame.is_empty():
        return frame
    # Mask each distinct name once: a sign-in table repeats the same few hundred.
    masked = {
        c: {n: mask_name(n) for n in frame[c].unique().to_list() if n is not None} for c in present
    }
    return frame.with_columns(pl.col(c).replace(masked[c]) for c in present)
