"""The two indices fed by the 测评 and calibrated (docs/metrics.md, 测评, 党组织堡垒指数,
党员先锋指数): rater weights, a missing rater rescaled, a survey covering part of a
range, 作用发挥 on a half-year scale, the 民主评议 grades — on a hand-made town whose
answers are worked out below — and the grade spread on the sample data."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import metrics.query_context
from metrics.config import load_config
from metrics.filters import Filter
from metrics.fortress_index import fortress_by_unit
from metrics.member_vanguard import grade_distribution, member_vanguard
from metrics.query_context import Context
from metrics.vanguard_index import vanguard_by_unit
from store.database import connect
from tests.support.small_grids import GridBuilder, row

APR_JUL = Filter.parse("2026-04", "2026-07", "subgrid")
JUNE = Filter.parse("2026-06", "2026-06", "subgrid")
JULY = Filter.parse("2026-07", "2026-07", "subgrid")

# S1's 堡垒指数 survey 2026H1: 自评 90, 党员群众测评 80, 上级考评 60 (10/70/20 %).
S1_SURVEY = (10 * 90 + 70 * 80 + 20 * 60) / 100  # 77
# S2's: 党员群众测评 70 and 上级考评 50, no 自评: the two rescaled over 90 %.
S2_SURVEY = (70 * 70 + 20 * 50) / 90
# Members' 先锋指数 survey 2026H1 (自评 20 %, 党员群众测评 80 %).
M1_SURVEY = (20 * 100 + 80 * 75) / 100  # 80
M2_SURVEY = 90.0  # 自评 only: rescaled to the whole


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    """V1 = {S1: M1, M2; S2: M3}, V2 = {S3: M4}; data months April–July 2026.

    Every month S1 holds all it must (主题党日, 学习教育, 接待日, two 巡查): M1 attends
    the 主题党日 and the 学习教育 (出席), M2 is on leave at the 主题党日 and attends the
    学习教育. S1 has no report. S2 and S3 hold one 主题党日 a month (M3, M4 出席).
    作用发挥: M1 files one report (in S2, April), attends one 志愿服务 of S2 (May) and the
    接待日 and one 巡查 of S1 (June): 4 points. M2 attends one 巡查 (April): 1 point.
    The 2026H1 surveys (above) cover April–June: three of the four months. V1 also has
    a 堡垒指数 score of its own (10), which feeds nothing; S3 and M3, M4 have none.
    """
    g = GridBuilder(tmp_path_factory.mktemp("town") / "grid.duckdb")
    g.village("V1")
    g.village("V2")
    for s, v in (("S1", "V1"), ("S2", "V1"), ("S3", "V2")):
        g.subgrid(s, v)
    for p, s, v in (("M1", "S1", "V1"), ("M2", "S1", "V1"), ("M3", "S2", "V1"), ("M4", "S3", "V2")):
        g.person(p, s, v)
    patrols = {}
    for month in ("04", "05", "06", "07"):
        day = f"2026-{month}-0"
        party_day = g.activity(day + "2", "V1", "S1", "主题党日")
        g.attend(party_day, "M1", "出席")
        g.attend(party_day, "M2", "请假")
        study = g.activity(day + "3", "V1", "S1", "学习教育")
        g.attend(study, "M1", "出席")
        g.attend(study, "M2", "出席")
        patrols[month] = (
            g.activity(day + "4", "V1", "S1", "子网格长接待日"),
            g.activity(day + "5", "V1", "S1", "网格长巡查"),
            g.activity(day + "6", "V1", "S1", "网格长巡查"),
        )
        for s, v, m in (("S2", "V1", "M3"), ("S3", "V2", "M4")):
            g.attend(g.activity(day + "7", v, s, "主题党日"), m, "出席")
    g.report("R1", "S2", "2026-04-10 09:00", reporter="M1")
    g.attend(g.activity("2026-05-20", "V1", "S2", "志愿服务"), "M1", "出席")
    g.attend(patrols["06"][0], "M1", "出席")
    g.attend(patrols["06"][1], "M1", "出席")
    g.attend(patrols["04"][2], "M2", "出席")
    for rater, score in (("自评", 90), ("党员群众测评", 80), ("上级考评", 60)):
        g.evaluation("2026H1", "S1", score, rater=rater)
    for rater, score in (("党员群众测评", 70), ("上级考评", 50)):
        g.evaluation("2026H1", "S2", score, rater=rater)
    g.evaluation("2026H1", "V1", 10.0)
    for person, rater, score in (
        ("M1", "自评", 100),
        ("M1", "党员群众测评", 75),
        ("M2", "自评", 90),
    ):
        g.evaluation("2026H1", person, score, index="先锋指数", rater=rater)
    yield g.finish()
    g.con.close()


def fortress_rows(con, f: Filter, buckets: str = "range") -> pl.DataFrame:
    """``fortress_by_unit`` of ``f``, checked equal over the rollups and without."""
    frames = [fortress_by_unit(Context.of(con, f, None, r, buckets)) for r in (True, False)]
    assert_frame_equal(frames[0].sort("unit_id", "bucket"), frames[1].sort("unit_id", "bucket"))
    return frames[0]


def members(con, f: Filter, **kwargs) -> pl.DataFrame:
    """``member_vanguard`` of ``f``, checked equal over the rollups and without."""
    with_rollups = member_vanguard(con, f, **kwargs)
    assert_frame_equal(with_rollups, member_vanguard(con, f, rollups=False, **kwargs))
    return with_rollups


def test_fortress_survey_weighs_the_three_raters(con):
    s1 = row(fortress_rows(con, JUNE), unit_id="S1")
    # June: coverage 1, study 1, collection 0 (no report), handling left out (nothing
    # decided): the 90 points present are rescaled to 100.
    assert s1["survey_pts"] == pytest.approx(30 * S1_SURVEY / 100 * 100 / 90)
    assert s1["coverage_pts"] == pytest.approx(30 * 100 / 90)
    assert s1["raw"] == pytest.approx((30 + 20 + 0.3 * S1_SURVEY) * 100 / 90)
    assert (s1["surveyed"], s1["survey_status"], s1["survey_share"]) == (True, "已测评", 1.0)


def test_a_missing_rater_is_left_out_and_the_others_rescaled(con):
    out = fortress_rows(con, JUNE)
    # S2 has no 自评: 党员群众测评 and 上级考评 weigh 70 : 20. Its June: coverage 1/4,
    # study 0, collection 0 (its report was in April), handling left out: 90 points.
    s2 = row(out, unit_id="S2")
    assert s2["survey_pts"] == pytest.approx(30 * S2_SURVEY / 100 * 100 / 90)
    june = members(con, JUNE)
    assert row(june, person_id="M2")["survey"] == pytest.approx(30 * M2_SURVEY / 100)
    assert row(june, person_id="M1")["survey"] == pytest.approx(30 * M1_SURVEY / 100)


def test_a_survey_covering_part_of_the_range_counts_for_its_months(con):
    out = fortress_rows(con, APR_JUL)
    s1 = row(out, unit_id="S1")
    # 2026H1 covers April–June: 3 of the 4 data months. The survey weighs 30 × 3/4,
    # the others are rescaled over 30 + 20 + 10 + 22.5 points (handling: nothing due).
    assert (s1["surveyed"], s1["survey_status"]) == (False, "部分测评")
    assert s1["survey_share"] == pytest.approx(0.75)
    assert s1["survey_pts"] == pytest.approx(22.5 * S1_SURVEY / 100 * 100 / 82.5)
    assert s1["coverage_pts"] == pytest.approx(30 * 100 / 82.5)
    assert s1["raw"] == pytest.approx((30 + 20 + 0.225 * S1_SURVEY) * 100 / 82.5)
    # S3 never surveyed; the villages: V1 partly (both sub-grids, 3 of 4 months).
    assert row(out, unit_id="S3")["survey_status"] == "无测评"
    assert row(out, unit_id="S3")["survey_pts"] is None
    villages = fortress_rows(con, APR_JUL.at_level("village"))
    v1 = row(villages, unit_id="V1")
    assert (v1["surveyed"], v1["survey_status"]) == (False, "部分测评")
    assert v1["survey_share"] == pytest.approx(0.75)
    assert row(villages, unit_id="V2")["survey_status"] == "无测评"
    # July alone: no survey (无测评), the other parts rescaled over 60 points.
    july = row(fortress_rows(con, JULY), unit_id="S1")
    assert (july["survey_status"], july["survey_pts"]) == ("无测评", None)
    assert july["raw"] == pytest.approx(50 * 100 / 60)


def test_each_month_is_surveyed_or_not(con):
    monthly = fortress_rows(con, APR_JUL, buckets="month").filter(pl.col("unit_id") == "S1")
    assert monthly.sort("bucket")["survey_status"].to_list() == ["已测评"] * 3 + ["无测评"]


def test_a_village_score_of_its_own_feeds_nothing(con):
    # V1's own 堡垒指数 score (10) is not in V1's index: the member-month-weighted mean
    # of S1 (2 members) and S2 (1), minus nothing.
    out = fortress_rows(con, JUNE)
    s1, s2 = row(out, unit_id="S1")["raw"], row(out, unit_id="S2")["raw"]
    v1 = row(fortress_rows(con, JUNE.at_level("village")), unit_id="V1")
    assert v1["raw"] == pytest.approx((2 * s1 + s2) / 3)
    assert v1["survey_status"] == "已测评"


def test_vanguard_gains_the_member_survey_in_proportion_to_its_months(con):
    out = members(con, APR_JUL)
    m1 = row(out, person_id="M1")
    # Four months on the roll, three surveyed: the survey weighs 30 × 3/4 = 22.5 and
    # every part is rescaled over 30 + 20 + 20 + 22.5 = 92.5 points. 出勤 8/8, 学习 4/4,
    # 作用发挥 min(1, 4 points ÷ (2 × 4/6)) = 1.
    r = 100 / 92.5
    assert m1["attendance"] == pytest.approx(30 * r)
    assert m1["study"] == pytest.approx(20 * r)
    assert m1["contribution"] == pytest.approx(20 * r)
    assert m1["survey"] == pytest.approx(22.5 * M1_SURVEY / 100 * r)
    assert m1["vanguard_index"] == pytest.approx((70 + 18) * r)
    assert (m1["survey_status"], m1["grade"]) == ("部分测评", "优秀")
    m3 = row(out, person_id="M3")  # no survey: 无测评, the rest over 70 points
    assert m3["survey"] is None and m3["survey_status"] == "无测评"
    assert m3["attendance"] == pytest.approx(30 * 100 / 70)


def test_contribution_counts_what_the_member_did_on_a_half_year_scale(con):
    out = members(con, APR_JUL)
    # M2: one 巡查 in four months on the roll; full marks at 2 × 4/6 = 4/3 points.
    m2 = row(out, person_id="M2")
    assert m2["contribution"] == pytest.approx(20 * 0.75 * 100 / 92.5)
    # 出勤 (请假 0.5 + 出席 1) / 2 = 0.75, 学习 1, 作用发挥 0.75, 测评 90 over 3/4.
    expected = (30 * 0.75 + 20 + 20 * 0.75 + 22.5 * 0.9) * 100 / 92.5
    assert m2["vanguard_index"] == pytest.approx(expected)
    assert m2["grade"] == "合格"
    # July alone: M1 did nothing that month (its things were in April–June).
    assert row(members(con, JULY), person_id="M1")["contribution"] == 0.0
    # Points per kind come from the configuration: a 巡查 worth nothing leaves M2 with 0.
    config = load_config()
    no_patrol = replace(
        config,
        vanguard=replace(
            config.vanguard,
            contribution=replace(
                config.vanguard.contribution,
                points=tuple(
                    (k, 0.0 if k == "patrol" else p) for k, p in config.vanguard.contribution.points
                ),
            ),
        ),
    )
    assert row(members(con, APR_JUL, config=no_patrol), person_id="M2")["contribution"] == 0.0


def test_grades_follow_the_configured_cut_offs(con):
    config = load_config()
    out = members(con, APR_JUL)
    assert dict(zip(out["person_id"], out["grade"], strict=True)) == {
        "M1": "优秀",  # 95.1
        "M2": "合格",  # 84.1
        "M3": "合格",  # 出勤 1, 学习 0, 作用发挥 0 over 70 points: 42.9
        "M4": "合格",
    }
    # Raise 合格 above M3's 42.9: it becomes 基本合格; the grades are the config's.
    stricter = replace(
        config,
        vanguard=replace(
            config.vanguard,
            grades=tuple(
                replace(t, min=50.0) if t.label == "合格" else t for t in config.vanguard.grades
            ),
        ),
    )
    out = members(con, APR_JUL, config=stricter)
    assert row(out, person_id="M3")["grade"] == "基本合格"
    spread = grade_distribution(con, APR_JUL, config=stricter)
    assert spread["grade"].to_list() == ["优秀", "合格", "基本合格", "不合格"]
    assert spread["members"].to_list() == [1, 1, 2, 0]
    assert spread["share"].sum() == pytest.approx(1.0)


def test_large_scope_gives_the_same_numbers(con, monkeypatch):
    # A city's members are computed in SQL (metrics.vanguard_at_scale), with the
    # members who enter the sub-grid sums linearly summed without being computed.
    small = {lv: vanguard_by_unit(Context.of(con, APR_JUL.at_level(lv))) for lv in LEVELS}
    small_members = member_vanguard(con, APR_JUL)
    monkeypatch.setattr(metrics.query_context, "SMALL_SCOPE_LIMIT", -1)
    for level, frame in small.items():
        large = vanguard_by_unit(Context.of(con, APR_JUL.at_level(level)))
        assert_frame_equal(frame.sort("unit_id"), large.sort("unit_id"), check_column_order=False)
    assert_frame_equal(small_members, member_vanguard(con, APR_JUL))


LEVELS = ("subgrid", "village", "town")


# --------------------------------------------------------------- the sample data


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-01", "2026-06"), ("2026-07", "2026-10")],
    ids=["2026H1", "2026H2-so-far"],
)
def test_sample_grades_are_plausible(sample_db, start, end):
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        spread = grade_distribution(con, Filter.parse(start, end, "subgrid"))
    finally:
        con.close()
    share = dict(zip(spread["grade"], spread["share"], strict=True))
    assert spread["members"].sum() > 2000
    assert 0.08 <= share["优秀"] <= 0.25  # a minority
    assert share["优秀"] + share["合格"] >= 0.88  # almost everyone 合格 or better
    assert share["不合格"] < 0.03  # rare


def test_sample_surveys_feed_both_indices(sample_db):
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        h1 = Filter.parse("2026-01", "2026-06", "village")
        fortress = fortress_by_unit(Context.of(con, h1))
        vanguard = member_vanguard(con, h1.at_level("subgrid"))
        h2 = member_vanguard(con, Filter.parse("2026-07", "2026-10", "subgrid"))
    finally:
        con.close()
    statuses = dict(fortress.group_by("survey_status").len().iter_rows())
    assert statuses.get("已测评", 0) >= 10  # most villages file their surveys
    assert vanguard.filter(pl.col("survey_status") == "已测评").height > 1500
    assert vanguard["survey"].drop_nulls().mean() > 20  # scores around 85–90 of 100
    # The H2 survey is filed in December: none yet in July–October.
    assert set(h2["survey_status"]) == {"无测评"}
