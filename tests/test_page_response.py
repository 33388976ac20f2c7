"""民情处置 page (AppTest through dashboard.py): the funnel, hour distributions by
category, median and 90%分位 trends, the backlog by age, the 督办清单, the category table."""

from __future__ import annotations

import polars as pl
import pytest

from metrics import registry, response
from metrics.glossary import hours_text
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
from ui.filters import View, to_filter, trend_filter
from ui.format import number, pct


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory):
    return empty_database(tmp_path_factory.mktemp("response") / "empty.duckdb")


def traces(at, kind: str) -> list[dict]:
    return [t for spec in plotly_specs(at) for t in spec["data"] if t["type"] == kind]


def assert_page_matches(at, db, view):
    f = to_filter(view)
    summary = computed(db, response.response_summary, f)
    everything = summary.filter(pl.col("category") == "全部").row(0, named=True)
    shown = metrics_by_label(at)
    assert shown["收集民情民意（件）"][0] == number(everything["reports"])
    assert shown["按时受理率"][0] == pct(everything["on_time_accept_rate"])
    assert shown["按期办结率"][0] == pct(everything["on_time_resolve_rate"])
    assert shown["办结时长中位数"][0] == hours_text(everything["resolve_median_h"])  # hours only
    assert shown["期末积压（件）"][0] == number(everything["open_at_end"])
    assert shown["期末超期未办结（件）"][0] == number(everything["overdue_at_end"])

    funnel = computed(db, response.funnel, f)
    (drawn,) = traces(at, "funnel")
    assert drawn["y"] == funnel["stage"].to_list() == ["上报", "受理", "核实", "办结"]
    assert drawn["x"] == funnel["reports"].to_list()

    backlog = computed(db, response.backlog, f)
    backlog_bars = [t for t in traces(at, "bar") if t.get("name") == "期末积压"]
    assert backlog_bars[0]["y"] == backlog["reports"].to_list()
    assert sum(backlog_bars[0]["y"]) == everything["open_at_end"]

    by_month = computed(db, response.response_by_month, trend_filter(view))
    lines = traces(at, "scatter")
    assert lines[2]["y"] == pytest.approx(by_month["resolve_median_h"].to_list())
    assert lines[3]["y"] == pytest.approx(by_month["resolve_p90_h"].to_list())

    overdue = computed(db, response.overdue, f)
    listed = table_with(at, "事项编号")
    assert listed["事项编号"].to_list() == overdue["report_id"].to_list()
    assert shown_as(listed["超期（小时）"].to_list(), overdue["overdue_h"], digits=0)
    assert listed["上报时间"].to_list() == sorted(listed["上报时间"].to_list())  # oldest first

    table = table_with(at, "事项类别", "按期办结率（%）")
    assert table["事项类别"].to_list() == summary["category"].to_list()
    assert table["收集民情民意（件）"].to_list() == summary["reports"].to_list()
    assert shown_as(table["办结时长90%分位（小时）"].to_list(), summary["resolve_p90_h"])
    assert shown_as(table["按时受理率（%）"].to_list(), summary["on_time_accept_rate"], 100)
    return everything


def distribution_totals(at) -> dict[str, int]:
    return {t["name"]: sum(t["y"]) for t in traces(at, "bar") if t.get("name") != "期末积压"}


def test_town_view_shows_the_metrics_layers_numbers(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "response")
    assert not at.exception
    view = default_view_of(sample_db)
    everything = assert_page_matches(at, sample_db, view)
    assert everything["reports"] > 0 and everything["overdue_at_end"] > 0

    # Hour distributions: 办结时长 first, 受理时长 on request; totals per category.
    distribution = computed(sample_db, response.duration_distribution, to_filter(view))

    def expected(measure: str) -> dict[str, int]:
        part = distribution.filter(pl.col("measure") == measure)
        return dict(part.group_by("category").agg(pl.col("reports").sum()).iter_rows())

    assert distribution_totals(at) == expected("resolve")
    at.radio(key="response_measure").set_value("accept").run()
    assert not at.exception
    assert distribution_totals(at) == expected("accept")
    assert {
        "response_funnel_csv",
        "response_backlog_csv",
        "response_distribution_xlsx",
        "response_trend_csv",
        "response_overdue_xlsx",
        "response_summary_csv",
    } <= export_keys(at)


def test_one_village_one_month(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    last = default_view_of(sample_db).end
    month = f"{last:%Y-%m}"
    at = run_page(sample_db, "response", {"village": "CJ03", "from": month, "to": month})
    assert not at.exception
    view = View(last, last, "CJ03")
    assert_page_matches(at, sample_db, view)
    name = computed(sample_db, registry.villages).filter(pl.col("village_id") == "CJ03")["name"]
    assert set(table_with(at, "事项编号")["村居"]) == set(name)
    # Every duration bin is on the axis, also those without reports this month.
    bars = [t for t in traces(at, "bar") if t.get("name") != "期末积压"]
    assert bars and all(len(t["x"]) == len(response.DURATION_EDGES_H) + 1 for t in bars)
    assert any(0 in t["y"] for t in bars)


def test_empty_database_shows_a_notice(empty_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(empty_db))
    at = run_page(empty_db, "response")
    assert not at.exception
    assert "所选范围内没有民情民意事项" in texts(at)
    assert not plotly_specs(at) and not at.dataframe


def test_bad_query_falls_back_with_a_notice(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    notices, at = run_with_bad_params(sample_db, "response")
    assert not at.exception
    assert "2026-13" in notices and "XX" in notices
    assert_page_matches(at, sample_db, default_view_of(sample_db))
