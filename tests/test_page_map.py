"""两个指数地图 (app_pages/map.py) through the real entry point, with AppTest.

The deck JSON is read from the page (polygons, markers, labels, tooltip) and its
values are compared with the metrics layer's for the same Filter. A click is sent the
way the browser sends it: a widget state for the chart holding the selection JSON.
"""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from metrics import Filter
from metrics.indices import vanguard_members
from metrics.overview import scorecard
from metrics.registry import service_points, subgrids
from tests.support.page_runs import computed, copy_with_august_emptied, deck_specs, run_page, texts
from ui.map import (
    BLANK_STYLE_URL,
    LABEL_LAYER_ID,
    OUTLINE_LAYER_ID,
    POINT_LAYER_ID,
    POLYGON_LAYER_ID,
    pixel,
    rounded,
    selection_target,
)
from ui.map_records import (
    LABEL_SIZE,
    TOOLTIP_HTML,
    label_offset,
    label_records,
    point_records,
    unit_details,
)

DEFAULT = (date(2026, 10, 1), date(2026, 10, 1))  # the latest complete sample month


@pytest.fixture(scope="module")
def gap_db(sample_db, tmp_path_factory):
    return copy_with_august_emptied(sample_db, tmp_path_factory.mktemp("map_gap") / "grid.duckdb")


def layers(at) -> dict[str, dict]:
    (deck,) = deck_specs(at)
    return {layer["id"]: layer for layer in deck["layers"]}


def click(at, record: dict, layer: str = POLYGON_LAYER_ID):
    """Send a map click on ``record`` (as the browser's on_select does) and rerun."""
    (chart,) = at.get("deck_gl_json_chart")
    selection = {"selection": {"indices": {layer: [0]}, "objects": {layer: [record]}}}
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=chart.proto.id, string_value=json.dumps(selection)))
    return at._run(states)


def test_village_map_shows_14_polygons_with_the_metrics_values(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "map")
    assert not at.exception

    by_id = layers(at)
    polygons = by_id[POLYGON_LAYER_ID]["data"]
    assert len(polygons) == 14
    expected = computed(sample_db, scorecard, Filter(*DEFAULT, "village"))
    values = dict(expected.select("unit_id", "fortress_index").iter_rows())
    assert {p["unit_id"]: p["value"] for p in polygons} == pytest.approx(values, abs=1e-9)

    # Tooltip: the template names the fields every record carries, in Chinese.
    tooltip = json.loads(at.get("deck_gl_json_chart")[0].proto.tooltip)["html"]
    for field in ("name", "metric_text", "fortress_text", "vanguard_text", "hint"):
        assert "{" + field + "}" in tooltip
        assert all(field in p for p in polygons)
    first = expected.row(0, named=True)
    record = next(p for p in polygons if p["unit_id"] == first["unit_id"])
    # Coloured by the 堡垒指数, the tooltip names it once, with its stars.
    assert record["metric_text"] == f"平均堡垒指数：{first['fortress_index']:.1f} {first['stars']}"
    assert record["fortress_text"] == ""
    assert first["grade"] in record["vanguard_text"]
    assert record["name"] == first["unit_name"]
    # Higher values get a different (deeper) colour than lower ones.
    low = min(polygons, key=lambda p: p["value"])
    high = max(polygons, key=lambda p: p["value"])
    assert low["fill"] != high["fill"]

    # Markers: every service station and point; labels in Chinese, drawn with "auto".
    points = computed(sample_db, service_points)
    assert len(by_id[POINT_LAYER_ID]["data"]) == points.height == 37
    assert by_id[POINT_LAYER_ID]["radiusUnits"] == "pixels"
    assert by_id[LABEL_LAYER_ID]["characterSet"] == "auto"
    assert {label["text"] for label in by_id[LABEL_LAYER_ID]["data"]} == set(expected["unit_name"])
    assert all(layer.get("id") for layer in by_id.values())
    # No base map at all (decision 0017): the "no style" marker, no map provider, so
    # nothing to fetch from the internet and no MapLibre canvas beside deck.gl's.
    spec = deck_specs(at)[0]
    assert spec.get("mapStyle") == BLANK_STYLE_URL == "__MAP_STYLE__"
    assert "mapProvider" not in spec
    # Labels carry their own pixel offset, clear of the markers; coordinates are rounded.
    assert all(len(label["offset"]) == 2 for label in by_id[LABEL_LAYER_ID]["data"])
    assert all(round(c, 5) == c for p in polygons for lon_lat in p["polygon"] for c in lon_lat)
    # Tooltips never repeat a line.
    for record in polygons + by_id[POINT_LAYER_ID]["data"]:
        lines = [record[f] for f in ("name", "metric_text", "fortress_text", "vanguard_text")]
        shown = [line for line in lines if line]
        assert len(shown) == len(set(shown)), record

    page = texts(at)
    # illustrative boundaries, and how to replace them in words (no file-format jargon)
    assert "示意" in page and "边界文件" in page and "GeoJSON" not in page
    assert any("口径说明" in e.label for e in at.expander)
    table = at.dataframe[0].value
    assert len(table) == 14
    shown = dict(zip(table["编号"], table["平均堡垒指数"], strict=True))
    assert shown == pytest.approx({k: round(v, 1) for k, v in values.items()})


def test_subgrid_level_and_another_metric(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "map")
    at.radio(key="map_level").set_value("subgrid")
    at.selectbox(key="map_metric").set_value("study_coverage").run()
    assert not at.exception

    polygons = layers(at)[POLYGON_LAYER_ID]["data"]
    assert len(polygons) == 89
    expected = computed(sample_db, scorecard, Filter(*DEFAULT, "subgrid"))
    values = dict(expected.select("unit_id", "study_coverage").iter_rows())
    assert {p["unit_id"]: p["value"] for p in polygons} == pytest.approx(values, abs=1e-9)
    assert all(re.fullmatch(r"学习覆盖率：\d+\.\d%", p["metric_text"]) for p in polygons)
    # A click on a sub-grid opens 子网格详情, and the hint says so.
    assert {p["hint"] for p in polygons if p["value"] is not None} == {"点击查看子网格详情"}
    # A sub-grid is named with its village: 营房村第1网格.
    grids = computed(sample_db, subgrids)
    full_names = {s: v + n for s, v, n in grids.select("subgrid_id", "village_name", "name").rows()}
    assert {p["unit_id"]: p["name"] for p in polygons} == full_names
    # Town-wide sub-grid map: villages are labelled (not the 89 sub-grids) and outlined.
    assert len(layers(at)[LABEL_LAYER_ID]["data"]) == 14
    assert len(layers(at)[OUTLINE_LAYER_ID]["data"]) == 14
    assert len(at.dataframe[0].value) == 89


def test_one_village_shows_its_subgrids_and_members(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "map", {"village": "CJ03"})
    assert not at.exception

    grids = computed(sample_db, subgrids, "CJ03")
    by_id = layers(at)
    polygons = by_id[POLYGON_LAYER_ID]["data"]
    assert sorted(p["unit_id"] for p in polygons) == grids["subgrid_id"].to_list()
    assert len(polygons) == 7
    assert {label["text"] for label in by_id[LABEL_LAYER_ID]["data"]} == set(grids["name"])
    assert {p["village_id"] for p in by_id[POINT_LAYER_ID]["data"]} == {"CJ03"}
    expected = computed(sample_db, scorecard, Filter(*DEFAULT, "subgrid", "CJ03"))
    values = dict(expected.select("unit_id", "fortress_index").iter_rows())
    assert {p["unit_id"]: p["value"] for p in polygons} == pytest.approx(values, abs=1e-9)

    # Per-member 先锋指数 of the village, names masked.
    members = computed(sample_db, vanguard_members, Filter(*DEFAULT, "village", "CJ03"))
    table = at.dataframe[1].value
    assert len(table) == members.height > 100
    real = set(members["name"])
    assert not real & set(table["姓名"])
    assert all("*" in name for name in table["姓名"])
    assert sorted(table["先锋指数"].dropna()) == pytest.approx(
        sorted(round(v, 1) for v in members["vanguard_index"].drop_nulls())
    )


def test_a_click_on_a_polygon_drills_down_to_the_village(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "map")
    record = next(p for p in layers(at)[POLYGON_LAYER_ID]["data"] if p["unit_id"] == "CJ05")
    at = click(at, record)
    assert not at.exception
    assert at.query_params["village"] == "CJ05"
    assert "村居详情" in [t.value for t in at.title]
    grids = computed(sample_db, subgrids, "CJ05")
    assert at.dataframe[0].value["编号"].tolist() == grids["subgrid_id"].to_list()


def test_a_subgrid_click_opens_the_subgrid(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "map")
    at.radio(key="map_level").set_value("subgrid").run()
    record = next(p for p in layers(at)[POLYGON_LAYER_ID]["data"] if p["unit_id"] == "CJ07-02")
    at = click(at, record)
    assert not at.exception
    assert "子网格详情" in [t.value for t in at.title]
    assert at.query_params["subgrid"] == "CJ07-02"
    assert at.query_params["village"] == "CJ07"


def test_selection_target_reads_polygons_and_markers():
    assert selection_target(None) is None
    assert selection_target({"objects": {}}) is None
    polygon = {"unit_id": "CJ02-03", "village_id": "CJ02", "level": "subgrid"}
    assert selection_target({"objects": {POLYGON_LAYER_ID: [polygon]}}) == ("CJ02", "CJ02-03")
    marker = {"unit_id": "CJ04-S", "village_id": "CJ04", "level": "place"}
    assert selection_target({"objects": {POINT_LAYER_ID: [marker]}}) == ("CJ04", None)


def test_an_empty_month_draws_grey_polygons_with_a_notice(gap_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(gap_db))
    at = run_page(gap_db, "map", {"from": "2026-08", "to": "2026-08"})
    assert not at.exception
    polygons = layers(at)[POLYGON_LAYER_ID]["data"]
    assert len(polygons) == 14
    assert all(p["value"] is None for p in polygons)
    assert all(p["fill"][:3] == [200, 200, 200] for p in polygons)
    assert "没有" in " ".join(i.value for i in at.info)
    assert not at.dataframe  # no table of values when there are none


def test_bad_query_parameters_fall_back_with_a_notice(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "map")
    # A link opened on this page: the notices show in the run that reads it.
    at.query_params.update({"from": "2026-13", "village": "XX"})
    at.run()
    assert not at.exception
    notices = texts(at)
    assert "2026-13" in notices and "XX" in notices
    assert len(layers(at)[POLYGON_LAYER_ID]["data"]) == 14


# -- the records (ui.map_records, ui.map): tooltips without repeated lines, hints that
# say where a click goes, labels clear of the markers, rounded coordinates.

ROW = {
    "unit_id": "CJ01",
    "reported": True,
    "fortress_index": 81.5,
    "stars": "★★★★",
    "surveyed": True,
    "vanguard_index": 66.8,
    "grade": "合格",
    "members": 152,
    "study_coverage": 0.8,
}


def test_the_coloured_index_is_named_once():
    frame = pl.DataFrame([ROW])
    fortress = unit_details(frame, "fortress_index", "village")["CJ01"]
    assert fortress["fortress_text"] == "" and "★★★★" in fortress["metric_text"]
    vanguard = unit_details(frame, "vanguard_index", "village")["CJ01"]
    assert vanguard["vanguard_text"] == ""
    assert "合格" in vanguard["metric_text"] and "152" in vanguard["metric_text"]
    other = unit_details(frame, "study_coverage", "village")["CJ01"]
    assert other["fortress_text"] and other["vanguard_text"]


def test_hints_say_where_a_click_goes():
    frame = pl.DataFrame([ROW])
    assert unit_details(frame, "fortress_index", "village")["CJ01"]["hint"] == "点击查看村居详情"
    assert unit_details(frame, "fortress_index", "subgrid")["CJ01"]["hint"] == "点击查看子网格详情"


def test_a_marker_tooltip_says_its_kind_and_village_once():
    places = pl.DataFrame(
        {
            "place_id": ["CJ01-S"],
            "village_id": ["CJ01"],
            "village_name": ["建龙社区"],
            "name": ["党群服务站"],
            "kind": ["服务站"],
            "lon": [121.41],
            "lat": [30.79],
        }
    )
    (record,) = point_records(places)
    assert record["name"] == "建龙社区党群服务站"
    lines = [record[f] for f in ("metric_text", "fortress_text", "vanguard_text")]
    assert not any("党群服务站" in line or "建龙社区" in line for line in lines)
    assert record["hint"] == "点击查看建龙社区详情"
    # Every field of the template is in the record (deck.gl would show "{field}").
    for field in ("name", "metric_text", "fortress_text", "vanguard_text", "hint"):
        assert "{" + field + "}" in TOOLTIP_HTML and field in record


def _box_hits(text, at, offset, marker) -> bool:
    width, height = LABEL_SIZE * len(text) + 6, LABEL_SIZE + 4
    cx, cy = at[0] + offset[0], at[1] + offset[1]
    x, y, r = marker
    nx = min(max(x, cx - width / 2), cx + width / 2)
    ny = min(max(y, cy - height / 2), cy + height / 2)
    return (x - nx) ** 2 + (y - ny) ** 2 < r * r


def test_a_label_moves_off_a_marker_above_its_point():
    at = (1000.0, 1000.0)
    assert label_offset("建龙社区", at, []) == [0, -18]
    above = (1000.0, 982.0, 9.0)  # a station right where the label would go
    offset = label_offset("建龙社区", at, [above])
    assert offset != [0, -18]
    assert not _box_hits("建龙社区", at, offset, above)


def test_label_records_use_the_markers_at_the_fitted_zoom():
    zoom = 12.0
    units = pl.DataFrame({"name": ["花园社区"], "lon": [121.43], "lat": [30.79]})
    x, y = pixel(121.43, 30.79, zoom)
    # A station 18 px above the label point, in degrees at this zoom.
    degrees_per_px = 360 / (512 * 2**zoom)
    station = {"position": [121.43, 30.79 + 18 * degrees_per_px * 0.86], "radius": 8}
    (plain,) = label_records(units)
    assert plain["offset"] == [0, -18]
    (moved,) = label_records(units, points=[station], zoom=zoom)
    sx, sy = pixel(*station["position"], zoom)
    assert not _box_hits("花园社区", (x, y), moved["offset"], (sx, sy, 9))


def test_rings_are_rounded_to_about_a_metre():
    assert rounded([[121.4265871234, 30.7848149876, 0.0]]) == [[121.42659, 30.78481]]
