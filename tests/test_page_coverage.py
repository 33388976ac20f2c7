"""网格覆盖 page (AppTest through dashboard.py): the sub-grid × requirement heat map of
the chosen month, the units compared over the range, the drill-down to 村居详情."""

from __future__ import annotations

import polars as pl
import pytest

from metrics import coverage, registry
from tests.support.page_runs import (
    computed,
    default_view_of,
    empty_database,
    export_keys,
    metrics_by_label,
    plotly_specs,
    run_page,
    run_with_bad_params,
    shown_as,
    table_with,
    texts,
)
from ui.filters import parts_filter, to_filter
from ui.format import pct


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory):
    return empty_database(tmp_path_factory.mktemp("coverage") / "empty.duckdb")


def heatmaps(at) -> list[dict]:
    return [t for spec in plotly_specs(at) for t in spec["data"] if t["type"] == "heatmap"]


def assert_heatmap_matches(at, db, view, month):
    """Every sub-grid row of the month's matrix is drawn, met cells as 1."""
    matrix = computed(db, coverage.coverage_matrix, to_filter(view, start=month))
    cells = matrix.filter(pl.col("level") == "subgrid")
    maps = heatmaps(at)
    z = [row for trace in maps for row in trace["z"]]
    units = cells["unit_id"].unique(maintain_order=True).to_list()
    assert len(z) == len(units)
    requirements = cells["label"].unique(maintain_order=True).to_list()
    assert all(trace["x"] == requirements for trace in maps)
    expected = [
        [int(m >= n > 0) for m, n in zip(part["months_met"], part["months"], strict=True)]
        for part in cells.partition_by("unit_id", maintain_order=True)
    ]
    assert z == expected
    # Cell texts are the activities held.
    texts_shown = [int(t) for trace in maps for row in trace["text"] for t in row]
    assert texts_shown == cells["held"].to_list()
    summary = computed(db, coverage.coverage_summary, to_filter(view, start=month)).row(
        0, named=True
    )
    shown = metrics_by_label(at)
    assert shown["全部达标的子网格"][0] == f"{summary['compliant']} / {summary['subgrid_months']}"
    assert shown["制度达标项占比"][0] == pct(summary["coverage"])
    return units


def test_town_heat_map_comparison_and_drill_down(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "coverage")
    assert not at.exception
    view = default_view_of(sample_db)

    # The month defaults to the range's last; the town's 89 sub-grids in two maps.
    assert at.selectbox(key="coverage_month").value == view.end
    units = assert_heatmap_matches(at, sample_db, view, view.end)
    assert len(units) == 89 and len(heatmaps(at)) == 2

    # Villages compared over the whole range, best first; the table holds them all.
    compared = computed(sample_db, coverage.coverage_summary, parts_filter(view))
    ordered = compared.sort("compliant_share", "coverage", descending=True, nulls_last=True)
    bars = [t for spec in plotly_specs(at) for t in spec["data"] if t["type"] == "bar"]
    assert bars[0]["x"] == ordered["unit_name"].to_list()
    assert bars[0]["y"] == pytest.approx(ordered["coverage"].to_list())
    assert bars[1]["y"] == pytest.approx(ordered["compliant_share"].to_list())
    assert [c[0] for c in bars[0]["customdata"]] == ordered["unit_id"].to_list()
    table = table_with(at, "制度达标项占比（%）")
    assert shown_as(table["制度达标项占比（%）"].to_list(), compared["coverage"], 100)
    assert {"coverage_matrix_csv", "coverage_compare_xlsx"} <= export_keys(at)

    # Another month of the range.
    at.selectbox(key="coverage_month").select(view.start).run()
    assert not at.exception
    assert_heatmap_matches(at, sample_db, view, view.start)

    # Drill-down to 村居详情 with the same range.
    at.selectbox(key="coverage_drill_village").select("CJ05")
    at.button(key="coverage_drill_go").click().run()
    assert not at.exception
    assert at.query_params["village"] == "CJ05"
    assert at.query_params["from"] == f"{view.start:%Y-%m}"
    assert "网格覆盖" not in [t.value for t in at.title]


def test_one_village_shows_its_sub_grids(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "coverage", {"village": "CJ03"})
    assert not at.exception
    view = default_view_of(sample_db, "CJ03")
    units = assert_heatmap_matches(at, sample_db, view, view.end)
    assert units == computed(sample_db, registry.subgrids, "CJ03")["subgrid_id"].to_list()
    assert len(heatmaps(at)) == 1
    table = table_with(at, "制度达标项占比（%）")
    assert table["编号"].to_list() == units
    assert "各子网格比较（全期）" in texts(at)


def test_empty_database_shows_a_notice(empty_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(empty_db))
    at = run_page(empty_db, "coverage")
    assert not at.exception
    assert "所选范围内没有活动台账数据" in texts(at)
    assert not plotly_specs(at)
    assert at.expander  # the method note is still there


def test_bad_query_falls_back_with_a_notice(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    notices, at = run_with_bad_params(sample_db, "coverage")
    assert not at.exception
    assert "2026-13" in notices and "XX" in notices
    assert at.query_params["from"] == f"{default_view_of(sample_db).start:%Y-%m}"
    assert "village" not in at.query_params
    view = default_view_of(sample_db)
    assert len(assert_heatmap_matches(at, sample_db, view, view.end)) == 89
