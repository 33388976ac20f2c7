"""What the 两个指数地图 shows: units coloured by a metric with their tooltips, the
service stations and points, the labels and the legend.

Decisions:
- Map labels: village names at village level and in the town-wide sub-grid map (89
  labels would hide the polygons); sub-grid names when one village is shown.
- Every pickable record carries the same tooltip fields (``name``, ``metric_text``,
  ``fortress_text``, ``vanguard_text``, ``hint``): deck.gl leaves a ``{field}`` the
  picked object lacks as literal text. The fields hold raw text: Streamlit's map
  HTML-escapes each value it puts into the tooltip template (escaping here too would
  show "&lt;" to the reader); TextLayer labels are drawn as glyphs, never parsed.
- Values are written as the glossary writes them (metrics.glossary.value_text).
- No line of a tooltip repeats another: the index the map is coloured by is named once
  (with its stars or grade), a marker's kind is in its name.
- A click on a sub-grid opens 子网格详情, on a village or a marker 村居详情: the hints
  say so.
- Labels sit above their point unless a marker is there: then below, right or left
  (:func:`label_offset`, in pixels at the map's fitted zoom).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from metrics.glossary import entry, is_missing, label, value_text, value_with_unit
from ui.map import NO_DATA, legend, pixel, polygon_records

# The map's colour-by choices: columns of ``metrics.overview.scorecard``.
MAP_METRICS = (
    "fortress_index",
    "vanguard_index",
    "compliant_share",
    "study_coverage",
    "on_time_resolve_rate",
)
STATION_COLOUR = [31, 78, 140, 235]
POINT_COLOUR = [24, 130, 110, 235]
MARKER_LEGEND = (("党群服务站", STATION_COLOUR), ("党群服务点", POINT_COLOUR))
# One line per field, each in its own block: a field left empty (a fact the name or
# another line already says) takes no line, so a tooltip never repeats itself.
TOOLTIP_HTML = (
    "<b>{name}</b><div>{metric_text}</div><div>{fortress_text}</div>"
    "<div>{vanguard_text}</div><div style='color:#888'>{hint}</div>"
)
LABEL_SIZE = 14  # px: TextLayer glyph size (ui.map); a label box is about this tall
LABEL_GAP = 4  # px kept between a label and a marker


def fortress_text(index, stars, surveyed) -> str:
    """'平均堡垒指数 88.5 · ★★★★', with '· 无测评' when no survey covered the range."""
    name = label("fortress_index")
    if is_missing(index):
        return f"{name} —"
    text = f"{name} {value_text('fortress_index', index)} · {stars or '—'}"
    return text if surveyed else f"{text} · {entry('surveyed').flag_words[1]}"


def vanguard_text(index, grade, members) -> str:
    """'平均先锋指数 66.8 · 合格（在册党员 152 人）'."""
    name = label("vanguard_index")
    if is_missing(index):
        return f"{name} —"
    people = f"{label('members')} {value_with_unit('members', members or 0)}"
    return f"{name} {value_text('vanguard_index', index)} · {grade or '—'}（{people}）"


def unit_details(scorecard: pl.DataFrame, metric: str, level: str) -> dict[str, dict]:
    """Tooltip fields and the raw value per unit, from a scorecard frame."""
    hint = "点击查看村居详情" if level == "village" else "点击查看子网格详情"
    details = {}
    for row in scorecard.iter_rows(named=True):
        gone = row.get("reported") is False and is_missing(row[metric])
        shown = "未报送" if gone else value_text(metric, row[metric])
        if metric == "fortress_index" and row["stars"]:
            shown += f" {row['stars']}"
        if metric == "vanguard_index" and not is_missing(row[metric]):
            members = value_with_unit("members", row["members"] or 0)
            shown += f" · {row['grade'] or '—'}（{label('members')} {members}）"
        details[row["unit_id"]] = {
            "level": level,
            "value": row[metric],
            "metric_text": f"{label(metric)}：{shown}",
            # The tooltip names the 堡垒指数 once: not again when it is the map's colour.
            "fortress_text": ""
            if metric == "fortress_index"
            else fortress_text(row["fortress_index"], row["stars"], row["surveyed"]),
            # Likewise the 先锋指数.
            "vanguard_text": ""
            if metric == "vanguard_index"
            else vanguard_text(row["vanguard_index"], row["grade"], row["members"]),
            "hint": "本期数据未报送，见“报送情况”" if gone else hint,
        }
    return details


# Fixed bands: the 堡垒指数 by its star levels (indices.toml), rates by the same
# cut-offs whatever the data's spread, so one village's fine sub-grids never look "worst".
RATE_EDGES = [0.0, 0.4, 0.55, 0.7, 0.85, 1.0]


def band_edges(metric: str, stars=None) -> list[float] | None:
    """The fixed colour bands of ``metric`` (None: equal bins over the values)."""
    if metric == "fortress_index" and stars:
        return sorted({0.0, 100.0, *(float(t.min) for t in stars)})
    if entry(metric).kind == "rate":
        return RATE_EDGES
    return None


def map_polygons(
    features: Sequence[Mapping],
    scorecard: pl.DataFrame,
    metric: str,
    level: str,
    edges: list[float] | None = None,
) -> tuple[list[dict], list[float]]:
    """PolygonLayer records coloured by ``metric`` plus the colour bin edges.

    A unit without a scorecard row (no data in the range) is drawn grey and its
    tooltip says so.
    """
    details = unit_details(scorecard, metric, level)
    blank = {
        "level": level,
        "value": None,
        "metric_text": f"{label(metric)}：无数据",
        "fortress_text": fortress_text(None, None, None),
        "vanguard_text": vanguard_text(None, None, None),
        "hint": "所选范围内没有数据",
    }
    for feature in features:
        details.setdefault(feature["properties"]["unit_id"], blank)
    values = {unit: d["value"] for unit, d in details.items()}
    records, edges = polygon_records(features, values, details, edges)
    village_of = {f["properties"]["unit_id"]: f["properties"]["village_id"] for f in features}
    for record in records:
        record["village_id"] = village_of[record["unit_id"]]
    return records, edges


def point_records(points: pl.DataFrame) -> list[dict]:
    """ScatterplotLayer records of 党群服务站 (larger) and 党群服务点."""
    records = []
    for row in points.iter_rows(named=True):
        station = row["kind"] == "服务站"
        name = f"{row['village_name']}{row['name']}"  # says the kind: 党群服务站/点
        records.append(
            {
                "unit_id": row["place_id"],
                "village_id": row["village_id"],
                "level": "place",
                "position": [row["lon"], row["lat"]],
                "colour": STATION_COLOUR if station else POINT_COLOUR,
                "radius": 8 if station else 5,  # pixels (ui.map sets radius_units)
                "name": name,
                "metric_text": f"编号 {row['place_id']}",
                "fortress_text": "",
                "vanguard_text": "",
                "hint": f"点击查看{row['village_name']}详情",
            }
        )
    return records


def label_offset(
    text: str, at: tuple[float, float], markers: Sequence[tuple[float, float, float]]
) -> list[int]:
    """Pixel offset of a label centred at pixel ``at`` that keeps its box clear of the
    ``markers`` (pixel x, y, radius): above the point, else below, right, left, further
    above; above if none is clear (labels are drawn over markers, never under)."""
    width = LABEL_SIZE * len(text) + 6 + 2 * LABEL_GAP
    height = LABEL_SIZE + 4 + 2 * LABEL_GAP
    side = width / 2 + 10
    candidates = ([0, -18], [0, 18], [side, 0], [-side, 0], [0, -36], [0, 36])

    def clear(offset) -> bool:
        cx, cy = at[0] + offset[0], at[1] + offset[1]
        for x, y, r in markers:
            nearest_x = min(max(x, cx - width / 2), cx + width / 2)
            nearest_y = min(max(y, cy - height / 2), cy + height / 2)
            if (x - nearest_x) ** 2 + (y - nearest_y) ** 2 < r * r:
                return False
        return True

    chosen = next((c for c in candidates if clear(c)), candidates[0])
    return [round(chosen[0]), round(chosen[1])]


def label_records(
    units: pl.DataFrame,
    name_column: str = "name",
    points: Sequence[Mapping] = (),
    zoom: float | None = None,
) -> list[dict]:
    """TextLayer records at the units' label points (``lon``, ``lat``), each with the
    pixel ``offset`` that keeps it clear of the marker ``points`` (records of
    :func:`point_records`) at ``zoom`` (without a zoom: above its point)."""
    markers = []
    if zoom is not None:
        for p in points:
            x, y = pixel(*p["position"], zoom)
            markers.append((x, y, p["radius"] + 1))  # + the white outline
    out = []
    for row in units.iter_rows(named=True):
        if row["lon"] is None or row["lat"] is None:
            continue
        text = row[name_column]
        offset = (
            label_offset(text, pixel(row["lon"], row["lat"], zoom), markers)
            if markers
            else [0, -18]
        )
        out.append({"position": [row["lon"], row["lat"]], "text": text, "offset": offset})
    return out


def legend_html(
    metric: str,
    edges: list[float],
    has_missing: bool,
    band_names: Mapping[float, str] | None = None,
) -> str:
    """The legend beside the map: which end is good, colour → range of the metric (with
    name of a band by its lower edge in ``band_names``, e.g. the stars), markers, no data."""
    swatch = (
        "<div style='display:flex;align-items:center;margin:3px 0'>"
        "<span style='display:inline-block;width:18px;height:14px;background:{c};"
        "border:1px solid #bbb;margin-right:8px;border-radius:{r};opacity:{o}'></span>"
        "<span style='font-size:0.9rem'>{t}</span></div>"
    )
    rows = [f"<div style='font-weight:600;margin-bottom:4px'>{label(metric)}</div>"]
    better = entry(metric).higher_is_better
    if better is not None:
        rows.append(
            "<div style='font-size:0.8rem;color:#555;margin-bottom:4px'>"
            f"颜色越深越{'好' if better else '差'}</div>"
        )
    names = dict(band_names or {})
    bands = legend(edges, lambda v: value_text(metric, v))
    for item, low in reversed(list(zip(bands, edges[:-1], strict=True))):
        text = f"{names[low]} {item['range']}" if low in names else item["range"]
        # Polygons are drawn at alpha 200/255: the swatch matches what the map shows.
        rows.append(swatch.format(c=item["colour"], t=text, r="2px", o=0.8))
    if has_missing or not edges:
        grey = "#{:02x}{:02x}{:02x}".format(*NO_DATA)
        rows.append(swatch.format(c=grey, t="未报送或无数据", r="2px", o=0.65))
    rows.append("<div style='font-weight:600;margin:10px 0 4px'>标记</div>")
    for text, rgba in MARKER_LEGEND:
        colour = "#{:02x}{:02x}{:02x}".format(*rgba[:3])
        rows.append(swatch.format(c=colour, t=text, r="50%", o=1))
    return "<div>" + "".join(rows) + "</div>"
