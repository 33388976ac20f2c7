"""Rollups: the same numbers with and without them, also after incremental refreshes."""

from __future__ import annotations

from datetime import date

import pytest
from polars.testing import assert_frame_equal

from etl.db import connect
from etl.rollups import ROLLUP_VERSION, STATE_KEY, create_rollups, refresh, rollups_ready
from metrics.assessment import assessment
from metrics.coverage import coverage_by_month
from metrics.filters import Filter
from metrics.indices import indices, vanguard_members
from metrics.overview import kpi_trend
from metrics.response import response_summary
from metrics.study import not_reached, study_by_month
from tests.metrics_support import GridBuilder

FUNCTIONS = (
    coverage_by_month,
    study_by_month,
    not_reached,
    response_summary,
    indices,
    vanguard_members,
    assessment,
    kpi_trend,
)


def assert_same(con, f, functions=FUNCTIONS):
    for fn in functions:
        assert_frame_equal(
            fn(con, f), fn(con, f, rollups=False), check_exact=False, rel_tol=1e-9, abs_tol=1e-9
        )


@pytest.fixture
def builder(tmp_path):
    """Two sub-grids, members joining and leaving, three months of activities."""
    g = GridBuilder(tmp_path / "grid.duckdb")
    g.village("V1")
    g.subgrid("S1", "V1")
    g.subgrid("S2", "V1")
    g.person("P1", "S1", "V1")
    g.person("P2", "S1", "V1", active_from="2026-02-10")
    g.person("P3", "S2", "V1", active_to="2026-02-20")
    for month in ("01", "02", "03"):
        for kind in ("主题党日", "学习教育", "志愿服务"):
            a = g.activity(f"2026-{month}-10", "V1", "S1", kind)
            g.attend(a, "P1", "出席", "送学上门" if kind == "学习教育" else None)
            g.attend(a, "P2", "请假")
        b = g.activity(f"2026-{month}-12", "V1", "S2", "学习教育")
        g.attend(b, "P3", "出席")
        g.attend(b, "P1", "出席")
    g.report(
        "R1",
        "S1",
        "2026-01-05 09:00",
        accepted="2026-01-05 10:00",
        resolved="2026-02-03 10:00",
        reporter="P1",
    )
    g.evaluation("2026H1", "S1", 85)
    g.deduction("2026-02-01", "P1", 3)
    yield g
    g.con.close()


def test_fresh_schema_is_not_ready_until_refreshed(builder):
    con = builder.con
    assert not rollups_ready(con)
    create_rollups(con)  # idempotent
    assert not rollups_ready(con)
    refresh(con)
    assert rollups_ready(con)
    assert_same(con, Filter.parse("2026-01", "2026-03", "subgrid"))


def test_incremental_refresh_matches_a_direct_computation(builder):
    con = builder.finish()
    f = Filter.parse("2026-01", "2026-04", "subgrid")
    # A new month: only April is recomputed, on top of March's running sums.
    a = builder.activity("2026-04-10", "V1", "S1", "学习教育")
    builder.attend(a, "P2", "出席")
    refresh(con, [date(2026, 4, 1)])
    assert_same(con, f)
    # A late change to January: January and every later month are recomputed.
    builder.attend(builder.activity("2026-01-20", "V1", "S1", "组织生活会"), "P1", "出席")
    refresh(con, [date(2026, 1, 1), date(2025, 6, 1)])  # a month without data is harmless
    assert_same(con, f)
    # Only reports changed: the monthly rollups stay, ru_report is rebuilt.
    con.execute("UPDATE report SET resolved_at = NULL, status = '处理中'")
    refresh(con, [])
    assert_same(con, f)


def test_roster_change_forces_a_full_refresh(builder):
    con = builder.finish()
    con.execute("UPDATE person SET active_to = DATE '2026-01-31' WHERE person_id = 'P1'")
    refresh(con, [date(2026, 3, 1)])  # the months passed are not enough: P1 left in January
    assert_same(con, Filter.parse("2026-01", "2026-03", "village"))


def test_undo_of_a_month_removes_its_rows(builder):
    con = builder.finish()
    con.execute(
        "DELETE FROM attendance WHERE activity_id IN (SELECT activity_id FROM activity "
        "WHERE activity_date >= DATE '2026-03-01')"
    )
    con.execute("DELETE FROM activity WHERE activity_date >= DATE '2026-03-01'")
    refresh(con, [date(2026, 3, 1)])
    assert con.execute(
        "SELECT count(*) FROM ru_village_month WHERE month = '2026-03-01'"
    ).fetchall() == [(0,)]
    assert_same(con, Filter.parse("2026-01", "2026-03", "subgrid"))


def test_older_layout_is_rebuilt(builder):
    con = builder.finish()
    con.execute("UPDATE meta SET value = 'old' WHERE key = ?", [STATE_KEY])
    create_rollups(con)
    assert not rollups_ready(con)
    assert con.execute("SELECT count(*) FROM ru_member_month").fetchall() == [(0,)]
    # Not ready: the metrics compute from the base tables meanwhile.
    assert study_by_month(con, Filter.parse("2026-01", "2026-03", "town"))["reached"].sum() > 0
    refresh(con, [date(2026, 3, 1)])  # turns into a full refresh
    assert con.execute("SELECT value FROM meta WHERE key = ?", [STATE_KEY]).fetchall() == [
        (ROLLUP_VERSION,)
    ]
    assert_same(con, Filter.parse("2026-01", "2026-03", "subgrid"))


def test_generated_sample_same_with_and_without_rollups(sample_db):
    con = connect(sample_db)
    try:
        assert rollups_ready(con)
        assert_same(con, Filter.parse("2026-04", "2026-09", "village"))
        assert_same(con, Filter.parse("2025-12", "2026-01", "subgrid", "CJ05"))
    finally:
        con.close()
