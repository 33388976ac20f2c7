"""两个指数地图 (app_pages/map.py) through the real entry point, with AppTest.

The deck JSON is read from the page (polygons, markers, labels, tooltip) and its
values are compared with the metrics layer's for the same Filter. A click is sent the
way the browser sends it: a widget state for the chart holding the selection JSON.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from metrics import Filter
from metrics.indices import vanguard_members
from metrics.overview import scorecard
from metrics.registry import service_points, subgrids
from store.paths import REPO_ROOT
from tests.support.page_runs import computed, copy_with_august_emptied, deck_specs, run_page, texts
from ui.map import (
    BLANK_STYLE_URL,
    LABEL_LAYER_ID,
    OUTLINE_LAYER_ID,
    POINT_LAYER_ID,
    POLYGON_LAYER_ID,
    selection_target,
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
    # A blank base style from our own origin (a relative path, and the file is shipped):
    # nothing to fetch from the internet.
    style = deck_specs(at)[0].get("mapStyle")
    assert style == BLANK_STYLE_URL and "://" not in style
    assert json.loads((REPO_ROOT / "static" / "map-style.json").read_text())["sources"] == {}

    page = texts(at)
    assert "示意" in page and "GeoJSON" in page  # illustrative boundaries, how to replace
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
