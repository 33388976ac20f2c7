"""村居详情 (app_pages/village.py) through the real entry point, with AppTest."""

from __future__ import annotations

from datetime import date

import pytest

from metrics import Filter
from metrics.drilldown_rows import activity_rows, attendance_rows, report_rows
from metrics.overview import kpis, scorecard
from metrics.registry import subgrids
from tests.support.page_runs import (
    computed,
    copy_with_august_emptied,
    plotly_specs,
    run_page,
    texts,
)
from ui.format import pct

DEFAULT = (date(2026, 10, 1), date(2026, 10, 1))  # the latest complete sample month


@pytest.fixture(scope="module")
def gap_db(sample_db, tmp_path_factory):
    return copy_with_august_emptied(
        sample_db, tmp_path_factory.mktemp("village_gap") / "grid.duckdb"
    )


def test_deep_link_shows_the_village_and_its_subgrids(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "village", {"village": "CJ03"})
    assert not at.exception
    assert "营房村" in texts(at)

    # KPI cards equal the metrics layer's values.
    values = {
        row["kpi"]: row["value"]
        for row in computed(sample_db, kpis, Filter(*DEFAULT, "village", "CJ03")).iter_rows(
            named=True
        )
    }
    cards = {m.label: m.value for m in at.metric}
    assert cards["制度落实率"] == pct(values["compliant_share"])
    assert cards["学习覆盖率"] == pct(values["study_coverage"])
    assert cards["平均堡垒指数"] == f"{values['fortress_index']:,.1f}"

    # The sub-grids side by side: the table and the small multiples.
    grids = computed(sample_db, subgrids, "CJ03")
    expected = computed(sample_db, scorecard, Filter(*DEFAULT, "subgrid", "CJ03"))
    side = at.dataframe[0].value
    assert side["编号"].tolist() == grids["subgrid_id"].to_list()
    assert side["子网格"].tolist() == grids["name"].to_list()
    assert side["学习覆盖率（%）"].tolist() == pytest.approx(
        [round(v * 100, 1) for v in expected["study_coverage"]]
    )
    assert side["平均堡垒指数"].tolist() == pytest.approx(
        [round(v, 1) for v in expected["fortress_index"]]
    )
    multiples = plotly_specs(at)[0]["data"]
    assert [trace["name"] for trace in multiples] == [
        "制度落实率（%）",
        "学习覆盖率（%）",
        "按期办结率（%）",
        "平均堡垒指数",
    ]
    assert all(trace["x"] == grids["name"].to_list() for trace in multiples)
    assert multiples[3]["y"] == pytest.approx([round(v, 1) for v in expected["fortress_index"]])
    # The trend has one point per month of the 12 months up to the view's last.
    assert len(plotly_specs(at)[1]["data"][0]["x"]) == 12


def test_the_rows_behind_the_numbers_follow_subgrid_and_months(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    six = {"village": "CJ03", "from": "2026-05", "to": "2026-10"}
    at = run_page(sample_db, "village", six)
    # Whole village by default: every activity of the village in the range.
    village_rows = Filter(date(2026, 5, 1), date(2026, 10, 1), "village", "CJ03")
    assert (
        len(at.dataframe[1].value)
        == computed(sample_db, activity_rows, village_rows, "CJ03").height
    )

    at.selectbox(key="village_rows_unit_CJ03").set_value("CJ03-02")
    at.selectbox(key="village_from_202605_202610").set_value(date(2026, 9, 1))
    at.run()
    assert not at.exception
    f = Filter(date(2026, 9, 1), date(2026, 10, 1), "subgrid", "CJ03")
    activities = computed(sample_db, activity_rows, f, "CJ03-02")
    sign_ins = computed(sample_db, attendance_rows, f, "CJ03-02")
    reports = computed(sample_db, report_rows, f, "CJ03-02")
    tables = [d.value for d in at.dataframe]
    assert tables[1]["活动编号"].tolist() == activities["activity_id"].to_list()
    assert len(tables[2]) == sign_ins.height > 0
    assert tables[3]["事项编号"].tolist() == reports["report_id"].to_list()
    # Names are masked: no real name on the page, each masked form keeps its length.
    assert not set(sign_ins["name"]) & set(tables[2]["姓名"])
    assert all("*" in name for name in tables[2]["姓名"])
    assert f"签到记录（{sign_ins.height}）" in [t.label for t in at.tabs]


def test_without_a_village_a_picker_leads_to_one(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "village")
    assert not at.exception
    assert "请选择一个村居" in texts(at)
    assert not at.dataframe
    at.selectbox(key="village_pick").set_value("CJ05").run()
    assert not at.exception
    assert at.query_params["village"] == "CJ05"
    grids = computed(sample_db, subgrids, "CJ05")
    assert at.dataframe[0].value["编号"].tolist() == grids["subgrid_id"].to_list()


def test_an_invalid_village_falls_back_with_a_notice(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "village")
    # The link is opened on this page: the notice shows in the run that reads it.
    at.query_params.update({"from": "2026-13", "village": "XX"})
    at.run()
    assert not at.exception
    page = texts(at)
    assert "XX" in page and "2026-13" in page
    assert "请选择一个村居" in page
    assert at.selectbox(key="village_pick").value is None


def test_an_empty_month_shows_friendly_notices(gap_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(gap_db))
    at = run_page(gap_db, "village", {"from": "2026-08", "to": "2026-08", "village": "CJ03"})
    assert not at.exception
    notices = " ".join(i.value for i in at.info)
    assert "没有子网格数据" in notices
    # The 12-month trend goes on around the empty month, without a point for it.
    trend_months = plotly_specs(at)[-1]["data"][0]["x"]
    assert trend_months and "2026年8月" not in trend_months
    assert {m.label: m.value for m in at.metric}["学习覆盖率"] == "—"
    assert not at.dataframe
