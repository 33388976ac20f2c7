"""Bar charts: rates per unit (clickable), counts by category, small multiples and the
assessment's stacked scores."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from metrics.glossary import entry, header, label, shown_value
from ui.charts.look import COLOURS, count_axis, value_axis, value_hover
from ui.text import html_text

DEDUCTION_COLOUR = "#6C757D"


def rate_bars(
    names: Sequence[str],
    ids: Sequence[str],
    series: Sequence[tuple[Sequence[float | None], str]],
    barmode: str = "group",
) -> go.Figure:
    """Bars of rates per unit (fractions, shown in percent), one series per
    ``(values, name)``; every bar carries its unit id in ``customdata`` so that a
    click can drill down."""
    figure = go.Figure()
    categories = [html_text(n) for n in names]
    for values, name in series:
        figure.add_bar(
            x=categories,
            y=list(values),
            name=name,
            customdata=[[u] for u in ids],
            hovertemplate=f"%{{x}}<br>{name}：%{{y:.1%}}<extra></extra>",
        )
    figure.update_layout(barmode=barmode, yaxis=value_axis("compliant_share"))
    return figure


def count_bars(categories: Sequence[str], counts: Sequence[int], key: str) -> go.Figure:
    """One series of counts of metric ``key`` by category (e.g. the backlog by age),
    the counts written on the bars."""
    m = entry(key)
    figure = go.Figure()
    figure.add_bar(
        x=list(categories),
        y=list(counts),
        name=m.label,
        marker_color=COLOURS[0],
        text=list(counts),
        textposition="outside",
        cliponaxis=False,
        hovertemplate=f"%{{x}}<br>{m.label}：%{{y}} {m.unit}<extra></extra>",
    )
    figure.update_layout(yaxis=count_axis(counts, m.unit), showlegend=False)
    return figure


def histogram_by_category(
    frame: pl.DataFrame,
    bin_labels: Sequence[str],
    categories: Sequence[str],
    relabel: Callable[[str], str] = str,
) -> go.Figure:
    """Grouped bars: reports per duration bin (x), one series per category.

    ``frame`` has ``category, bin_label, reports`` for one measure; ``bin_labels``
    are all bins in order and ``relabel`` turns one into the axis text;
    ``categories`` gives the series order (categories without reports are left out).
    """
    unit = entry("report_count").unit
    figure = go.Figure()
    present = set(frame["category"].to_list())
    counts = []
    for category in [c for c in categories if c in present]:
        part = dict(
            frame.filter(pl.col("category") == category).select("bin_label", "reports").iter_rows()
        )
        y = [part.get(b, 0) for b in bin_labels]
        counts += y
        figure.add_bar(
            x=[relabel(b) for b in bin_labels],
            y=y,
            name=category,
            hovertemplate=f"{category} · %{{x}}：%{{y}} {unit}<extra></extra>",
        )
    figure.update_layout(
        barmode="group", xaxis={"title": label("measure_label")}, yaxis=count_axis(counts, unit)
    )
    return figure


def small_multiples(
    frame: pl.DataFrame,
    x: str,
    panels: Sequence[str],
    columns: int = 2,
    y_range: tuple[float, float] | None = (0, 100),
) -> go.Figure:
    """One bar panel per metric in ``panels`` over the categories in column ``x``,
    on one y scale; each panel is titled with the metric's header (rates in percent)."""
    rows = math.ceil(len(panels) / columns)
    titles = [header(key) for key in panels]
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=titles,
        vertical_spacing=0.18,
        horizontal_spacing=0.08,
    )
    categories = [html_text(c) for c in frame[x].to_list()]  # Plotly reads tags in text
    for i, (key, title) in enumerate(zip(panels, titles, strict=True)):
        digits = entry(key).decimals
        values = [shown_value(key, v) for v in frame[key].to_list()]
        figure.add_trace(
            go.Bar(
                x=categories,
                y=values,
                name=title,
                marker_color=COLOURS[i % len(COLOURS)],
                text=[None if v is None else f"{v:.{digits}f}" for v in values],
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"%{{x}}<br>{title}：%{{y:.{digits}f}}<extra></extra>",
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    if y_range:
        figure.update_yaxes(range=[y_range[0], y_range[1] * 1.12])
    figure.update_layout(showlegend=False, bargap=0.3)
    return figure


def score_bars(
    frame: pl.DataFrame, names: Sequence[str], areas: Sequence[tuple[str, str]]
) -> go.Figure:
    """The assessment per unit as horizontal stacked bars, best at the top: one bar
    per area ``(column, name)``, the deductions below zero, the total as a marker.

    ``frame`` holds the units in rank order with the area columns, ``deductions``
    and ``total``; ``names`` names each row.
    """
    labels = [html_text(n) for n in names]  # Plotly reads tags in axis text
    figure = go.Figure()
    for column, name in areas:
        figure.add_trace(
            go.Bar(
                y=labels,
                x=frame[column].round(2).to_list(),
                name=name,
                orientation="h",
                hovertemplate=value_hover("area_score", name, axis="x"),
            )
        )
    figure.add_trace(
        go.Bar(
            y=labels,
            x=(-frame["deductions"]).round(2).to_list(),
            name=label("deductions"),
            orientation="h",
            marker_color=DEDUCTION_COLOUR,
            hovertemplate=value_hover("deductions", axis="x"),
        )
    )
    figure.add_trace(
        go.Scatter(
            y=labels,
            x=frame["total"].round(2).to_list(),
            name=label("total"),
            mode="markers",
            marker={"symbol": "diamond", "size": 9, "color": "#222"},
            hovertemplate=value_hover("total", axis="x"),
        )
    )
    figure.update_layout(
        barmode="relative",
        yaxis={"autorange": "reversed", "type": "category"},
        xaxis={"title": entry("total").unit},
    )
    return figure


def duration_bins(edges_h: Sequence[float], present: Sequence[str]) -> list[str]:
    """Every bin of a duration histogram in order, also those without reports.

    ``metrics.response.duration_distribution`` leaves empty bins out; a histogram
    with gaps closed up would misdraw the shape, so the labels are rebuilt from the
    edges (``<24h``, ``24–48h`` … ``≥336h``, as the metrics layer names them). A label
    in ``present`` that is not among them (the naming changed) is kept, at the end.
    """
    names = [f"<{edges_h[0]:g}h"]
    names += [f"{a:g}–{b:g}h" for a, b in pairwise(edges_h)]
    names.append(f"≥{edges_h[-1]:g}h")
    return names + [p for p in present if p not in names]
