"""学习教育 page (AppTest through dashboard.py): coverage and the 送学上门 share by
village and sub-grid, the monthly trend, the masked follow-up list."""

from __future__ import annotations

import pytest

from metrics import registry, study
from store.months import month_label
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
from ui.filters import parts_filter, to_filter, trend_filter
from ui.format import number, pct
from ui.privacy import mask_name


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory):
    return empty_database(tmp_path_factory.mktemp("study") / "empty.duckdb")


def assert_cards_match(at, db, view):
    total = computed(db, study.study_summary, to_filter(view)).row(0, named=True)
    followup = computed(db, study.not_reached, to_filter(view))
    shown = metrics_by_label(at)
    assert shown["学习覆盖率"][0] == pct(total["coverage"])
    assert shown["送学上门占比"][0] == pct(total["home_share"])
    assert shown["已覆盖（人·月）"][0] == number(total["reached"])
    assert shown["连续未参学（人）"][0] == number(followup.height)
    return followup


def test_town_view_shows_the_metrics_layers_numbers(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "study")
    assert not at.exception
    view = default_view_of(sample_db)
    followup = assert_cards_match(at, sample_db, view)

    trend_spec, parts_spec = plotly_specs(at)
    trend = computed(sample_db, study.study_by_month, trend_filter(view))
    assert trend_spec["data"][0]["x"] == [month_label(m) for m in trend["month"]]
    assert trend_spec["data"][0]["y"] == pytest.approx(trend["coverage"].to_list())
    assert trend_spec["data"][1]["y"] == pytest.approx(trend["home_share"].to_list())

    # Villages: stacked bars (otherwise + at home) add up to each village's coverage.
    villages = computed(sample_db, study.study_summary, parts_filter(view))
    ordered = villages.sort("coverage", descending=True, nulls_last=True)
    other, home = parts_spec["data"][0], parts_spec["data"][1]
    assert other["x"] == ordered["unit_name"].to_list()
    stacked = [a + b for a, b in zip(other["y"], home["y"], strict=True)]
    assert stacked == pytest.approx(ordered["coverage"].to_list())
    assert home["y"] == pytest.approx(ordered["home_coverage"].to_list())
    village_table = table_with(at, "数据月数", without="村居")
    assert village_table["编号"].to_list() == villages["unit_id"].to_list()
    assert shown_as(village_table["送学上门占比（%）"].to_list(), villages["home_share"], 100)

    subgrid_table = table_with(at, "数据月数", "村居")
    by_subgrid = computed(sample_db, study.study_summary, parts_filter(view).at_level("subgrid"))
    assert subgrid_table.height == 89
    assert shown_as(subgrid_table["学习覆盖率（%）"].to_list(), by_subgrid["coverage"], 100)

    # Follow-up list: everyone listed, names masked (never the stored name).
    listed = table_with(at, "姓名")
    assert listed["人员编号"].to_list() == followup["person_id"].to_list()
    assert listed["姓名"].to_list() == [mask_name(n) for n in followup["name"]]
    assert not set(listed["姓名"]) & set(followup["name"])
    assert {"study_trend_csv", "study_villages_xlsx", "study_not_reached_csv"} <= export_keys(at)


def test_one_village_shows_its_sub_grids(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "study", {"village": "CJ03"})
    assert not at.exception
    view = default_view_of(sample_db, "CJ03")
    followup = assert_cards_match(at, sample_db, view)
    subgrids = computed(sample_db, registry.subgrids, "CJ03")
    parts_spec = plotly_specs(at)[1]
    assert sorted(parts_spec["data"][0]["customdata"]) == [[s] for s in subgrids["subgrid_id"]]
    assert table_with(at, "数据月数")["编号"].to_list() == subgrids["subgrid_id"].to_list()
    if followup.height:
        assert set(table_with(at, "姓名")["村居"]) == {subgrids["village_name"][0]}


def test_empty_database_shows_a_notice(empty_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(empty_db))
    at = run_page(empty_db, "study")
    assert not at.exception
    assert "所选范围内没有学习教育数据" in texts(at)
    assert not plotly_specs(at) and not at.dataframe


def test_bad_query_falls_back_with_a_notice(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    notices, at = run_with_bad_params(sample_db, "study")
    assert not at.exception
    assert "2026-13" in notices and "XX" in notices
    assert_cards_match(at, sample_db, default_view_of(sample_db))
