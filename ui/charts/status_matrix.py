"""The 报送情况 matrix: one cell per reporting unit, its status as a coloured word.

Colours (the same words and colours as the page's legend): 已报送 green, 迟报 yellow,
零报告 grey, 未报送 red. The hover tells the unit, its status, when it was first
uploaded and by whom (or who declared 零报告) and how many rows it has.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from metrics.completeness import STATUSES
from metrics.glossary import TIME_FORMAT
from store.months import month_label
from store.reporting_units import UNIT_KIND_LABELS
from ui.charts.look import data_array
from ui.text import html_text

# The fill of each status (Plotly picks a readable text colour on each).
STATUS_COLOURS = {"已报送": "#7DB874", "迟报": "#F2C94C", "零报告": "#C9CDD2", "未报送": "#D9534F"}
# Over more months than this a cell is too narrow on a phone for a whole word.
FULL_WORD_MONTHS = 6
SHORT_WORDS = {"已报送": "已报", "迟报": "迟报", "零报告": "零报", "未报送": "未报"}
# How the page's legend colours each word (Streamlit Markdown colour names).
STATUS_MARKDOWN = {"已报送": "green", "迟报": "orange", "零报告": "gray", "未报送": "red"}


def status_legend() -> str:
    """The legend as Markdown: each status word in its colour."""
    return "　".join(f":{STATUS_MARKDOWN[s]}-background[{s}]" for s in STATUSES)


def status_heatmap(
    cells: pl.DataFrame,
    row_column: str,
    row_labels: Sequence[str],
    column_column: str,
    column_labels: Sequence[str],
) -> go.Figure:
    """Rows × columns of units, coloured by status, each cell's text its status.

    ``cells`` has one row per unit with ``status`` and ``hover`` (the unit's details,
    HTML-safe) and the keys in ``row_column`` and ``column_column``; ``row_labels``
    and ``column_labels`` map the keys, in display order, to their labels.
    """
    rows = list(dict.fromkeys(cells[row_column].to_list()))
    columns = list(dict.fromkeys(cells[column_column].to_list()))
    row_name = dict(zip(rows, row_labels, strict=True))
    column_name = dict(zip(columns, column_labels, strict=True))
    found = {(r[row_column], r[column_column]): r for r in cells.iter_rows(named=True)}
    codes = {status: i for i, status in enumerate(STATUSES)}
    short = len(columns) > FULL_WORD_MONTHS

    def word(status: str) -> str:
        return SHORT_WORDS[status] if short else status

    z, text, hover = [], [], []
    for row in rows:
        cell_rows = [found.get((row, column)) for column in columns]
        z.append([codes[c["status"]] if c else None for c in cell_rows])
        text.append([word(c["status"]) if c else "" for c in cell_rows])
        hover.append([c["hover"] if c else "" for c in cell_rows])
    steps = len(STATUSES)
    scale = []
    for i, status in enumerate(STATUSES):
        fill = STATUS_COLOURS[status]
        scale += [[i / steps, fill], [(i + 1) / steps, fill]]
    figure = go.Figure(
        go.Heatmap(
            z=data_array(z),
            x=data_array([column_name[c] for c in columns]),
            y=data_array([html_text(row_name[r]) for r in rows]),
            text=data_array(text),
            texttemplate="%{text}",
            textfont={"size": 11},
            customdata=data_array(hover),
            zmin=-0.5,
            zmax=steps - 0.5,
            colorscale=scale,
            showscale=False,
            xgap=2,
            ygap=2,
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    figure.update_layout(
        yaxis={"autorange": "reversed", "tickfont": {"size": 12}, "fixedrange": True},
        xaxis={"side": "top", "type": "category", "fixedrange": True, "tickangle": 0},
    )
    return figure


def unit_hover(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (of :func:`metrics.completeness.completeness`) with ``hover``: the
    unit, its status, its first upload or 零报告 declaration and its rows, as HTML."""
    hovers = []
    for row in frame.iter_rows(named=True):
        lines = [
            f"{html_text(row['village_name'])} · {month_label(row['month'])} · "
            f"{UNIT_KIND_LABELS[row['kind']]}",
            f"状态：{row['status']}",
        ]
        if row["rows"]:
            when = row["first_upload_at"]
            who = html_text(row["uploaded_by"] or "")
            if when is not None:
                lines.append(f"首次上传：{when:{TIME_FORMAT}}（{who}）")
            else:
                lines.append(f"首次上传：时间不详，视为按时（{who or '早于上传记录'}）")
            lines.append(f"行数：{row['rows']:,}")
        elif row["declared_by"] is not None:
            lines.append(
                f"零报告登记：{html_text(row['declared_by'])}，{row['declared_at']:{TIME_FORMAT}}"
            )
        hovers.append("<br>".join(lines))
    return frame.with_columns(hover=pl.Series(hovers, dtype=pl.String))
