"""总览 page (AppTest through dashboard.py): KPI cards with their change, trends,
alerts with the link to 民情处置, the scorecard — all equal to the metrics layer's."""

from __future__ import annotations

import pytest

from metrics import overview, registry
from metrics.alerts import alerts as alerts_of
from metrics.glossary import label
from metrics.scorecard_reading import lights
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
from ui.format import number, pct, pct_points

CARDS = ("compliant_share", "study_coverage", "on_time_resolve_rate", "fortress_index")


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory):
    return empty_database(tmp_path_factory.mktemp("overview") / "empty.duckdb")


def expected_card(row: dict) -> tuple[str, str]:
    if row["kpi"] == "fortress_index":
        return number(row["value"], 1), f"{row['change']:+.1f}分"
    return pct(row["value"]), pct_points(row["change"])


def assert_cards_match(at, db, view):
    shown = metrics_by_label(at)
    kpis = computed(db, overview.kpis, to_filter(view))
    rows = {r["kpi"]: r for r in kpis.iter_rows(named=True)}
    for key in CARDS:
        row = rows[key]
        assert row["value"] is not None and row["change"] is not None
        assert shown[label(key)] == expected_card(row), key


def test_town_view_shows_the_metrics_layers_numbers(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "overview")
    assert not at.exception
    view = default_view_of(sample_db)
    assert_cards_match(at, sample_db, view)

    # Trends: one point per data month, the same values.
    trend = computed(sample_db, overview.kpi_trend, trend_filter(view))
    rates, fortress = plotly_specs(at)[:2]
    assert rates["data"][0]["x"] == [month_label(m) for m in trend["month"]]
    assert rates["data"][0]["y"] == pytest.approx(trend["compliant_share"].to_list())
    assert rates["data"][1]["y"] == pytest.approx(trend["study_coverage"].to_list())
    assert fortress["data"][0]["y"] == pytest.approx(trend["fortress_index"].to_list())

    # Alerts: every alert listed, red first, with its owner; the counts per level;
    # the overdue count links to 民情处置 with the view.
    alerts = computed(sample_db, alerts_of, to_filter(view))
    assert not alerts.is_empty()
    shown_alerts = table_with(at, "提示")
    assert shown_alerts["提示"].to_list() == alerts["message"].to_list()
    assert shown_alerts["预警级别"].str.slice(2).to_list() == alerts["level"].to_list()
    assert set(shown_alerts["责任岗位"]) <= {"总网格长", "子网格长"}
    cards = computed(sample_db, overview.scorecard, parts_filter(view))
    overdue = int(cards["overdue_at_end"].sum())
    assert metrics_by_label(at)["期末超期未办结（件）"][0] == f"{overdue:,}"
    for level in ("红色", "黄色"):
        count = alerts.filter(alerts["level"] == level).height
        assert metrics_by_label(at)[f"{level}预警"][0] == f"{count} 条"
    link = at.get("page_link")[0].proto
    assert link.page == "response"
    assert f"from={view.start:%Y-%m}" in link.query_string
    assert f"{overdue} 件" in link.label

    # Scorecard: one row per village, worst first (most red lights, then amber, then
    # the lowest index), rates in percent with one decimal, eight columns by default.
    table = table_with(at, "平均堡垒指数")
    ordered = lights(cards, "village")
    assert table["村居"].to_list() == ordered["unit_name"].to_list()
    reds = [
        sum(row[c] == "红" for c in ordered.columns if c.endswith("_light"))
        for row in ordered.iter_rows(named=True)
    ]
    assert reds == sorted(reds, reverse=True) and reds[0] > 0
    assert shown_as(table["学习覆盖率（%）"].to_list(), ordered["study_coverage"], 100)
    assert shown_as(table["平均堡垒指数"].to_list(), ordered["fortress_index"])
    assert table["考核排名"].to_list() == ordered["rank"].to_list()
    assert len(table.columns) <= 9  # the name, seven figures, a 说明 where ranks disagree
    assert {"overview_trend_csv", "overview_alerts_xlsx", "overview_scorecard_csv"} <= export_keys(
        at
    )
    assert "口径说明" in at.expander[0].label


def test_one_village_shows_its_sub_grids(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "overview", {"village": "CJ03"})
    assert not at.exception
    view = default_view_of(sample_db, "CJ03")
    assert_cards_match(at, sample_db, view)
    table = table_with(at, "平均堡垒指数")
    subgrids = computed(sample_db, registry.subgrids, "CJ03")
    assert table.height == subgrids.height
    assert "各子网格成绩单" in texts(at)
    # The grid-size cards stay town-wide.
    assert metrics_by_label(at)["党建子网格"][0] == "89"


def test_empty_database_shows_a_notice(empty_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(empty_db))
    at = run_page(empty_db, "overview")
    assert not at.exception
    assert "所选范围内没有可计算关键指标的数据" in texts(at)
    shown = metrics_by_label(at)
    assert shown["村居党建总网格"][0] == "14"
    assert "制度落实率" not in shown
    assert not plotly_specs(at)


def test_bad_query_falls_back_with_a_notice(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    notices, at = run_with_bad_params(sample_db, "overview")
    assert not at.exception
    assert "2026-13" in notices and "XX" in notices
    assert at.query_params["from"] == f"{default_view_of(sample_db).start:%Y-%m}"
    assert "village" not in at.query_params
    assert_cards_match(at, sample_db, default_view_of(sample_db))
