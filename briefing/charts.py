"""Static charts for the briefing, drawn with matplotlib as SVG (no browser at run time).

Text in the SVG is drawn as outlines (matplotlib's default ``svg.fonttype = "path"``),
so the PDF needs no font for the charts; the glyphs come from Noto Sans CJK.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

from matplotlib import font_manager
from matplotlib import pyplot as plt
from matplotlib.patches import Polygon

from briefing.fonts import cjk_font_file

COLOURS = ["#C8102E", "#3A6EA5", "#E8A33D", "#5B8C5A", "#8E5EA2"]
NO_DATA = "#D0D0D0"


def _style() -> None:
    font_manager.fontManager.addfont(cjk_font_file())
    name = font_manager.FontProperties(fname=cjk_font_file()).get_name()
    plt.rcParams.update(
        {
            "font.family": [name],
            "axes.unicode_minus": False,  # the CJK font has no U+2212 minus
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.fonttype": "path",
            "svg.hashsalt": "grid-briefing",  # the same chart, the same bytes
        }
    )


def _svg(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return buffer.getvalue()


def trend_chart(
    months: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    unit: str = "%",
    scale: float = 100.0,
) -> bytes:
    """Lines, one per series, over month labels (values × ``scale``; gaps for None)."""
    _style()
    figure, axes = plt.subplots(figsize=(7.2, 2.8))
    for colour, (label, values) in zip(COLOURS, series.items(), strict=False):
        ys = [None if v is None else v * scale for v in values]
        axes.plot(
            months,
            [float("nan") if y is None else y for y in ys],
            marker="o",
            markersize=3,
            linewidth=1.6,
            color=colour,
            label=label,
        )
    axes.set_ylabel(unit)
    axes.grid(axis="y", color="#E5E5E5", linewidth=0.6)
    axes.tick_params(axis="x", labelrotation=0, labelsize=8)
    # Above the plot, so that it never covers a line.
    axes.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        fontsize=8,
        frameon=False,
        ncols=len(series),
    )
    return _svg(figure)


def unit_map(
    polygons: Mapping[str, Sequence[Sequence[Sequence[float]]]],
    colours: Mapping[str, str],
    labels: Mapping[str, str],
    legend: Sequence[tuple[str, str]],
) -> bytes:
    """Units as filled polygons (lon/lat rings), labelled; ``legend`` = (colour, text)."""
    _style()
    figure, axes = plt.subplots(figsize=(7.2, 5.2))
    for unit, rings in polygons.items():
        for ring in rings:
            axes.add_patch(
                Polygon(
                    ring,
                    closed=True,
                    facecolor=colours.get(unit, NO_DATA),
                    edgecolor="white",
                    linewidth=0.8,
                )
            )
        xs = [p[0] for ring in rings for p in ring]
        ys = [p[1] for ring in rings for p in ring]
        if unit in labels and xs:
            axes.text(
                sum(xs) / len(xs),
                sum(ys) / len(ys),
                labels[unit],
                ha="center",
                va="center",
                fontsize=7.5,
                bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "linewidth": 0},
            )
    axes.autoscale_view()
    axes.set_aspect(1 / 0.86)  # a degree of longitude is ~0.86 of one of latitude here
    axes.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=c) for c, _ in legend]
    # Below the map, so that it never covers a unit.
    axes.legend(
        handles,
        [t for _, t in legend],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=len(legend),
        fontsize=8,
        frameon=False,
    )
    return _svg(figure)
