"""The six-level team of 责任落实: the chain top down, and villages × levels."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from metrics.glossary import label, value_text
from ui.charts.look import COLOURS, data_array
from ui.text import html_text

# Pink (weak) through pale yellow to green (strong): no muddy mid-tones.
SCALE = [[0, "#F2B8B5"], [0.5, "#F7E7A9"], [1, "#7FB07E"]]


def chain_bars(chain: pl.DataFrame) -> go.Figure:
    """One bar per level, 督导员 on top: its 履职率, and beside it the people on the
    post and the vacant posts (``metrics.team.level_chain`` rows)."""
    rows = chain.sort("level").to_dicts()
    names = [f"{r['level']}. {r['role']}" for r in rows]
    texts = [
        f"{value_text('fulfilment', r['fulfilment'])}　{r['people']}人"
        + (f"　缺{r['vacant']}" if r["vacant"] else "")
        for r in rows
    ]
    figure = go.Figure(
        go.Bar(
            y=names,
            x=[r["fulfilment"] for r in rows],
            orientation="h",
            text=texts,
            textposition="outside",
            cliponaxis=False,
            marker_color=[COLOURS[0] if r["vacant"] else COLOURS[2] for r in rows],
            customdata=[[r["duties_done"], r["duties_due"]] for r in rows],
            hovertemplate=(
                f"%{{y}}<br>{label('fulfilment')}：%{{x:.1%}}"
                "<br>已履职 %{customdata[0]} / 应履职 %{customdata[1]} 人·次<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        yaxis={"autorange": "reversed"},
        # Room right of the bars for their text; ticks only up to 100 %.
        xaxis={
            "tickformat": ".0%",
            "range": [0, 1.45],
            "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1.0],
            "showgrid": False,
        },
        showlegend=False,
    )
    return figure


def level_heatmap(frame: pl.DataFrame) -> go.Figure:
    """Villages × levels, each cell the level's 履职率 in the village (white where
    nothing was due); ``metrics.team.team_fulfilment`` rows."""
    villages = frame.select("village_id", "village_name").unique(maintain_order=True)
    levels = frame.select("level", "role").unique().sort("level")
    cells = {(r["village_id"], r["level"]): r for r in frame.iter_rows(named=True)}
    z, text = [], []
    for vid in villages["village_id"].to_list():
        row = [cells.get((vid, lv), {}).get("fulfilment") for lv in levels["level"].to_list()]
        z.append(row)
        text.append([value_text("fulfilment", v) for v in row])
    figure = go.Figure(
        go.Heatmap(
            z=data_array(z),
            x=data_array(levels["role"].to_list()),
            y=data_array([html_text(n) for n in villages["village_name"].to_list()]),
            text=data_array(text),
            texttemplate="%{text}",
            zmin=0.4,
            zmax=1,
            colorscale=SCALE,
            showscale=False,
            xgap=2,
            ygap=2,
            hovertemplate=f"%{{y}} · %{{x}}<br>{label('fulfilment')}：%{{text}}<extra></extra>",
        )
    )
    figure.update_layout(yaxis={"autorange": "reversed"}, xaxis={"side": "top"})
    return figure
