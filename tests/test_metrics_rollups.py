"""Rollups: the same numbers with and without them, also after incremental refreshes."""

from __future__ import annotations

from datetime import date

import pytest
from polars.testing import assert_frame_equal

from etl.rollups import create_rollups, refresh
from metrics.assessment import assessment
from metrics.coverage import coverage_by_month
from metrics.filters import Filter
from metrics.indices import indices, vanguard_members
from metrics.overview import kpi_trend
from metrics.response import response_summary
from metrics.study import not_reached, study_by_month
from store.database import connect
from store.rollup_layout import LAYOUT_KEY, ROLLUP_LAYOUT, ROLLUP_VERSION, STATE_KEY, rollups_ready
from tests.support.loading import rollup_hashes
from tests.support.small_grids import GridBuilder

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


@pytest.mark.slow
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


def test_attendance_without_a_mode(builder):
    """参与方式 is optional: a member's only 学习教育 attendance of a month may lack it
    (the refresh used to fail on a NULL reached_home)."""
    con = builder.finish()
    a = builder.activity("2026-04-10", "V1", "S1", "学习教育")
    con.execute("INSERT INTO attendance VALUES (?, 'P1', '出席', NULL, NULL)", [a])
    refresh(con, [date(2026, 4, 1)])
    rows = con.execute(
        "SELECT reached, reached_home FROM ru_member_month m JOIN ru_member USING (person_key) "
        "WHERE person_id = 'P1' AND month = DATE '2026-04-01'"
    ).fetchall()
    assert rows == [(True, False)]
    assert_same(con, Filter.parse("2026-01", "2026-04", "subgrid"))


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


def rollup_state(con) -> tuple[dict, list]:
    """The rollup tables' contents (hashes) and columns (name, type, nullable)."""
    columns = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE starts_with(table_name, 'ru_') AND database_name = current_database() "
        "AND schema_name = 'main' ORDER BY table_name, column_index"
    ).fetchall()
    return rollup_hashes(con), columns


def meta(con, key):
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def test_older_version_is_rebuilt(builder):
    con = builder.finish()
    fresh = rollup_state(con)
    con.execute("UPDATE meta SET value = 'old' WHERE key = ?", [STATE_KEY])
    create_rollups(con)  # dropped and rebuilt from the base tables at once
    assert rollups_ready(con)
    assert meta(con, STATE_KEY) == ROLLUP_VERSION
    assert rollup_state(con) == fresh
    assert_same(con, Filter.parse("2026-01", "2026-03", "subgrid"))


# Ways a database's rollup tables can differ from this version's layout.
MANGLES = {
    # The reported failure: tables of an older layout left pending; the next load's
    # refresh failed with "table ru_subgrid has 2 columns but 3 values were supplied".
    "column dropped, pending": (
        "ALTER TABLE ru_subgrid DROP COLUMN village_id",
        "UPDATE meta SET value = 'pending' WHERE key = 'rollup_state'",
    ),
    "column type changed": ("ALTER TABLE ru_member ALTER person_key TYPE BIGINT",),
    "old layout version": (
        "UPDATE meta SET value = '8/abc' WHERE key = 'rollup_layout'",
        "DELETE FROM ru_member_month",  # a rebuild puts the rows back
    ),
    "table missing": ("DROP TABLE ru_survey",),
    "former table left": ("CREATE TABLE ru_report (report_id VARCHAR)",),
}


@pytest.mark.parametrize("mangle", MANGLES)
def test_rollups_of_another_layout_are_rebuilt(builder, mangle):
    """As a load does it (create, then an incremental refresh, in one transaction)."""
    con = builder.finish()
    fresh = rollup_state(con)
    for sql in MANGLES[mangle]:
        con.execute(sql)
    assert rollup_state(con) != fresh
    con.execute("BEGIN TRANSACTION")
    create_rollups(con)
    refresh(con, [date(2026, 3, 1)])
    con.execute("COMMIT")
    assert rollup_state(con) == fresh  # equal to a fresh full build, columns and rows
    assert meta(con, LAYOUT_KEY) == ROLLUP_LAYOUT and rollups_ready(con)
    assert_same(con, Filter.parse("2026-01", "2026-03", "subgrid"))


def test_rebuild_runs_in_the_callers_transaction_or_its_own(builder):
    con = builder.finish()
    fresh = rollup_state(con)
    con.execute("ALTER TABLE ru_subgrid DROP COLUMN village_id")
    mangled = rollup_state(con)
    con.execute("BEGIN TRANSACTION")
    create_rollups(con)
    assert rollup_state(con) == fresh
    con.execute("ROLLBACK")  # the caller's rollback takes the rebuild with it
    assert rollup_state(con) == mangled
    create_rollups(con)  # no transaction open: it commits its own
    assert rollup_state(con) == fresh
    assert meta(con, STATE_KEY) == ROLLUP_VERSION


def test_current_layout_is_left_alone(builder):
    """Current tables are not rebuilt, also in a database from before the layout key."""
    con = builder.finish()
    assert meta(con, LAYOUT_KEY) == ROLLUP_LAYOUT
    con.execute("DELETE FROM meta WHERE key = ?", [LAYOUT_KEY])
    con.execute("DELETE FROM ru_village_month")  # a rebuild would put the rows back
    create_rollups(con)
    create_rollups(con)
    assert con.execute("SELECT count(*) FROM ru_village_month").fetchall() == [(0,)]
    assert meta(con, LAYOUT_KEY) == ROLLUP_LAYOUT
    assert meta(con, STATE_KEY) == ROLLUP_VERSION


@pytest.mark.slow
def test_generated_sample_same_with_and_without_rollups(sample_db):
    con = connect(sample_db)
    try:
        assert rollups_ready(con)
        assert_same(con, Filter.parse("2026-04", "2026-09", "village"))
        assert_same(con, Filter.parse("2025-12", "2026-01", "subgrid", "CJ05"))
    finally:
        con.close()
