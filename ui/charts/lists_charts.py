"""Charts of the 程序清单 and 阵地与志愿者 pages: a procedure's stages, places × months,
volunteers by kind."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from metrics.glossary import label
from ui.charts.look import COLOURS, data_array
from ui.text import html_text

IDLE, USED = "#F2B8B5", "#5B8C5A"


def stage_bars(stages: pl.DataFrame) -> go.Figure:
    """A procedure's stages top down: the items that reached each, and of them (or
    waiting) the overdue ones (``metrics.procedures`` rows of one procedure)."""
    rows = stages.sort("step").to_dicts()
    names = [r["stage"] for r in rows]
    figure = go.Figure()
    figure.add_bar(
        y=names,
        x=[r["items"] for r in rows],
        orientation="h",
        name="到达该环节",
        marker_color=COLOURS[2],
        text=[r["items"] for r in rows],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}<br>到达该环节：%{x} 件<extra></extra>",
    )
    figure.add_bar(
        y=names,
        x=[r["overdue"] or 0 for r in rows],
        orientation="h",
        name=label("stage_overdue"),
        marker_color=COLOURS[0],
        hovertemplate=f"%{{y}}<br>{label('stage_overdue')}：%{{x}} 件<extra></extra>",
    )
    figure.update_layout(barmode="group", yaxis={"autorange": "reversed"})
    return figure


def place_heatmap(months: pl.DataFrame) -> go.Figure:
    """Places × months, each cell the activities held there (pink: idle that month);
    ``metrics.places.place_months`` rows."""
    places = months.select("place_id", "village_name", "name").unique(maintain_order=True)
    columns = sorted(months["month"].unique().to_list())
    cells = {(r["place_id"], r["month"]): r for r in months.iter_rows(named=True)}
    z, text = [], []
    for pid in places["place_id"].to_list():
        row = [cells.get((pid, m)) for m in columns]
        z.append([None if c is None else (0 if c["idle"] else 1) for c in row])
        text.append(["" if c is None else str(c["activities"]) for c in row])
    names = [f"{v} {n}" for v, n in zip(places["village_name"], places["name"], strict=True)]
    figure = go.Figure(
        go.Heatmap(
            z=data_array(z),
            x=data_array([f"{m.year}年{m.month}月" for m in columns]),
            y=data_array([html_text(n) for n in names]),
            text=data_array(text),
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale=[[0, IDLE], [0.5, IDLE], [0.5, USED], [1, USED]],
            showscale=False,
            xgap=2,
            ygap=1,
            hovertemplate="%{y} · %{x}<br>开展活动：%{text} 场<extra></extra>",
        )
    )
    figure.update_layout(yaxis={"autorange": "reversed", "tickfont": {"size": 11}})
    return figure


def volunteer_bars(summary: pl.DataFrame) -> go.Figure:
    """Volunteers and active volunteers by kind (``metrics.volunteers`` rows, one unit)."""
    kinds = summary.filter(pl.col("volunteers") > 0)
    figure = go.Figure()
    for column, key, colour in (
        ("volunteers", "volunteers", COLOURS[2]),
        ("active", "active_volunteers", COLOURS[3]),
    ):
        values = kinds[column].to_list()
        figure.add_bar(
            x=kinds["kind"].to_list(),
            y=values,
            name=label(key),
            marker_color=colour,
            text=values,
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{x}}<br>{label(key)}：%{{y}} 人<extra></extra>",
        )
    figure.update_layout(barmode="group", yaxis={"title": "人", "rangemode": "tozero"})
    return figure
