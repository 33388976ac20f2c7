"""制度落实: due/met per sub-grid, village and town, worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from metrics.coverage import coverage_by_month, coverage_matrix, coverage_summary
from metrics.filters import Filter
from tests.support.small_grids import GridBuilder, both_paths, row

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


@pytest.fixture
def con(tmp_path):
    """V1 = {S1, S2 (no members)}, V2 = {S3}; data months March and April only.

    March: S1 holds everything (4/4); S2 one 主题党日 and one 巡查 (1/4: patrol needs 2);
    V1 holds its 网格工作例会 (1/1); V2 holds a village-level 学习教育, which does not
    count for S3 (0/4) and is not a 例会 (0/1). April: S1 one 主题党日 (1/4), all else 0.
    May: nothing at all, so it is not a data month and has no rows.
    """
    g = GridBuilder(tmp_path / "grid.duckdb")
    for v, subgrids in (("V1", ("S1", "S2")), ("V2", ("S3",))):
        g.village(v)
        for s in subgrids:
            g.subgrid(s, v)
    g.person("P1", "S1", "V1")
    g.person("P3", "S3", "V2")
    for kind in ("主题党日", "学习教育", "子网格长接待日", "网格长巡查", "网格长巡查"):
        g.activity("2026-03-10", "V1", "S1", kind)
    g.activity("2026-03-11", "V1", "S2", "主题党日")
    g.activity("2026-03-12", "V1", "S2", "网格长巡查")
    g.activity("2026-03-05", "V1", None, "网格工作例会")
    g.activity("2026-03-06", "V2", None, "学习教育")
    g.activity("2026-04-10", "V1", "S1", "主题党日")
    yield g.finish()
    g.con.close()


def test_subgrid_due_and_met_by_month(con):
    out = both_paths(coverage_by_month, con, Filter.parse("2026-03", "2026-05", "subgrid"))
    assert out.height == 6  # 3 sub-grids × 2 data months; May has no data
    assert row(out, unit_id="S1", month=MARCH)["met"] == 4
    assert row(out, unit_id="S1", month=MARCH)["coverage"] == 1.0
    assert row(out, unit_id="S1", month=APRIL)["coverage"] == 0.25
    s2 = row(out, unit_id="S2", month=MARCH)
    assert (s2["due"], s2["met"], s2["compliant"]) == (4, 1, 0)
    assert row(out, unit_id="S3", month=MARCH)["met"] == 0  # village-level study ≠ S3's


def test_village_adds_its_subgrids_and_its_own_requirements(con):
    out = both_paths(coverage_by_month, con, Filter.parse("2026-03", "2026-04", "village"))
    v1 = row(out, unit_id="V1", month=MARCH)
    # due = 4 + 4 (two sub-grids) + 1 (例会); met = 4 + 1 + 1.
    assert (v1["due"], v1["met"]) == (9, 6)
    assert v1["coverage"] == pytest.approx(6 / 9)
    assert v1["compliant_share"] == 0.5  # S1 yes, S2 no
    v2 = row(out, unit_id="V2", month=MARCH)
    assert (v2["due"], v2["met"]) == (5, 0)
    assert row(out, unit_id="V1", month=APRIL)["met"] == 1


def test_town_summary_over_the_range(con):
    out = both_paths(coverage_summary, con, Filter.parse("2026-03", "2026-05", "town"))
    town = row(out, unit_id="T")
    # March 14 due / 6 met, April 14 / 1; six sub-grid-months, one fully compliant.
    assert (town["months"], town["due"], town["met"]) == (2, 28, 7)
    # The range is the mean of its months; V2 has no row in April (未报送), so the
    # town's April is V1's alone (1 of 9).
    assert town["coverage"] == pytest.approx((6 / 14 + 1 / 9) / 2)
    assert town["reported"] is False
    assert (town["subgrid_months"], town["compliant"]) == (6, 1)
    assert town["compliant_share"] == pytest.approx(1 / 6)


def test_village_filter_limits_the_scope(con):
    out = both_paths(coverage_summary, con, Filter.parse("2026-03", "2026-04", "town", "V2"))
    assert row(out, unit_id="T")["due"] == 10  # V2 only: (4 + 1) × 2 months


def test_matrix_cells(con):
    out = both_paths(coverage_matrix, con, Filter.parse("2026-03", "2026-03", "subgrid"))
    assert out.height == 3 * 4 + 2  # sub-grid × requirement, then village × 例会
    patrol_s1 = row(out, unit_id="S1", requirement="patrol")
    assert (patrol_s1["held"], patrol_s1["months_met"], patrol_s1["min_count"]) == (2, 1, 2)
    patrol_s2 = row(out, unit_id="S2", requirement="patrol")
    assert (patrol_s2["held"], patrol_s2["months_met"]) == (1, 0)
    assert row(out, unit_id="V1", requirement="meeting")["months_met"] == 1
    assert row(out, unit_id="V2", requirement="meeting")["months_met"] == 0
    assert set(out["months"]) == {1}
