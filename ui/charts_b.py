"""Helpers of the 两个指数地图, 村居详情 and 考核排名 pages (pure where possible).

Map records, the legend, the drill-down target of a map click, display tables with
Chinese headers, small multiples and name masking. Pages stay thin: they fetch with
``ui.db.query`` and hand the frames to these functions.

Decisions:
- Rates are shown (and exported) as percentages with one decimal in columns named
  ``…（%）``; indices and points with two decimals, so that an export keeps enough
  precision to re-rank.
- Map labels: village names at village level and in the town-wide sub-grid map (89
  labels would hide the polygons); sub-grid names when one village is shown.
- Every pickable record carries the same tooltip fields (``name``, ``metric_text``,
  ``fortress_text``, ``vanguard_text``, ``hint``): deck.gl leaves a ``{field}`` the
  picked object lacks as literal text. The fields hold raw text: Streamlit's map
  HTML-escapes each value it puts into the tooltip template (escaping here too would
  show "&lt;" to the reader); TextLayer labels are drawn as glyphs, never parsed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
import pydeck as pdk
import streamlit as st
from plotly.subplots import make_subplots

from ui.format import pct
from ui.map import (
    NO_DATA,
    POINT_LAYER_ID,
    POLYGON_LAYER_ID,
    legend,
    polygon_records,
)
from ui.privacy import display_name
from ui.text import html_text
from ui.widgets import COLOURS, export_buttons


@dataclass(frozen=True)
class MapMetric:
    """A value the map can colour by: its label and whether it is a rate or an index."""

    label: str
    kind: str  # "rate" (fraction shown as %) or "index" (0–100 points)


# The map's colour-by choices, columns of ``metrics.overview.scorecard``.
MAP_METRICS: dict[str, MapMetric] = {
    "fortress_index": MapMetric("堡垒指数", "index"),
    "vanguard_index": MapMetric("先锋指数", "index"),
    "compliant_share": MapMetric("制度落实率", "rate"),
    "study_coverage": MapMetric("学习覆盖率", "rate"),
    "on_time_resolve_rate": MapMetric("按期办结率", "rate"),
}

# Scorecard columns → Chinese headers of the display tables (rates become %).
SCORECARD_COLUMNS: dict[str, str] = {
    "compliant_share": "制度落实率（%）",
    "activity_coverage": "制度落实覆盖率（%）",
    "study_coverage": "学习覆盖率（%）",
    "home_share": "送学上门占比（%）",
    "reports": "民情件数",
    "on_time_accept_rate": "按时受理率（%）",
    "on_time_resolve_rate": "按期办结率（%）",
    "open_at_end": "期末积压（件）",
    "overdue_at_end": "超期未办结（件）",
    "fortress_index": "堡垒指数",
    "stars": "星级",
    "surveyed": "测评",
    "vanguard_index": "先锋指数",
    "grade": "先锋等级",
    "members": "党员数",
    "total": "考核总分",
    "rank": "排名",
}
RATE_COLUMNS = {
    "compliant_share",
    "activity_coverage",
    "study_coverage",
    "home_share",
    "on_time_accept_rate",
    "on_time_resolve_rate",
}
# Session key a drill-down (map click, ranking row) uses to hand 村居详情 the sub-grid
# to preselect: the shared filters rewrite the query string to from/to/village only.
SUBGRID_HANDOFF = "_village_subgrid_handoff"
STATION_COLOUR = [31, 78, 140, 235]
POINT_COLOUR = [24, 130, 110, 235]
MARKER_LEGEND = (("党群服务站", STATION_COLOUR), ("党群服务点", POINT_COLOUR))
TOOLTIP_HTML = (
    "<b>{name}</b><br/>{metric_text}<br/>{fortress_text}<br/>{vanguard_text}"
    "<br/><span style='color:#888'>{hint}</span>"
)


def person_name(name: str | None) -> str:
    """A person's name as this user may see it (:mod:`ui.privacy` decides by role)."""
    return display_name(name) if name else ""


def member_index_columns(subgrid_names: dict[str, str]) -> list[pl.Expr]:
    """The columns of a 先锋指数 member table, Chinese headers (姓名 … 反向扣分)."""
    return [
        pl.col("name").alias("姓名"),
        pl.col("subgrid_id").replace_strict(subgrid_names, default=None).alias("子网格"),
        pl.col("vanguard_index").round(2).alias("先锋指数"),
        pl.col("grade").alias("等级"),
        pl.col("attendance_pts").round(2).alias("组织生活出勤（分）"),
        pl.col("study_pts").round(2).alias("学习（分）"),
        pl.col("role_pts").round(2).alias("作用发挥（分）"),
        pl.col("deductions").alias("反向扣分"),
    ]


def mask_names(frame: pl.DataFrame, column: str = "name") -> pl.DataFrame:
    """``frame`` with the names in ``column`` replaced by :func:`person_name`."""
    if column not in frame.columns or frame.is_empty():
        return frame
    mapping = {n: person_name(n) for n in frame[column].unique().to_list() if n is not None}
    return frame.with_columns(pl.col(column).replace(mapping))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_metric(key: str, value: float | None) -> str:
    """A map metric's value as shown: '85.3%' for rates, '88.5' for indices, '—' if none."""
    if _missing(value):
        return "—"
    return pct(value) if MAP_METRICS[key].kind == "rate" else f"{value:.1f}"


def fortress_text(index, stars, surveyed) -> str:
    """'堡垒指数 88.5 · ★★★★', with '· 无测评' when no survey covered the range."""
    if _missing(index):
        return "堡垒指数 —"
    text = f"堡垒指数 {index:.1f} · {stars or '—'}"
    return text if surveyed else f"{text} · 无测评"


def vanguard_text(index, grade, members) -> str:
    """'先锋指数 66.8 · 合格（党员 152 人）'."""
    if _missing(index):
        return "先锋指数 —"
    return f"先锋指数 {index:.1f} · {grade or '—'}（党员 {members or 0} 人）"


def unit_details(scorecard: pl.DataFrame, metric: str, level: str) -> dict[str, dict]:
    """Tooltip fields and the raw value per unit, from a scorecard frame."""
    label = MAP_METRICS[metric].label
    hint = "点击查看村居详情" if level == "village" else "点击查看所属村居详情"
    details = {}
    for row in scorecard.iter_rows(named=True):
        details[row["unit_id"]] = {
            "level": level,
            "value": row[metric],
            "metric_text": f"{label}：{format_metric(metric, row[metric])}",
            "fortress_text": fortress_text(row["fortress_index"], row["stars"], row["surveyed"]),
            "vanguard_text": vanguard_text(row["vanguard_index"], row["grade"], row["members"]),
            "hint": hint,
        }
    return details


def map_polygons(
    features: Sequence[Mapping], scorecard: pl.DataFrame, metric: str, level: str
) -> tuple[list[dict], list[float]]:
    """PolygonLayer records coloured by ``metric`` plus the colour bin edges.

    A unit without a scorecard row (no data in the range) is drawn grey and its
    tooltip says so.
    """
    details = unit_details(scorecard, metric, level)
    blank = {
        "level": level,
        "value": None,
        "metric_text": f"{MAP_METRICS[metric].label}：无数据",
        "fortress_text": "堡垒指数 —",
        "vanguard_text": "先锋指数 —",
        "hint": "所选范围内没有数据",
    }
    for feature in features:
        details.setdefault(feature["properties"]["unit_id"], blank)
    values = {unit: d["value"] for unit, d in details.items()}
    records, edges = polygon_records(features, values, details)
    village_of = {f["properties"]["unit_id"]: f["properties"]["village_id"] for f in features}
    for record in records:
        record["village_id"] = village_of[record["unit_id"]]
    return records, edges


def point_records(points: pl.DataFrame) -> list[dict]:
    """ScatterplotLayer records of 党群服务站 (larger) and 党群服务点."""
    records = []
    for row in points.iter_rows(named=True):
        station = row["kind"] == "服务站"
        records.append(
            {
                "unit_id": row["place_id"],
                "village_id": row["village_id"],
                "level": "place",
                "position": [row["lon"], row["lat"]],
                "colour": STATION_COLOUR if station else POINT_COLOUR,
                "radius": 8 if station else 5,  # pixels (ui.map sets radius_units)
                "name": f"{row['village_name']}{row['name']}",
                "metric_text": "党群服务站" if station else "党群服务点",
                "fortress_text": f"编号 {row['place_id']}",
                "vanguard_text": f"所属村居：{row['village_name']}",
                "hint": "点击查看所属村居详情",
            }
        )
    return records


def label_records(units: pl.DataFrame, name_column: str = "name") -> list[dict]:
    """TextLayer records at the units' label points (``lon``, ``lat``)."""
    return [
        {"position": [row["lon"], row["lat"]], "text": row[name_column]}
        for row in units.iter_rows(named=True)
        if row["lon"] is not None and row["lat"] is not None
    ]


def _coordinates(features: Iterable[Mapping]) -> Iterable[tuple[float, float]]:
    for ring in _outer_rings(features):
        for lon, lat, *_ in ring:
            yield lon, lat


def fit_view(
    features: Sequence[Mapping], width_px: int = 760, height_px: int = 520
) -> tuple[tuple[float, float], float]:
    """Centre (lon, lat) and deck.gl zoom that fit the features in the map.

    deck.gl's Web-Mercator world is 512 px wide at zoom 0.
    """
    points = list(_coordinates(features))
    if not points:
        return (121.420, 30.793), 11.6  # the town centre (DESIGN §2)
    lons, lats = zip(*points, strict=True)
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    centre = ((west + east) / 2, (south + north) / 2)
    span_lon = max(east - west, 1e-4)
    span_lat = max(north - south, 1e-4)
    zoom_lon = math.log2(width_px * 360 / (512 * span_lon))
    zoom_lat = math.log2(height_px * 360 * math.cos(math.radians(centre[1])) / (512 * span_lat))
    return centre, round(min(zoom_lon, zoom_lat) - 0.15, 2)


OUTLINE_LAYER_ID = "village_outlines"


def add_village_outlines(deck: pdk.Deck, villages: Sequence[Mapping]) -> pdk.Deck:
    """Draw the villages' borders over a sub-grid map, so that villages stay readable."""
    paths = [{"path": ring} for ring in _outer_rings(villages)]
    layer = pdk.Layer("PathLayer", id=OUTLINE_LAYER_ID, data=paths, get_path="path", pickable=False)
    layer.get_color = [70, 70, 70, 230]
    layer.get_width = 2
    layer.width_units = "pixels"  # set after construction: see ui.map.build_deck
    deck.layers.insert(1, layer)  # above the polygons, below markers and labels
    return deck


def _outer_rings(features: Iterable[Mapping]) -> Iterable[list]:
    for feature in features:
        geometry = feature["geometry"]
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        for rings in polygons:
            yield rings[0]


def legend_html(metric: str, edges: list[float], has_missing: bool) -> str:
    """The legend beside the map: colour → range of the metric, markers, no data."""
    kind = MAP_METRICS[metric].kind
    fmt = (lambda v: f"{v * 100:.1f}%") if kind == "rate" else (lambda v: f"{v:.1f}")
    swatch = (
        "<div style='display:flex;align-items:center;margin:3px 0'>"
        "<span style='display:inline-block;width:18px;height:14px;background:{c};"
        "border:1px solid #bbb;margin-right:8px;border-radius:{r};opacity:{o}'></span>"
        "<span style='font-size:0.9rem'>{t}</span></div>"
    )
    rows = [f"<div style='font-weight:600;margin-bottom:4px'>{MAP_METRICS[metric].label}</div>"]
    for entry in reversed(legend(edges, fmt)):  # high values on top
        # Polygons are drawn at alpha 200/255: the swatch matches what the map shows.
        rows.append(swatch.format(c=entry["colour"], t=entry["range"], r="2px", o=0.8))
    if has_missing or not edges:
        grey = "#{:02x}{:02x}{:02x}".format(*NO_DATA)
        rows.append(swatch.format(c=grey, t="无数据", r="2px", o=0.65))
    rows.append("<div style='font-weight:600;margin:10px 0 4px'>标记</div>")
    for text, rgba in MARKER_LEGEND:
        colour = "#{:02x}{:02x}{:02x}".format(*rgba[:3])
        rows.append(swatch.format(c=colour, t=text, r="50%", o=1))
    return "<div>" + "".join(rows) + "</div>"


def selection_target(selection: Mapping | None) -> tuple[str, str | None] | None:
    """(village_id, subgrid_id or None) of a map click, or None if nothing was picked.

    ``selection`` is the ``selection`` of ``st.pydeck_chart``'s state: ``objects``
    keyed by layer id. A sub-grid polygon gives its village and itself; a village
    polygon or a service station/point gives the village.
    """
    if not selection:
        return None
    objects = selection.get("objects") or {}
    for layer in (POLYGON_LAYER_ID, POINT_LAYER_ID):
        for picked in objects.get(layer) or []:
            village = picked.get("village_id")
            if not village:
                continue
            subgrid = picked.get("unit_id") if picked.get("level") == "subgrid" else None
            return village, subgrid
    return None


def scorecard_table(
    scorecard: pl.DataFrame,
    name_header: str,
    names: Mapping[str, str] | None = None,
    extra: Mapping[str, Mapping[str, str]] | None = None,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """A scorecard with Chinese headers: rates in % (one decimal), indices rounded.

    ``names`` overrides ``unit_name`` (e.g. '营房村第1网格'); ``extra`` adds text
    columns per unit (header → {unit_id: text}) after the name.
    """
    keep = [c for c in (columns or SCORECARD_COLUMNS) if c in scorecard.columns]
    exprs: list[pl.Expr] = [pl.col("unit_id").alias("编号")]
    if names:
        exprs.append(pl.col("unit_id").replace_strict(names, default=None).alias(name_header))
    else:
        exprs.append(pl.col("unit_name").alias(name_header))
    for header, mapping in (extra or {}).items():
        exprs.append(pl.col("unit_id").replace_strict(mapping, default=None).alias(header))
    for col in keep:
        header = SCORECARD_COLUMNS[col]
        if col in RATE_COLUMNS:
            exprs.append((pl.col(col) * 100).round(1).alias(header))
        elif col == "surveyed":
            exprs.append(
                pl.when(pl.col(col))
                .then(pl.lit("已测评"))
                .otherwise(pl.lit("无测评"))
                .alias(header)
            )
        elif scorecard.schema[col] == pl.Float64:
            exprs.append(pl.col(col).round(2).alias(header))
        else:
            exprs.append(pl.col(col).alias(header))
    return scorecard.select(exprs)


def small_multiples(
    frame: pl.DataFrame,
    x: str,
    panels: Sequence[tuple[str, str]],
    columns: int = 2,
    y_range: tuple[float, float] | None = (0, 100),
) -> go.Figure:
    """One bar panel per (column, title) over the categories in ``x`` (same y scale)."""
    rows = math.ceil(len(panels) / columns)
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[title for _, title in panels],
        vertical_spacing=0.18,
        horizontal_spacing=0.08,
    )
    categories = [html_text(c) for c in frame[x].to_list()]  # Plotly reads tags in text
    for i, (col, title) in enumerate(panels):
        values = frame[col].to_list()
        figure.add_trace(
            go.Bar(
                x=categories,
                y=values,
                name=title,
                marker_color=COLOURS[i % len(COLOURS)],
                text=[None if v is None else f"{v:.1f}" for v in values],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{x}<br>" + title + "：%{y:.1f}<extra></extra>",
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    if y_range:
        figure.update_yaxes(range=[y_range[0], y_range[1] * 1.12])
    figure.update_layout(showlegend=False, bargap=0.3)
    return figure


def chart_export(frame: pl.DataFrame, name: str, key: str) -> None:
    """The download buttons of a chart's underlying frame (nothing when empty)."""
    if not frame.is_empty():
        export_buttons(frame, name, key=key)


def rank_change_text(change: int | None) -> str:
    """Rank movement: ↑2 (moved up), ↓1, 持平, or — (no earlier data)."""
    if change is None:
        return "—"
    if change > 0:
        return f"↑{change}"
    if change < 0:
        return f"↓{-change}"
    return "持平"


def pickable_table(
    frame: pl.DataFrame, name: str, key: str, pending_key: str, height: int | None = None
) -> None:
    """A table whose rows can be clicked (single row), with its export buttons.

    The clicked row's position is left in ``st.session_state[pending_key]`` by the
    selection callback, i.e. only when the user picks a new row; the page takes it
    with :func:`pending_pop` and drills down.
    """

    def remember() -> None:
        rows = (st.session_state.get(key) or {}).get("selection", {}).get("rows") or []
        st.session_state[pending_key] = rows[0] if rows else None

    kwargs = {"height": height} if height else {}
    st.dataframe(
        frame,
        width="stretch",
        hide_index=True,
        key=key,
        on_select=remember,
        selection_mode="single-row",
        **kwargs,
    )
    export_buttons(frame, name, key=f"{key}_export")


def pending_pop(key: str):
    """Take (and clear) a value a widget callback left for this run."""
    return st.session_state.pop(key, None)
