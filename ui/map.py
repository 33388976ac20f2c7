"""pydeck map of village or sub-grid polygons coloured by a value (offline-capable).

No base map is needed: the layers are our own boundaries, so the map works with no
internet. Records passed to pydeck are plain dicts with flat fields, because pydeck
tooltips address ``{field}`` of the picked object and Streamlit serialises records
reliably (not pandas frames). What the records say (names, values, tooltips) is
:mod:`ui.map_records`'; this module draws them, fits the view and reads a click.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pydeck as pdk

# Light → deep red: the party-building palette, readable for low and high values.
PALETTE = [
    (254, 229, 217),
    (252, 187, 161),
    (252, 146, 114),
    (251, 106, 74),
    (222, 45, 38),
    (165, 15, 21),
]
NO_DATA = (200, 200, 200)
POLYGON_LAYER_ID = "units"
POINT_LAYER_ID = "service_points"
LABEL_LAYER_ID = "labels"
OUTLINE_LAYER_ID = "village_outlines"
# No base map at all: pydeck's "default style" marker, which Streamlit's map reads as
# "draw no base map" (no MapLibre canvas, no style request; decision 0017). A style URL
# (even a blank one from our own origin) makes the browser start MapLibre as well.
BLANK_STYLE_URL = "__MAP_STYLE__"
COORDINATE_DIGITS = 5  # ≈ 1 m: boundaries are sent to the browser no finer
TOWN_CENTRE = (121.420, 30.793)  # 漕泾镇 (lon, lat): the view when there is no boundary


def bins(values: Iterable[float | None], count: int = len(PALETTE)) -> list[float]:
    """Equal-width bin edges over the finite values (``count`` + 1 edges)."""
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return []
    low, high = min(finite), max(finite)
    if high == low:
        high = low + 1
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]


def band_colours(bands: int) -> list[tuple[int, int, int]]:
    """``bands`` colours spread over the palette, lightest first."""
    if bands <= 1:
        return [PALETTE[-1]]
    last = len(PALETTE) - 1
    return [PALETTE[round(i * last / (bands - 1))] for i in range(bands)]


def colour(value: float | None, edges: list[float]) -> list[int]:
    """RGBA colour of ``value`` on the palette for the given band edges (a value
    on an edge belongs to the band above it, as a star threshold does)."""
    if value is None or not edges or math.isnan(value):
        return [*NO_DATA, 160]
    colours = band_colours(len(edges) - 1)
    band = sum(1 for edge in edges[1:-1] if value >= edge)
    return [*colours[band], 200]


def legend(edges: list[float], fmt=lambda v: f"{v:.1f}") -> list[dict]:
    """One entry per colour: its hex value and the range it stands for."""
    out = []
    if not edges:
        return out
    for i, rgb in enumerate(band_colours(len(edges) - 1)):
        hex_colour = "#{:02x}{:02x}{:02x}".format(*rgb)
        out.append({"colour": hex_colour, "range": f"{fmt(edges[i])} – {fmt(edges[i + 1])}"})
    return out


def polygon_records(
    features: Iterable[Mapping],
    values: Mapping[str, float | None],
    details: Mapping[str, Mapping[str, str]] | None = None,
    edges: list[float] | None = None,
) -> tuple[list[dict], list[float]]:
    """Flat records (one per polygon ring) for a PolygonLayer, plus the bin edges used.

    ``features`` are GeoJSON features with ``unit_id`` and ``name`` properties;
    ``details`` adds tooltip fields per unit (already formatted text); ``edges`` are
    fixed band edges (default: equal bins over the values shown).
    """
    features = list(features)
    edges = edges or bins(values.get(f["properties"]["unit_id"]) for f in features)
    records = []
    for feature in features:
        props = feature["properties"]
        unit = props["unit_id"]
        value = values.get(unit)
        geometry = feature["geometry"]
        extra = dict(details.get(unit, {})) if details else {}
        for rings in _polygons(geometry):
            records.append(
                {
                    "unit_id": unit,
                    "name": props.get("display_name") or props.get("name", unit),
                    "polygon": rounded(rings[0]),
                    "fill": colour(value, edges),
                    **extra,
                }
            )
    return records, edges


def rounded(ring: Sequence[Sequence[float]]) -> list[list[float]]:
    """A ring's (lon, lat) rounded to :data:`COORDINATE_DIGITS` (what the map sends)."""
    return [[round(lon, COORDINATE_DIGITS), round(lat, COORDINATE_DIGITS)] for lon, lat, *_ in ring]


LABEL_FONTS = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def build_deck(
    polygons: list[dict],
    points: list[dict],
    labels: list[dict],
    tooltip_html: str,
    center: tuple[float, float],
    zoom: float = 11.6,
) -> pdk.Deck:
    """The map: coloured polygons, service station/point markers and Chinese labels.

    pydeck turns a bare string keyword into a JavaScript expression (``"auto"`` would
    reach deck.gl as the identifier ``auto``), so constant string options are set as
    attributes after construction, which pydeck serialises verbatim.
    """
    polygon_layer = pdk.Layer(
        "PolygonLayer",
        id=POLYGON_LAYER_ID,
        data=polygons,
        get_polygon="polygon",
        get_fill_color="fill",
        get_line_color=[255, 255, 255, 255],
        line_width_min_pixels=1,
        pickable=True,
        auto_highlight=True,
        stroked=True,
        filled=True,
    )
    point_layer = pdk.Layer(
        "ScatterplotLayer",
        id=POINT_LAYER_ID,
        data=points,
        get_position="position",
        get_fill_color="colour",
        get_radius="radius",
        pickable=True,
        stroked=True,
        get_line_color=[255, 255, 255],
        line_width_min_pixels=1,
    )
    point_layer.radius_units = "pixels"  # readable at any zoom
    label_layer = pdk.Layer(
        "TextLayer",
        id=LABEL_LAYER_ID,
        data=labels,
        get_position="position",
        get_text="text",
        get_color=[40, 40, 40, 230],
        get_pixel_offset="offset",  # per label: placed clear of the markers (ui.map_records)
    )
    label_layer.character_set = "auto"  # Chinese glyphs are generated on demand
    label_layer.font_family = LABEL_FONTS
    label_layer.get_size = 14
    label_layer.background = True
    label_layer.get_background_color = [255, 255, 255, 200]
    label_layer.background_padding = [3, 1, 3, 1]
    view = pdk.ViewState(longitude=center[0], latitude=center[1], zoom=zoom, pitch=0)
    return pdk.Deck(
        layers=[polygon_layer, point_layer, label_layer],
        initial_view_state=view,
        # No base map: without a style Streamlit fills in a base map fetched from a
        # tile host on the internet (unreachable offline); see BLANK_STYLE_URL.
        map_provider=None,
        map_style=BLANK_STYLE_URL,
        tooltip={"html": tooltip_html, "style": {"fontSize": "13px"}},
    )


def _polygons(geometry: Mapping) -> list:
    """The polygons of a Polygon or MultiPolygon geometry, each as its rings."""
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def _outer_rings(features: Iterable[Mapping]) -> Iterable[list]:
    for feature in features:
        for rings in _polygons(feature["geometry"]):
            yield rings[0]


def add_village_outlines(deck: pdk.Deck, villages: Sequence[Mapping]) -> pdk.Deck:
    """Draw the villages' borders over a sub-grid map, so that villages stay readable."""
    paths = [{"path": rounded(ring)} for ring in _outer_rings(villages)]
    layer = pdk.Layer("PathLayer", id=OUTLINE_LAYER_ID, data=paths, get_path="path", pickable=False)
    layer.get_color = [70, 70, 70, 230]
    layer.get_width = 2
    layer.width_units = "pixels"  # set after construction: see build_deck
    deck.layers.insert(1, layer)  # above the polygons, below markers and labels
    return deck


def fit_view(
    features: Sequence[Mapping], width_px: int = 760, height_px: int = 520
) -> tuple[tuple[float, float], float]:
    """Centre (lon, lat) and deck.gl zoom that fit the features in the map.

    deck.gl's Web-Mercator world is 512 px wide at zoom 0.
    """
    points = [(lon, lat) for ring in _outer_rings(features) for lon, lat, *_ in ring]
    if not points:
        return TOWN_CENTRE, 11.6
    lons, lats = zip(*points, strict=True)
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    centre = ((west + east) / 2, (south + north) / 2)
    span_lon = max(east - west, 1e-4)
    span_lat = max(north - south, 1e-4)
    zoom_lon = math.log2(width_px * 360 / (512 * span_lon))
    zoom_lat = math.log2(height_px * 360 * math.cos(math.radians(centre[1])) / (512 * span_lat))
    return centre, round(min(zoom_lon, zoom_lat) - 0.15, 2)


def pixel(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web-Mercator pixel coordinates of (lon, lat) at deck.gl ``zoom`` (512 px world)."""
    scale = 512 * 2**zoom
    phi = math.radians(lat)
    x = (lon + 180) / 360 * scale
    y = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * scale
    return x, y


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
