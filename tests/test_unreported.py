"""未报送 is not zero: a village that has not uploaded a month carries null values,
``reported = false``, no star and no alert about performance but a 未报送 alert; the
town's figures are those of the villages that reported; a range is the mean of the
months reported (docs/metrics.md, 报送情况 and "A range of months")."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from etl.rollups import refresh
from metrics.alerts import alerts
from metrics.assessment import assessment
from metrics.coverage import coverage_by_month, coverage_summary
from metrics.filters import Filter
from metrics.indices import indices
from metrics.overview import kpis
from metrics.study import study_by_month, study_summary
from store.database import connect

GONE, MONTH = "CJ04", "2026-10"  # 沙积村 uploads nothing for the last sample month


@pytest.fixture(scope="module")
def gap(sample_db, tmp_path_factory):
    """A copy of the sample where one village's month of every kind is missing."""
    path = tmp_path_factory.mktemp("unreported") / "grid.duckdb"
    shutil.copy(sample_db, path)
    con = connect(path)
    month = (
        "village_id = 'CJ04' AND activity_date >= DATE '2026-10-01' "
        "AND activity_date < DATE '2026-11-01'"
    )
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "DELETE FROM attendance WHERE activity_id IN "
        f"(SELECT activity_id FROM activity WHERE {month})"
    )
    con.execute(f"DELETE FROM activity WHERE {month}")
    con.execute(
        "DELETE FROM report WHERE subgrid_id IN (SELECT subgrid_id FROM subgrid "
        "WHERE village_id = 'CJ04') AND reported_at >= TIMESTAMP '2026-10-01'"
    )
    refresh(con)
    con.execute("COMMIT")
    con.close()
    con = connect(path, read_only=True)
    yield con
    con.close()


def test_the_unreported_month_is_null_and_marked(gap):
    f = Filter.parse(MONTH, MONTH, "village")
    for rows, value in (
        (coverage_by_month(gap, f), "coverage"),
        (study_by_month(gap, f), "coverage"),
        (indices(gap, f), "fortress_index"),
    ):
        gone = rows.filter(pl.col("unit_id") == GONE).row(0, named=True)
        assert gone[value] is None and gone["reported"] is False
        others = rows.filter(pl.col("unit_id") != GONE)
        assert others["reported"].all() and others[value].is_not_null().all()
    gone = indices(gap, f).filter(pl.col("unit_id") == GONE).row(0, named=True)
    assert gone["stars"] is None and gone["vanguard_index"] is None and gone["grade"] is None
    # Its sub-grids too.
    grids = indices(gap, Filter.parse(MONTH, MONTH, "subgrid", GONE))
    assert grids["fortress_index"].is_null().all() and not grids["reported"].any()


def test_the_town_counts_the_villages_that_reported(gap):
    town = study_by_month(gap, Filter.parse(MONTH, MONTH)).row(0, named=True)
    villages = study_by_month(gap, Filter.parse(MONTH, MONTH, "village"))
    reported = villages.filter(pl.col("reported"))
    assert town["coverage"] == pytest.approx(reported["reached"].sum() / reported["members"].sum())
    assert town["reported"] is False  # one village is missing
    # The town's 堡垒指数 is the member-weighted mean of the villages that reported.
    f = Filter.parse(MONTH, MONTH, "village")
    rows = indices(gap, f).filter(pl.col("fortress_index").is_not_null())
    weighted = (rows["fortress_index"] * rows["member_months"]).sum() / rows["member_months"].sum()
    assert indices(gap, Filter.parse(MONTH, MONTH))["fortress_index"][0] == pytest.approx(weighted)


def test_a_range_is_the_mean_of_the_months_reported(gap):
    f = Filter.parse("2026-08", MONTH, "village", GONE)
    months = coverage_by_month(gap, f).filter(pl.col("unit_id") == GONE)
    assert months["reported"].to_list() == [True, True, False]
    summary = coverage_summary(gap, f).row(0, named=True)
    assert summary["reported"] is False
    assert summary["coverage"] == pytest.approx(months["coverage"].drop_nulls().mean())
    study = study_summary(gap, f).row(0, named=True)
    by_month = study_by_month(gap, f)["coverage"].drop_nulls()
    assert study["coverage"] == pytest.approx(by_month.mean())


def test_no_performance_alert_but_one_unreported_alert(gap):
    raised = alerts(gap, Filter.parse(MONTH, MONTH))
    mine = raised.filter(pl.col("village_id") == GONE)
    unreported = mine.filter(pl.col("kpi") == "unreported")
    assert unreported.height == 1
    (alert,) = unreported.iter_rows(named=True)
    assert alert["level"] == "红色" and alert["owner_role"] == "总网格长" and alert["owner"]
    assert "2026年10月" in alert["message"] and "未报送" in alert["message"]
    # Nothing judged on the missing month's numbers (the open reports it already had
    # still count at the month's end).
    judged = set(mine["kpi"]) - {"unreported", "overdue_reports"}
    assert judged == set()
    # The KPI card of the village is empty, not 0.
    card = kpis(gap, Filter.parse(MONTH, MONTH, "village", GONE))
    assert card["value"].is_null().all()


def test_an_unreported_village_has_no_assessment_score_and_no_rank(gap, sample_db):
    f = Filter.parse(MONTH, MONTH, "village")
    ranking = assessment(gap, f)
    gone = ranking.filter(pl.col("unit_id") == GONE).row(0, named=True)
    assert gone["reported"] is False and gone["rank"] is None and gone["total"] is None
    assert ranking["unit_id"][-1] == GONE  # listed last, not ranked last
    others = ranking.filter(pl.col("unit_id") != GONE)
    assert others["reported"].all()
    assert sorted(others["rank"].to_list()) == list(range(1, others.height + 1))
    # The others keep the scores they have on the full sample (the month is theirs alone).
    full = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        before = assessment(full, f).filter(pl.col("unit_id") != GONE)
    finally:
        full.close()
    assert before.sort("unit_id")["total"].to_list() == others.sort("unit_id")["total"].to_list()
    # Its sub-grids have no scores either, and the town averages the villages that reported.
    grids = assessment(gap, Filter.parse(MONTH, MONTH, "subgrid", GONE))
    assert grids["total"].is_null().all() and grids["rank"].is_null().all()
    town = assessment(gap, Filter.parse(MONTH, MONTH)).row(0, named=True)
    assert town["total"] is not None and town["reported"] is False
