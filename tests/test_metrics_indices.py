"""The two indices and the assessment over one hand-made month (June 2026)."""

from __future__ import annotations

import pytest

from metrics.assessment import assessment, assessment_components
from metrics.filters import Filter
from metrics.indices import fortress, indices, indices_by_month, vanguard, vanguard_members
from tests.support.small_grids import GridBuilder, both_paths, row

JUNE = Filter.parse("2026-06", "2026-06", "subgrid")


@pytest.fixture
def con(tmp_path):
    """V1 = {S1: M1, M2; S2: M3}, V2 = {S3: M4}, all in June 2026.

    S1 holds every required activity (4/4) plus a 组织生活会 nobody signed in to.
      主题党日 A1: M1 出席, M2 请假.  学习教育 A2: M1 出席, M2 缺席, M4 (of S3) 出席.
      One report (reporter M1) accepted in 1 h, resolved in 2 days, satisfaction 5.
      Survey 2026H1: 党员群众测评 80, 自评 99 (no 上级考评). Deductions: S1 5, M2 15.
    S2 holds one 主题党日 (M3 出席): 1/4. No report, no survey. Deductions: S2 20.
      M3 attends four 志愿服务; M1 attends one (of S2: any sub-grid counts).
    S3 holds one 网格长巡查 only (no 组织生活). Deductions: S3 100. V1 itself: 2.
    """
    g = GridBuilder(tmp_path / "grid.duckdb")
    g.village("V1")
    g.village("V2")
    g.subgrid("S1", "V1")
    g.subgrid("S2", "V1")
    g.subgrid("S3", "V2")
    for p, s, v in (("M1", "S1", "V1"), ("M2", "S1", "V1"), ("M3", "S2", "V1"), ("M4", "S3", "V2")):
        g.person(p, s, v)
    a1 = g.activity("2026-06-05", "V1", "S1", "主题党日")
    g.attend(a1, "M1", "出席")
    g.attend(a1, "M2", "请假")
    a2 = g.activity("2026-06-06", "V1", "S1", "学习教育")
    g.attend(a2, "M1", "出席")
    g.attend(a2, "M2", "缺席")
    g.attend(a2, "M4", "出席")
    g.activity("2026-06-07", "V1", "S1", "子网格长接待日")
    g.activity("2026-06-08", "V1", "S1", "网格长巡查")
    g.activity("2026-06-09", "V1", "S1", "网格长巡查")
    g.activity("2026-06-10", "V1", "S1", "组织生活会")  # empty sign-in sheet
    a6 = g.activity("2026-06-11", "V1", "S2", "主题党日")
    g.attend(a6, "M3", "出席")
    for day in ("12", "13", "14", "15"):
        service = g.activity(f"2026-06-{day}", "V1", "S2", "志愿服务")
        g.attend(service, "M3", "出席")
        if day == "12":
            g.attend(service, "M1", "出席")
    g.activity("2026-06-16", "V2", "S3", "网格长巡查")
    # V2 had no sign-ins and no reports in June, and said so (not 未报送).
    g.zero_report("V2", "2026-06", "attendance", "report")
    g.report(
        "R1",
        "S1",
        "2026-06-02 09:00",
        accepted="2026-06-02 10:00",
        resolved="2026-06-04 09:00",
        reporter="M1",
        satisfaction=5,
    )
    g.evaluation("2026H1", "S1", 80.0)
    g.evaluation("2026H1", "S1", 99.0, rater="自评")  # 10 %; 上级考评 missing: rescaled
    for unit, points in (("S1", 5), ("M2", 15), ("S2", 20), ("S3", 100), ("V1", 2)):
        g.deduction("2026-06-20", unit, points)
    yield g.finish()
    g.con.close()


# The 测评 of S1: 自评 10 % and 党员群众测评 70 %, 上级考评 (20 %) missing and rescaled.
S1_SURVEY = (10 * 99 + 70 * 80) / 80


def test_fortress_per_subgrid(con):
    out = both_paths(fortress, con, JUNE)
    s1 = row(out, unit_id="S1")
    # 30 × 1 + 20 × 1/2 + 10 × 1 + 10 × 1 + 30 × 82.375 / 100 = 84.71, minus 5.
    assert s1["raw"] == pytest.approx(60 + 0.3 * S1_SURVEY)
    assert s1["fortress_index"] == pytest.approx(55 + 0.3 * S1_SURVEY)
    assert (s1["stars"], s1["surveyed"]) == ("★★★", True)
    assert s1["survey_pts"] == pytest.approx(0.3 * S1_SURVEY)
    s2 = row(out, unit_id="S2")
    # No survey and nothing to hand in on time: coverage 30 × 1/4, study 0, collection 0
    # over the 60 points left, rescaled to 100: 7.5 × 100 / 60 = 12.5; minus 20 → 0.
    assert s2["surveyed"] is False
    assert s2["survey_pts"] is None and s2["handling_pts"] is None
    assert s2["raw"] == pytest.approx(12.5)
    assert s2["fortress_index"] == 0.0
    assert s2["stars"] == "★"


def test_fortress_village_is_member_weighted(con):
    out = both_paths(fortress, con, JUNE.at_level("village"))
    v1 = row(out, unit_id="V1")
    # (S1's 79.71 × 2 member-months + 0 × 1) / 3, minus V1's own 2 points.
    s1 = 55 + 0.3 * S1_SURVEY
    assert v1["raw"] == pytest.approx(2 * s1 / 3)
    assert v1["fortress_index"] == pytest.approx(2 * s1 / 3 - 2)
    assert v1["surveyed"] is False  # S2 has no survey


# No 先锋指数 survey in June: the 测评 part (30) is left out, the other 70 points are
# rescaled to 100.
R = 100 / 70


def test_vanguard_per_member(con):
    out = both_paths(vanguard_members, con, JUNE)
    m1 = row(out, person_id="M1")
    # 出勤 30 × 2/3 (A1, A2 出席; the 组织生活会 without a sheet counts 0) + 学习 20
    # + 作用发挥 20 × min(1, (1 report + 1 志愿服务) ÷ (2 × 1/6)), all × 100/70.
    assert m1["attendance_pts"] == pytest.approx(20 * R)
    assert m1["role_pts"] == pytest.approx(20 * R)
    assert m1["survey_pts"] is None
    assert m1["vanguard_index"] == pytest.approx(60 * R)
    assert m1["grade"] == "合格"
    m2 = row(out, person_id="M2")
    # 30 × 0.5/3 (请假 0.5, 缺席 0, absent 0) × 100/70 = 7.14, minus 15 → 0.
    assert m2["attendance_pts"] == pytest.approx(5 * R)
    assert (m2["vanguard_index"], m2["grade"]) == (0.0, "不合格")
    m3 = row(out, person_id="M3")
    assert m3["role_pts"] == pytest.approx(20 * R)  # four 志愿服务, capped at full marks
    assert m3["vanguard_index"] == pytest.approx(50 * R)
    assert m3["grade"] == "合格"
    m4 = row(out, person_id="M4")
    # S3 held no 组织生活: 学习 20 and 作用发挥 0 rescaled over 40 points → 50.
    assert m4["attendance_pts"] is None
    assert m4["vanguard_index"] == pytest.approx(50.0)


def test_vanguard_means(con):
    by_subgrid = both_paths(vanguard, con, JUNE)
    assert row(by_subgrid, unit_id="S1")["vanguard_index"] == pytest.approx(60 * R / 2)
    assert row(by_subgrid, unit_id="S1")["members"] == 2
    by_village = both_paths(vanguard, con, JUNE.at_level("village"))
    assert row(by_village, unit_id="V1")["vanguard_index"] == pytest.approx(
        (60 * R + 0 + 50 * R) / 3
    )


def test_indices_and_monthly_trend_agree(con):
    both = both_paths(indices, con, JUNE)
    assert row(both, unit_id="S1")["fortress_index"] == pytest.approx(55 + 0.3 * S1_SURVEY)
    assert row(both, unit_id="S3")["vanguard_index"] == pytest.approx(50.0)
    trend = both_paths(indices_by_month, con, JUNE)
    assert row(trend, unit_id="S1")["fortress_index"] == pytest.approx(55 + 0.3 * S1_SURVEY)


def test_assessment_areas_and_deductions(con):
    out = both_paths(assessment, con, JUNE)
    s1 = row(out, unit_id="S1")
    assert s1["daily_ops"] == 25.0
    # 25 × (0.5 × study 1/2 + 0.5 × attendance 2.5/6)
    assert s1["org_life"] == pytest.approx(25 * (0.25 + 0.5 * 2.5 / 6))
    assert s1["public_opinion"] == 25.0
    # 25 × (0.4 × on time 1 + 0.3 × satisfaction 1 + 0.3 × volunteer reach 1/2)
    assert s1["governance"] == pytest.approx(21.25)
    assert s1["deductions"] == 20.0  # S1 5 + its member M2 15
    s2 = row(out, unit_id="S2")
    # coverage 1/4; org life 25 × 0.5 × 1.0 (study 0, attendance 1); no reports:
    # collection 0 alone; governance: only volunteer reach 1/1 is measurable.
    assert (s2["daily_ops"], s2["org_life"], s2["public_opinion"], s2["governance"]) == (
        6.25,
        12.5,
        0.0,
        25.0,
    )
    assert s2["total"] == pytest.approx(43.75 - 20)
    s3 = row(out, unit_id="S3")
    assert s3["total"] == 0.0  # 25 points minus 100 would go below zero
    assert out["unit_id"].to_list() == ["S1", "S2", "S3"]
    assert out["rank"].to_list() == [1, 2, 3]


def test_village_deductions_include_subgrids_and_members(con):
    out = both_paths(assessment, con, JUNE.at_level("village"))
    assert row(out, unit_id="V1")["deductions"] == 2 + 5 + 15 + 20


def test_components_explain_the_area_scores(con):
    out = both_paths(assessment_components, con, JUNE)
    s1 = out.filter(unit_id="S1", area="org_life")
    assert s1["component"].to_list() == ["study_coverage", "attendance_rate"]
    assert s1["value"].to_list() == pytest.approx([0.5, 2.5 / 6])
    s2 = out.filter(unit_id="S2", area="public_opinion")
    assert s2["value"].to_list()[1] is None  # no report: 按时受理率 left out
