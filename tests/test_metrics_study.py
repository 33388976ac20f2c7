"""学习覆盖率: members joining and leaving mid-range, 请假 vs 缺席, 送学上门, follow-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from metrics.config import default_config
from metrics.filters import Filter
from metrics.study import not_reached, study_by_month, study_summary
from tests.support.small_grids import GridBuilder, both_paths, row

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture
def con(tmp_path):
    """V1 = {S1, S2 (no members)}. Members of S1:

    P1 all along: Jan 出席 study; Feb 请假; Mar 出席 a village-level study, 送学上门.
    P2 joins 2026-02-15: Feb 出席; Mar 缺席.
    P3 leaves 2026-02-10: Jan 出席 (线上); not on the roll in March.
    P5 all along: never at a study (Mar 出席 a 主题党日 only).
    Not counted: V4 (a volunteer, not a member) and L (督导员, no sub-grid), both 出席 Jan.
    """
    g = GridBuilder(tmp_path / "grid.duckdb")
    g.village("V1")
    g.subgrid("S1", "V1")
    g.subgrid("S2", "V1")
    g.person("P1", "S1", "V1")
    g.person("P2", "S1", "V1", active_from="2026-02-15")
    g.person("P3", "S1", "V1", active_to="2026-02-10")
    g.person("P5", "S1", "V1")
    g.person("V4", "S1", "V1", party=False, role="网格志愿者")
    g.person("L", None, "V1", role="督导员")
    jan = g.activity("2026-01-12", "V1", "S1", "学习教育")
    for p, mode in (("P1", "现场"), ("P3", "线上"), ("V4", "现场"), ("L", "现场")):
        g.attend(jan, p, "出席", mode)
    g.attend(jan, "P5", "缺席")
    feb = g.activity("2026-02-20", "V1", "S1", "学习教育")
    g.attend(feb, "P1", "请假")
    g.attend(feb, "P2", "出席")
    mar = g.activity("2026-03-08", "V1", None, "学习教育")
    g.attend(mar, "P1", "出席", "送学上门")
    g.attend(mar, "P2", "缺席")
    party_day = g.activity("2026-03-09", "V1", "S1", "主题党日")
    g.attend(party_day, "P5", "出席")
    yield g.finish()
    g.con.close()


def test_monthly_members_and_reached(con):
    out = both_paths(study_by_month, con, Filter.parse("2026-01", "2026-03", "subgrid"))
    jan = row(out, unit_id="S1", month=JAN)
    assert (jan["members"], jan["reached"], jan["reached_home"]) == (3, 2, 0)  # P1 P3 P5
    feb = row(out, unit_id="S1", month=FEB)
    assert (feb["members"], feb["reached"]) == (4, 1)  # P2 joined, P3 still on; 请假 ≠ reached
    assert feb["coverage"] == 0.25
    mar = row(out, unit_id="S1", month=MAR)
    assert (mar["members"], mar["reached"], mar["reached_home"]) == (3, 1, 1)
    assert mar["home_share"] == 1.0
    s2 = row(out, unit_id="S2", month=JAN)
    assert s2["members"] == 0 and s2["coverage"] is None  # no members: no coverage, not 0


def test_a_range_sums_counts_and_averages_the_monthly_rates(con):
    out = both_paths(study_summary, con, Filter.parse("2026-01", "2026-03", "village"))
    v1 = row(out, unit_id="V1")
    assert (v1["member_months"], v1["reached"], v1["reached_home"]) == (10, 4, 1)
    # The mean of the months (Jan 2/3, Feb 1/4, Mar 1/3), not the pooled 4/10: the card
    # equals the mean of the points the monthly chart shows.
    assert v1["coverage"] == pytest.approx((2 / 3 + 1 / 4 + 1 / 3) / 3)
    assert v1["home_share"] == pytest.approx((0 + 0 + 1) / 3)  # reached at home ÷ reached
    assert v1["home_coverage"] == pytest.approx((0 + 0 + 1 / 3) / 3)  # ÷ members


def test_not_reached_two_months_running(con):
    march = both_paths(not_reached, con, Filter.parse("2026-03", "2026-03", "village"))
    assert march["person_id"].to_list() == ["P5"]  # P1 reached in March, P3 left
    assert row(march, person_id="P5")["subgrid_id"] == "S1"
    assert row(march, person_id="P5")["months_not_reached"] == 2
    february = both_paths(not_reached, con, Filter.parse("2026-01", "2026-02", "town"))
    assert february["person_id"].to_list() == ["P5"]  # P2 was not on the roll in January


def test_not_reached_months_come_from_the_config(con):
    config = default_config()
    three = replace(config, study=replace(config.study, not_reached_months=3))
    out = not_reached(con, Filter.parse("2026-03", "2026-03", "town"), config=three)
    assert out["person_id"].to_list() == ["P5"]
    four = replace(config, study=replace(config.study, not_reached_months=4))
    assert not_reached(con, Filter.parse("2026-03", "2026-03", "town"), config=four).is_empty()
