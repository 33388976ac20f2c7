"""The sub-grid × requirement heat map of 网格覆盖 and how the town's rows are split."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from ui.charts.look import data_array
from ui.text import html_text

MET_COLOUR = "#5B8C5A"
UNMET_COLOUR = "#F2B8B5"


def requirement_heatmap(matrix: pl.DataFrame, row_labels: Sequence[str]) -> go.Figure:
    """Sub-grid × requirement for one month: a cell is met (green) or not (pink), its
    text the number of activities held; the hover says what was due.

    ``matrix`` holds sub-grid rows of ``metrics.coverage.coverage_matrix`` for a
    single month, in unit order; ``row_labels`` names each unit in that order.
    """
    units = matrix["unit_id"].unique(maintain_order=True).to_list()
    requirements = matrix.unique(subset="requirement", maintain_order=True)
    cells = {(r["unit_id"], r["requirement"]): r for r in matrix.iter_rows(named=True)}
    z, text, custom = [], [], []
    for unit in units:
        z_row, text_row, custom_row = [], [], []
        for req in requirements.iter_rows(named=True):
            cell = cells.get((unit, req["requirement"]))
            met = cell is not None and cell["months_met"] >= cell["months"] > 0
            held = cell["held"] if cell else 0
            z_row.append(1 if met else 0)
            text_row.append(str(held))
            custom_row.append([req["min_count"], held, "已达标" if met else "未达标"])
        z.append(z_row)
        text.append(text_row)
        custom.append(custom_row)
    figure = go.Figure(
        go.Heatmap(
            z=data_array(z),
            x=data_array(requirements["label"].to_list()),
            y=data_array([html_text(label) for label in row_labels]),
            text=data_array(text),
            texttemplate="%{text}",
            customdata=data_array(custom),
            zmin=0,
            zmax=1,
            colorscale=[[0, UNMET_COLOUR], [0.5, UNMET_COLOUR], [0.5, MET_COLOUR], [1, MET_COLOUR]],
            showscale=False,
            xgap=2,
            ygap=1,
            hovertemplate=(
                "%{y} · %{x}<br>应开展：≥%{customdata[0]} 次<br>已开展：%{customdata[1]} 次"
                "<br>%{customdata[2]}<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        yaxis={"autorange": "reversed", "tickfont": {"size": 11}},
        xaxis={"side": "top"},
    )
    return figure


def split_by_village(ids: Sequence[str], village_of: dict[str, str], parts: int) -> list[list[str]]:
    """Cut an ordered list of sub-grid ids into ``parts`` runs of about equal length
    without splitting a village (for side-by-side heat maps)."""
    runs: list[list[str]] = []
    current: list[str] = []
    target = len(ids) / parts
    for i, unit in enumerate(ids):
        new_village = current and village_of.get(unit) != village_of.get(current[-1])
        if new_village and len(runs) < parts - 1 and i >= target * (len(runs) + 1):
            runs.append(current)
            current = []
        current.append(unit)
    if current:
        runs.append(current)
    return runs
