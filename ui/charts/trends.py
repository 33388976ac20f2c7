"""Lines over the months of the range: one trace per metric, named by the glossary."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from metrics.glossary import label
from store.months import month_label
from ui.charts.look import titled_chart, value_axis, value_hover
from ui.exports import export_buttons
from ui.tables import labelled

Series = str | tuple[str, str]  # a glossary key, or (the frame's column, glossary key)


def month_trend(frame: pl.DataFrame, series: Sequence[Series]) -> go.Figure:
    """One line with markers per metric over the frame's ``month`` column.

    The metrics share one kind (all rates, or all of one unit): the y axis is the
    first one's (percent ticks for rates, else its unit as the title).
    """
    x = [month_label(m) for m in frame["month"].to_list()]
    figure = go.Figure()
    keys = []
    for spec in series:
        column, key = (spec, spec) if isinstance(spec, str) else spec
        keys.append(key)
        figure.add_scatter(
            x=x,
            y=frame[column].to_list(),
            name=label(key),
            mode="lines+markers",
            hovertemplate=value_hover(key),
        )
    figure.update_layout(yaxis=value_axis(keys[0]))
    return figure


KPI_RATES = ("compliant_share", "study_coverage", "on_time_resolve_rate")
KPI_TREND_COLUMNS = (
    "month",
    "compliant_share",
    "activity_coverage",
    "study_coverage",
    "on_time_resolve_rate",
    "fortress_index",
)


def kpi_trends(trend: pl.DataFrame, export_name: str, key: str) -> None:
    """The KPIs by month (``metrics.overview.kpi_trend``): the three rates beside the
    平均堡垒指数, and the frame's downloads."""
    left, right = st.columns(2)
    with left:
        titled_chart(
            month_trend(trend, KPI_RATES),
            " · ".join(label(k) for k in KPI_RATES),
            key=f"{key}_rates",
        )
    with right:
        titled_chart(
            month_trend(trend, ["fortress_index"]), label("fortress_index"), key=f"{key}_fortress"
        )
    export_buttons(labelled(trend, KPI_TREND_COLUMNS), export_name, key=key)
