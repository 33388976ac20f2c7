"""总览 (KPIs, change, trend, alerts, scorecard), the rows behind a number, explanations."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from metrics import batch
from metrics.assessment import assessment, rank_change
from metrics.config import default_config
from metrics.coverage import coverage_summary
from metrics.drilldown_rows import activity_rows, attendance_rows, report_rows
from metrics.explain import TOPICS, explain
from metrics.filters import Filter
from metrics.indices import fortress, indices
from metrics.overview import kpi_trend, kpis, scorecard
from metrics.response import response_summary
from metrics.study import study_summary
from store.database import connect
from tests.support.small_grids import GridBuilder, row

RANGE = Filter.parse("2026-04", "2026-09", "village")


@pytest.fixture(scope="module")
def con(sample_db):
    c = connect(sample_db)
    yield c
    c.close()


def headline(con, f) -> dict[tuple[str, str], float | None]:
    """The KPI values of each unit, computed by the area functions themselves."""
    out = {}
    for r in coverage_summary(con, f).iter_rows(named=True):
        out[(r["unit_id"], "compliant_share")] = r["compliant_share"]
        out[(r["unit_id"], "activity_coverage")] = r["coverage"]
    for r in study_summary(con, f).iter_rows(named=True):
        out[(r["unit_id"], "study_coverage")] = r["coverage"]
    for r in response_summary(con, f).filter(category="全部").iter_rows(named=True):
        out[(r["unit_id"], "on_time_resolve_rate")] = r["on_time_resolve_rate"]
    for r in fortress(con, f).iter_rows(named=True):
        out[(r["unit_id"], "fortress_index")] = r["fortress_index"]
    return out


def test_kpis_and_their_change_match_the_area_functions(con):
    with batch():
        out = kpis(con, RANGE)
        now, before = headline(con, RANGE), headline(con, RANGE.previous())
    assert out.height == 14 * 5
    for r in out.iter_rows(named=True):
        key = (r["unit_id"], r["kpi"])
        assert r["value"] == pytest.approx(now[key]), key
        assert r["previous"] == pytest.approx(before[key]), key
        assert r["change"] == pytest.approx(now[key] - before[key]), key
    # One name per metric across the product: the glossary's (制度达标项占比 is met ÷ due).
    assert set(out["label"]) == {
        "制度落实率",
        "制度达标项占比",
        "学习覆盖率",
        "按期办结率",
        "平均堡垒指数",
    }


def test_trend_months_equal_single_month_ranges(con):
    f = Filter.parse("2026-07", "2026-09", "town")
    trend = kpi_trend(con, f)
    assert trend["month"].dt.month().to_list() == [7, 8, 9]
    for r in trend.iter_rows(named=True):
        single = kpis(con, f.for_months(r["month"]))
        for kpi in ("compliant_share", "study_coverage", "fortress_index"):
            assert row(single, kpi=kpi)["value"] == pytest.approx(r[kpi])


def test_scorecard_puts_the_figures_side_by_side(con):
    f = Filter(RANGE.start, RANGE.end, "subgrid", "CJ03")
    with batch():
        card = scorecard(con, f)
        both = indices(con, f)
        ranked = assessment(con, f)
    assert card.height == both.height > 3
    assert card["unit_id"].str.starts_with("CJ03-").all()
    joined = card.join(both, on="unit_id").join(ranked, on="unit_id", suffix="_a")
    assert joined["fortress_index"].to_list() == pytest.approx(
        joined["fortress_index_right"].to_list()
    )
    assert joined["rank"].to_list() == joined["rank_a"].to_list()


def test_rank_change_against_the_previous_range(con):
    change = rank_change(con, RANGE)
    before = assessment(con, RANGE.previous())
    merged = change.join(before, on="unit_id", suffix="_b")
    assert merged["previous_rank"].to_list() == merged["rank_b"].to_list()
    assert (merged["rank_change"] == merged["previous_rank"] - merged["rank"]).all()


def test_rows_behind_a_number(tmp_path):
    g = GridBuilder(tmp_path / "grid.duckdb")
    g.village("V1")
    g.subgrid("S1", "V1")
    g.subgrid("S2", "V1")
    g.person("P1", "S1", "V1", name="张三")
    g.person("P2", "S1", "V1")
    a = g.activity("2026-05-03", "V1", "S1", "学习教育")
    g.attend(a, "P1", "出席", "送学上门")
    g.attend(a, "P2", "缺席")
    g.activity("2026-05-04", "V1", "S2", "主题党日")
    g.activity("2026-05-05", "V1", None, "网格工作例会")
    g.activity("2026-06-05", "V1", "S1", "主题党日")
    g.report("R1", "S1", "2026-05-06 09:00", accepted="2026-05-06 12:00", reporter="P1")
    con = g.finish()
    may = Filter.parse("2026-05", "2026-05", "subgrid", "V1")
    acts = activity_rows(con, may, "S1")
    assert acts["activity_id"].to_list() == [a]
    assert (acts["roll"][0], acts["present"][0], acts["absent"][0], acts["home"][0]) == (
        2,
        1,
        1,
        1,
    )
    assert activity_rows(con, may.at_level("village"), "V1").height == 3
    sign_ins = attendance_rows(con, may, "S1")
    assert sign_ins.filter(pl.col("person_id") == "P1")["name"].to_list() == ["张三"]
    reports = report_rows(con, may, "S1")
    assert reports["report_id"].to_list() == ["R1"]
    assert (reports["accept_h"][0], reports["reporter_id"][0]) == (3.0, "P1")
    assert report_rows(con, may, "S2").is_empty()
    con.close()


def test_explanations_follow_the_config():
    config = default_config()
    assert all(explain(topic) for topic in TOPICS)
    changed = replace(config, response=replace(config.response, accept_limit_hours=12.0))
    assert "12 小时内受理" in explain("response", changed)
    assert "★★★★★" in explain("fortress") and "不合格" in explain("vanguard")
    with pytest.raises(ValueError, match="未知的指标"):
        explain("weather")
