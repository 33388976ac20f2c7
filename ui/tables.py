"""Tables as the dashboard shows and exports them: glossary headers, glossary rounding.

A table is given as a frame from the metrics layer and its columns: each a glossary
key (the frame's column of that name) or ``(column, glossary key)`` where the frame's
name differs from the metric's (``("coverage", "study_coverage")``), or ``(column,
glossary key, header)`` where the configuration names the column (an assessment area). The headers,
units and decimals come from :mod:`metrics.glossary`, so a metric is called and
rounded the same way on every page and in every export. Numbers stay numbers: an
exported sheet can still be sorted and summed, and on screen a column keeps its
decimals (70.0 next to 59.5, not 70).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import polars as pl
import streamlit as st

from metrics.glossary import column, entry
from metrics.overview import SCORECARD_COLUMNS
from ui import session
from ui.exports import export_buttons
from ui.sparse_tables import dash_missing

Column = str | tuple[str, str] | tuple[str, str, str]
Columns = Sequence[Column]

# The scorecard of a unit (metrics.overview.scorecard), in the order every page shows it:
# its columns but the unit's id and name, which tables show apart.
SCORECARD = tuple(c for c in SCORECARD_COLUMNS if c not in ("unit_id", "unit_name"))
# The 先锋指数 of each member (metrics.indices.vanguard_members with ``subgrid_name``).
MEMBER_INDEX = (
    "person_id",
    "name",
    "subgrid_name",
    ("vanguard_index", "member_vanguard_index"),
    "grade",
    "attendance_pts",
    "study_pts",
    "role_pts",
    "deductions",
    "months_on_roll",
)
NO_DATA = "所选范围内没有数据。"
# Values the system itself writes into records (who loaded the sample, a loopback
# sign-in, the kind of a boundary upload): words on screen, as users would say them.
SYSTEM_WORDS = {
    "init": "系统初始化",
    "local": "本机",
    "unknown": "未知",
    "boundary": "地图边界",
    "village": "村居",
    "subgrid": "子网格",
}
SYSTEM_PHRASES = {
    "^local（": "本机（",
    "demo = false": "已关闭演示模式",
}


def _parts(spec: Column) -> tuple[str, str, str | None]:
    """(frame column, glossary key, header or None for the glossary's)."""
    if isinstance(spec, str):
        return spec, spec, None
    return (*spec, None) if len(spec) == 2 else spec


def labelled(frame: pl.DataFrame, columns: Columns) -> pl.DataFrame:
    """``frame``'s ``columns`` as shown and exported: glossary headers, in that order."""
    return frame.select(column(*_parts(spec)) for spec in columns)


def scorecard_columns(name: str = "unit_name") -> list[Column]:
    """The columns of a scorecard table: 编号, the unit's name under the glossary
    header ``name`` (单位, 村居 or 子网格), then :data:`SCORECARD`."""
    return ["unit_id", ("unit_name", name), *SCORECARD]


def column_configs(columns: Columns) -> dict:
    """Streamlit column settings: each number keeps its decimals on screen, and each
    header's hover shows the glossary's explanation."""
    configs = {}
    for spec in columns:
        _, key, title = _parts(spec)
        m = entry(key)
        help_text = m.help or None
        if m.kind in ("rate", "days", "score", "number", "hours") and m.decimals:
            fmt = f"%.{m.decimals}f"
            configs[title or m.header] = st.column_config.NumberColumn(format=fmt, help=help_text)
        elif help_text:
            configs[title or m.header] = st.column_config.Column(help=help_text)
    return configs


def rows_height(rows: int, cap: int = 16) -> int:
    """A table height showing up to ``cap`` rows without an inner scroll bar."""
    return 38 + 35 * min(rows, cap) + 2


def data_grid(frame: pl.DataFrame, **options) -> None:
    """``st.dataframe`` of a polars frame, handed over as an Arrow table (``options``
    as for ``st.dataframe``; ``width="stretch"`` and no index unless said otherwise).

    Streamlit serialises an Arrow table as it is; a polars frame it would first turn
    into pandas, a polars call that holds the GIL while it waits for polars' worker
    threads (docs/decisions/0019) and costs a copy. Every table goes through here.
    """
    options = {"width": "stretch", "hide_index": True, **options}
    st.dataframe(frame.to_arrow(), **options)


def show_table(
    frame: pl.DataFrame,
    columns: Columns,
    name: str,
    key: str,
    height: int | None = None,
    pick_into: str | None = None,
) -> pl.DataFrame:
    """A labelled table with its CSV/XLSX downloads (the same numbers as shown);
    returns the labelled frame.

    With ``pick_into`` a row can be clicked: its position is left in the session under
    that key (only when the user picks a new row), for the page to :func:`ui.session.take`
    on its next run.
    """
    shown = labelled(frame, columns)
    if shown.is_empty():
        st.info(NO_DATA)
        return shown
    pick = {}
    if pick_into:

        def remember() -> None:
            rows = (session.value(key) or {}).get("selection", {}).get("rows") or []
            session.put(pick_into, rows[0] if rows else None)

        pick = {"key": key, "on_select": remember, "selection_mode": "single-row"}
    on_screen, configs = dash_missing(shown, column_configs(columns))
    data_grid(on_screen, column_config=configs, height=height or "auto", **pick)
    export_buttons(shown, name, key=f"{key}_export" if pick_into else key)
    return shown


def show_records(frame: pl.DataFrame, name: str, key: str) -> None:
    """A table whose frame already carries its Chinese headers (validation errors,
    upload history, the audit log), with its downloads: the system's own values in
    words (:data:`SYSTEM_WORDS`), "—" for an empty cell."""
    if frame.is_empty():
        st.info(NO_DATA)
        return
    frame = in_words(frame)
    on_screen, configs = dash_missing(frame)
    data_grid(on_screen, column_config=configs)
    export_buttons(frame, name, key=key)


def in_words(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each text cell that is one of the system's own values
    (:data:`SYSTEM_WORDS`) in its Chinese word, and the system's phrases inside a text
    (:data:`SYSTEM_PHRASES`: a failed sign-in's detail starts with the client) too."""
    texts = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    worded = []
    for c in texts:
        text = pl.col(c).replace(SYSTEM_WORDS)
        for phrase, words in SYSTEM_PHRASES.items():
            text = text.str.replace(phrase, words, literal=phrase[0] != "^")
        worded.append(text)
    return frame.with_columns(worded)


# Lights of metrics.scorecard_reading.lights as cell backgrounds (soft, readable text).
LIGHT_COLOURS = {"红": "#f8d0cc", "黄": "#fbe8b0", "绿": "#d6ecd2"}
# The figures a scorecard shows first (with the unit's name); the rest on demand.
SCORECARD_FIRST = (
    "compliant_share",
    "study_coverage",
    "on_time_resolve_rate",
    "overdue_at_end",
    "fortress_index",
    "stars",
    "rank",
)


def show_scorecard(
    cards: pl.DataFrame, name: str, export_name: str, key: str, all_columns: bool = False
) -> pl.DataFrame:
    """A lit scorecard (``cards`` from metrics.scorecard_reading.lights, worst first;
    ``name`` the glossary key of the unit's name column): the name pinned, each judged
    figure on its red/amber/green background, the first figures only unless
    ``all_columns``, a 说明 column where the rank disagrees with the figures. Downloads
    hold every column, without colours."""
    figures = SCORECARD if all_columns else SCORECARD_FIRST
    columns: list[Column] = [("unit_name", name), *figures]
    if "rank_reason" in cards.columns and cards["rank_reason"].is_not_null().any():
        columns.append("rank_reason")
    shown = labelled(cards, columns)
    lit = {entry(key).header: f"{key}_light" for key in figures if f"{key}_light" in cards.columns}
    backgrounds = pd.DataFrame(
        {
            header: [
                f"background-color: {LIGHT_COLOURS[v]}" if v in LIGHT_COLOURS else ""
                for v in cards[light].to_list()
            ]
            for header, light in lit.items()
        }
    )
    on_screen, configs = dash_missing(shown, column_configs(columns))
    # pandas only for the Styler that paints the cells; made by pyarrow, not polars.
    frame = on_screen.to_arrow().to_pandas()
    styled = frame.style.apply(
        lambda _: backgrounds.reindex(columns=frame.columns, fill_value=""), axis=None
    )
    configs[entry(name).header] = st.column_config.Column(pinned=True)
    st.dataframe(
        styled,
        width="stretch",
        hide_index=True,
        column_config=configs,
        height=rows_height(cards.height),
    )
    export_buttons(labelled(cards, scorecard_columns(name)), export_name, key=key)
    return shown
