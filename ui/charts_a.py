"""Helpers shared by the 总览, 网格覆盖, 学习教育 and 民情处置 pages.

Three kinds of helper live here, all free of metrics logic:

* scope helpers: the metrics ``Filter`` for the view as one unit (the town or the
  chosen village) and for its parts (its villages, or the village's sub-grids);
* :func:`labelled` / :func:`show_table` turn a metrics frame into the table a page
  shows *and* exports: Chinese column names, rates as percentages with one decimal
  (the unit in the header, e.g. ``学习覆盖率（%）``), hours and days with one
  decimal. Numbers stay numbers, so an exported sheet can still be sorted and summed;
* figure builders (Plotly, Chinese hover texts) that only shape data the metrics
  layer already computed. Chart titles are drawn as text above the chart
  (:func:`titled_chart`) because the house style puts the legend where a Plotly
  title would go. Plotly reads HTML tags (<b>, <a href>) in axis and hover text, so
  unit names are passed through :func:`ui.text.html_text`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from itertools import pairwise

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from metrics import Filter
from store.months import month_label
from ui.filters import View
from ui.privacy import display_name
from ui.text import html_text
from ui.widgets import COLOURS, chart, export_buttons

MET_COLOUR = "#5B8C5A"
UNMET_COLOUR = "#F2B8B5"

# Column kinds understood by :func:`labelled`, and how st.dataframe shows them.
_FORMATS = {"pct": "%.1f", "num1": "%.1f", "num2": "%.2f", "days": "%.1f"}
_KINDS = ("text", "int", "month", "time", *_FORMATS)

Columns = Sequence[tuple[str, str, str]]


# --- scope -------------------------------------------------------------------------


def scope_level(view: View) -> str:
    """The level of the view as a single unit: one village, else the town."""
    return "village" if view.village_id else "town"


def scope_filter(view: View, start: date | None = None, end: date | None = None) -> Filter:
    """A Filter for the whole scope of the view (one unit: the village or the town),
    over the view's range or ``start``…``end``."""
    return Filter(start or view.start, end or start or view.end, scope_level(view), view.village_id)


def parts_filter(view: View) -> Filter:
    """A Filter one level down from the scope: the villages of the town, or the
    sub-grids of the chosen village (what a page compares side by side)."""
    return Filter(
        view.start, view.end, "subgrid" if view.village_id else "village", view.village_id
    )


def months_in(months: Sequence[date], view: View) -> list[date]:
    """The data months that fall inside the view's range, in order."""
    return [m for m in months if view.start <= m <= view.end]


def display_names(names: pl.Series) -> pl.Series:
    """Personal names as the viewer may see them (:mod:`ui.privacy` decides by role)."""
    return names.map_elements(display_name, return_dtype=pl.String)


def subgrid_labels(
    ids: Sequence[str], subgrids: pl.DataFrame, with_village: bool = True
) -> list[str]:
    """'营房村 第1网格' for each sub-grid id (sub-grid names repeat across villages, so
    the village name makes them unique); just '第1网格' when ``with_village`` is false."""
    names = subgrids["name"].to_list()
    if with_village:
        names = (subgrids["village_name"] + " " + subgrids["name"]).to_list()
    lookup = dict(zip(subgrids["subgrid_id"].to_list(), names, strict=True))
    return [lookup.get(u, u) for u in ids]


# --- tables ------------------------------------------------------------------------


def _expr(column: str, kind: str) -> pl.Expr:
    col = pl.col(column)
    if kind == "pct":
        return (col.cast(pl.Float64) * 100).round(1)
    if kind == "num1":
        return col.cast(pl.Float64).round(1)
    if kind == "num2":
        return col.cast(pl.Float64).round(2)
    if kind == "days":
        return (col.cast(pl.Float64) / 24).round(1)
    if kind == "int":
        return col.cast(pl.Int64)
    if kind == "month":
        return col.dt.year().cast(pl.String) + "年" + col.dt.month().cast(pl.String) + "月"
    if kind == "time":
        return col.dt.strftime("%Y-%m-%d %H:%M")
    return col


def labelled(frame: pl.DataFrame, columns: Columns) -> pl.DataFrame:
    """``frame``'s ``columns`` given as ``(source, Chinese label, kind)``, in that order.

    Kinds: ``text``, ``int``, ``pct`` (fraction → percent, one decimal), ``num1`` /
    ``num2`` (rounded), ``days`` (hours → days, one decimal), ``month`` (2026年5月),
    ``time`` (2026-05-03 14:30).
    """
    for _, _, kind in columns:
        if kind not in _KINDS:
            raise ValueError(f"unknown column kind {kind!r}")
    return frame.select([_expr(src, kind).alias(label) for src, label, kind in columns])


def show_table(
    frame: pl.DataFrame, columns: Columns, name: str, key: str, height: int | None = None
) -> pl.DataFrame:
    """A labelled table with its CSV/XLSX downloads (the same numbers as shown).

    Like ``ui.widgets.table``, but decimals keep their one (or two) places on screen
    (85.0, not 85). Returns the labelled frame.
    """
    shown = labelled(frame, columns)
    if shown.is_empty():
        st.info("所选范围内没有数据。")
        return shown
    config = {
        label: st.column_config.NumberColumn(format=_FORMATS[kind])
        for _, label, kind in columns
        if kind in _FORMATS
    }
    st.dataframe(
        shown, width="stretch", hide_index=True, column_config=config, height=height or "auto"
    )
    export_buttons(shown, name, key=key)
    return shown


def rows_height(rows: int, cap: int = 16) -> int:
    """A table height showing up to ``cap`` rows without an inner scroll bar."""
    return 38 + 35 * min(rows, cap) + 2


# --- charts ------------------------------------------------------------------------


def titled_chart(figure: go.Figure, title: str, key: str, height: int = 360) -> None:
    """A chart with its title as text above it (the legend keeps the top line)."""
    st.markdown(f"**{title}**")
    chart(figure, key=key, height=height)


def _count_axis(counts: Sequence[int]) -> dict:
    """A y axis for counts: whole numbers only (small counts would get 0.5 ticks)."""
    axis = {"title": "件", "rangemode": "tozero"}
    if max(counts, default=0) <= 8:
        axis["dtick"] = 1
    return axis


def _pct_hover(label: str) -> str:
    return f"%{{x}}<br>{label}：%{{y:.1%}}<extra></extra>"


def _month_lines(
    frame: pl.DataFrame, series: Sequence[tuple[str, str]], hover: Callable[[str], str]
) -> go.Figure:
    """One line with markers per (column, label) over the frame's months."""
    x = [month_label(m) for m in frame["month"].to_list()]
    figure = go.Figure()
    for column, label in series:
        figure.add_scatter(
            x=x,
            y=frame[column].to_list(),
            name=label,
            mode="lines+markers",
            hovertemplate=hover(label),
        )
    return figure


def rate_trend(frame: pl.DataFrame, series: Sequence[tuple[str, str]]) -> go.Figure:
    """Lines of rates (fractions) by month; x = month labels, y axis in percent."""
    figure = _month_lines(frame, series, _pct_hover)
    figure.update_layout(yaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return figure


def value_trend(
    frame: pl.DataFrame, series: Sequence[tuple[str, str]], unit: str, digits: int = 1
) -> go.Figure:
    """Lines of plain values (an index, hours) by month, with ``unit`` in the hover."""
    figure = _month_lines(
        frame,
        series,
        lambda label: f"%{{x}}<br>{label}：%{{y:.{digits}f}} {unit}<extra></extra>",
    )
    figure.update_layout(yaxis={"title": unit, "rangemode": "tozero"})
    return figure


def rate_bars(
    names: Sequence[str],
    ids: Sequence[str],
    series: Sequence[tuple[Sequence[float | None], str]],
    barmode: str = "group",
) -> go.Figure:
    """Bars of rates per unit (fractions, shown in percent); every bar carries its
    unit id in ``customdata`` so that a click can drill down."""
    figure = go.Figure()
    categories = [html_text(n) for n in names]
    for values, label in series:
        figure.add_bar(
            x=categories,
            y=list(values),
            name=label,
            customdata=[[u] for u in ids],
            hovertemplate=_pct_hover(label),
        )
    figure.update_layout(barmode=barmode, yaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return figure


def count_bars(categories: Sequence[str], counts: Sequence[int], label: str) -> go.Figure:
    """One series of counts by category (e.g. the backlog by age), counts on the bars."""
    figure = go.Figure()
    figure.add_bar(
        x=list(categories),
        y=list(counts),
        name=label,
        marker_color=COLOURS[0],
        text=list(counts),
        textposition="outside",
        cliponaxis=False,
        hovertemplate=f"%{{x}}<br>{label}：%{{y}} 件<extra></extra>",
    )
    figure.update_layout(yaxis=_count_axis(counts), showlegend=False)
    return figure


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
            z=z,
            x=requirements["label"].to_list(),
            y=[html_text(label) for label in row_labels],
            text=text,
            texttemplate="%{text}",
            customdata=custom,
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


def funnel_figure(stages: Sequence[str], counts: Sequence[int]) -> go.Figure:
    """The lifecycle funnel 上报 → 受理 → 核实 → 办结 with the share of reports kept."""
    return go.Figure(
        go.Funnel(
            y=list(stages),
            x=list(counts),
            textinfo="value+percent initial",
            marker={"color": COLOURS[: len(stages)]},
            hovertemplate="%{y}：%{x} 件（占上报 %{percentInitial:.1%}）<extra></extra>",
        )
    )


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
            hovertemplate=f"{category} · %{{x}}：%{{y}} 件<extra></extra>",
        )
    figure.update_layout(barmode="group", xaxis={"title": "时长"}, yaxis=_count_axis(counts))
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
