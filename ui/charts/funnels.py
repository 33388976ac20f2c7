"""The lifecycle funnel of 民情处置."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from metrics.glossary import entry
from ui.charts.look import COLOURS


def funnel_figure(stages: Sequence[str], counts: Sequence[int]) -> go.Figure:
    """上报 → 受理 → 核实 → 办结 with the share of reports kept at each stage."""
    unit = entry("report_count").unit
    return go.Figure(
        go.Funnel(
            y=list(stages),
            x=list(counts),
            textinfo="value+percent initial",
            marker={"color": COLOURS[: len(stages)]},
            hovertemplate=f"%{{y}}：%{{x}} {unit}（占上报 %{{percentInitial:.1%}}）<extra></extra>",
        )
    )
