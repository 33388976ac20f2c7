"""程序清单, 阵地与志愿者 and the 制度清单's periodic systems (metrics.decision_procedure,
governance_procedure, study_procedure, places, volunteers, systems) on a small
hand-made village whose every number is written down here."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from metrics import Filter
from metrics.decision_procedure import decision_stages, decision_villages, open_matters
from metrics.governance_procedure import governance_steps, undiscussed_reports
from metrics.places import place_months, place_usage
from metrics.procedures import procedure_stages
from metrics.scope import ScopeDenied, restricted_to
from metrics.study_procedure import study_stages, study_steps
from metrics.systems import system_compliance, system_villages
from metrics.volunteers import programme_summary, volunteer_summary
from tests.support.small_grids import GridBuilder, d, ts

Q3 = Filter(date(2026, 7, 1), date(2026, 9, 1))
H1 = Filter(date(2026, 1, 1), date(2026, 6, 1))


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    g = GridBuilder(tmp_path_factory.mktemp("procedures") / "grid.duckdb")
    g.village("V1")
    g.village("V2")
    for sg in ("V1-01", "V1-02", "V2-01"):
        g.subgrid(sg, sg[:2])
    sql = g.con.execute
    sql(
        "INSERT INTO service_point VALUES ('V1-S', 'V1', '服务站', '服务站', 121.4, 30.8),"
        " ('V1-P1', 'V1', '服务点', '服务点', 121.4, 30.8)"
    )
    g.person("H1", "V1-01", "V1", role="总网格长")
    g.person("W1", "V1-01", "V1", role="网格员")
    g.person("M1", "V1-01", "V1")
    g.person("M2", "V1-01", "V1")
    for pid, kind in (("Y1", "在职党员"), ("Y2", "埭长"), ("Y3", "新乡贤")):
        g.person(pid, "V1-01", "V1", party=False, role="网格志愿者")
        sql("UPDATE person SET volunteer_type = ? WHERE person_id = ?", [kind, pid])

    def held(activity_id, day, kind, place, sg="V1-01"):
        sql(
            "INSERT INTO activity VALUES (?, ?, 'V1', ?, ?, '主题', ?, NULL, 60)",
            [activity_id, d(day), sg, kind, place],
        )

    held("A1", "2026-07-03", "主题党日", "V1-S")
    held("A2", "2026-07-05", "学习教育", "V1-S")
    held("A3", "2026-07-09", "网格工作例会", "V1-S", sg=None)
    held("A4", "2026-08-04", "党员议事会", "V1-P1")
    held("A5", "2026-07-20", "志愿服务", "V1-S")
    for activity, person in (("A1", "W1"), ("A1", "M1"), ("A2", "M1"), ("A5", "Y1")):
        g.attend(activity, person)
    g.attend("A2", "M2", mode="送学上门")  # W1 is not there: P2 never meets

    sql(
        "INSERT INTO decision VALUES"
        " ('J1', 'V1', '道路', DATE '2026-07-01', DATE '2026-07-02', DATE '2026-07-10',"
        "  DATE '2026-07-20', '两委会决议', DATE '2026-07-25'),"
        " ('J2', 'V1', '水利', NULL, DATE '2026-07-03', DATE '2026-07-10', NULL, NULL, NULL),"
        " ('J3', 'V1', '福利', NULL, DATE '2026-08-01', DATE '2026-08-10', DATE '2026-08-20',"
        "  '党员大会表决', DATE '2026-09-15'),"
        " ('J0', 'V1', '旧事', NULL, DATE '2026-03-01', NULL, NULL, NULL, NULL),"
        " ('K1', 'V2', '他村', NULL, DATE '2026-07-01', NULL, NULL, NULL, NULL)"
    )

    def report(rid, reported, accepted=None, verified=None, escalated=None, resolved=None,
               level="子网格", status=None, meeting=None, by=None):  # fmt: skip
        status = status or ("已办结" if resolved else "处理中" if accepted else "待受理")
        sql(
            "INSERT INTO report (report_id, subgrid_id, reporter_id, category, reported_at,"
            " accepted_at, verified_at, escalated_at, resolved_at, handling_level, status,"
            " satisfaction, meeting_id) VALUES (?, 'V1-01', ?, '环境卫生', ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)",
            [rid, by, ts(reported), ts(accepted), ts(verified), ts(escalated), ts(resolved),
             level, status, 5 if resolved else None, meeting],
        )  # fmt: skip

    report("R1", "2026-07-01 09:00", "2026-07-01 11:00", "2026-07-01 15:00",
           resolved="2026-07-04 09:00", by="Y2")  # fmt: skip
    report("R2", "2026-07-05 09:00", "2026-07-06 15:00")  # accepted after 30 h, still open
    report("R3", "2026-07-06 09:00", "2026-07-06 10:00", "2026-07-06 12:00", "2026-07-07 12:00",
           "2026-07-26 09:00", level="总网格", meeting="A3")  # fmt: skip
    report("R4", "2026-07-08 09:00", "2026-07-08 10:00", "2026-07-08 12:00", "2026-07-12 12:00",
           level="镇")  # fmt: skip
    report("R5", "2026-07-09 09:00", "2026-07-09 10:00", status="不予受理")

    sql("INSERT INTO study_notice VALUES ('N1', DATE '2026-07-02', 'V1', 'H1', '主题')")
    sql(
        "INSERT INTO pairing VALUES"
        " ('P1', '老新结对', 'V1', 'W1', NULL, 'M1', DATE '2026-01-01', NULL),"
        " ('P2', '以老带老', 'V1', 'W1', NULL, 'M2', DATE '2026-01-01', DATE '2026-07-31'),"
        " ('U1', '企村结对', 'V1', NULL, '某公司党支部', 'Y1', DATE '2026-01-01', NULL),"
        " ('U2', '企村结对', 'V1', NULL, '某公司党支部', 'Y3', DATE '2026-01-01', NULL)"
    )
    g.evaluation("2026H1", "V1-01", 90, rater="上级考评")
    g.evaluation("2026H1", "V1-02", 90, rater="自评")  # not the town's review
    connection = g.finish()
    yield connection
    connection.close()


def stages(frame: pl.DataFrame) -> dict[str, tuple]:
    return {r["stage"]: (r["items"], r["median_days"], r["overdue"]) for r in frame.to_dicts()}


def test_the_decision_funnel_counts_waits_and_delays(con):
    assert stages(decision_stages(con, Filter(Q3.start, Q3.end, "town", "V1"))) == {
        "镇领导督导": (1, None, 1),  # J3 decided without 督导
        "总网格长提议": (3, None, 0),
        "党员议事会商议": (3, 8.0, 0),  # 8, 7, 9 days
        "决议或表决": (2, 10.0, 1),  # J2 waiting since 7-10: 82 days > 30
        "结果公示": (2, 15.5, 1),  # J3 published 26 days after its decision
    }


def test_open_matters_include_old_ones_longest_wait_first(con):
    matters = open_matters(con, Q3)
    assert matters.select("matter_id", "stage", "days_waiting", "overdue").rows() == [
        ("J0", "总网格长提议", 213, True),
        ("K1", "总网格长提议", 91, True),
        ("J2", "党员议事会商议", 82, True),
    ]
    villages = decision_villages(con, Q3).filter(pl.col("village_id") == "V1").row(0, named=True)
    assert (villages["matters"], villages["published"], villages["open"]) == (3, 2, 1)
    assert villages["days_to_publish"] == pytest.approx((23 + 45) / 2)


def test_governance_steps_per_level_and_the_undiscussed(con):
    steps = stages(governance_steps(con, Q3))
    assert steps["线索上报"] == (5, None, None)
    assert steps["子网格长受理"][0::2] == (5, 1)  # R2 accepted after 30 h
    assert steps["核实"] == (3, 0.08, None)  # 4, 2 and 2 hours: median 2 h
    assert steps["反馈总网格长"][0::2] == (2, 1)  # R4 fed back four days after verifying
    assert steps["例会讨论"][0::2] == (1, 1)  # R4 waiting 80 days > 40
    assert steps["办结（子网格）"][0::2] == (1, 1)  # R1 on time; R2 open for 87 days
    assert steps["办结（总网格）"][0::2] == (1, 1)  # R3 took 20 days > 15
    assert steps["办结（镇）"][0::2] == (0, 1)  # R4 open 84 days > 30
    waiting = undiscussed_reports(con, Q3)
    assert waiting.select("report_id", "days_waiting", "overdue", "status_at_end").rows() == [
        ("R4", 80, True, "处理中")
    ]


def test_a_later_step_after_the_range_is_not_reached_yet(con):
    july = Filter(date(2026, 7, 1), date(2026, 7, 1))
    steps = stages(governance_steps(con, july))
    assert steps["办结（总网格）"][0] == 1  # R3 resolved 7-26
    early = Filter(date(2026, 7, 1), date(2026, 7, 1))
    assert stages(decision_stages(con, early))["结果公示"][0] == 1  # J1 in July; J3 later


def test_study_steps_notices_home_study_and_pairs(con):
    steps = study_steps(con, Q3)
    july = steps.filter(pl.col("month") == date(2026, 7, 1)).row(0, named=True)
    august = steps.filter(pl.col("month") == date(2026, 8, 1)).row(0, named=True)
    assert (july["villages_active"], july["notified"], august["notified"]) == (1, 1, 0)
    assert (july["pairs"], july["pairs_met"], august["pairs"], august["pairs_met"]) == (2, 1, 1, 0)
    assert july["reached_home"] == 1
    assert steps.height == 2  # September: no activities, no row
    rows = stages(study_stages(con, Q3))
    assert rows["总网格长下发学习提示"] == (1, None, 1)
    assert rows["老新结对、以老带老"] == (2, None, 1)  # P2 never met


def test_places_idle_in_months_their_village_was_active(con):
    months = place_months(con, Q3)
    idle = months.filter(pl.col("idle")).select("place_id", "month").rows()
    assert idle == [("V1-P1", date(2026, 7, 1)), ("V1-S", date(2026, 8, 1))]
    usage = place_usage(con, Q3).filter(pl.col("village_id") == "V1")
    assert usage.select(
        "place_id", "activities", "participants", "months", "idle_months"
    ).rows() == [
        ("V1-S", 4, 5, 2, 1),
        ("V1-P1", 1, 0, 2, 1),
    ]


def test_volunteers_by_kind_and_the_programmes(con):
    town = volunteer_summary(con, Q3)
    by_kind = {
        r["kind"]: (r["volunteers"], r["active"], r["participations"]) for r in town.to_dicts()
    }
    assert by_kind == {
        "在职党员": (1, 1, 1),
        "结对单位党员": (0, 0, 0),
        "新乡贤": (1, 0, 0),
        "埭长": (1, 1, 0),  # a report makes a volunteer active
        "其他": (0, 0, 0),
    }
    assert set(volunteer_summary(con, Q3.at_level("village"))["unit_id"]) == {"V1"}
    programmes = (
        programme_summary(con, Q3).filter(pl.col("programme") == "企村结对").row(0, named=True)
    )
    assert (programmes["units"], programmes["volunteers"], programmes["active"]) == (1, 2, 1)


def test_periodic_systems_council_per_quarter_and_the_half_year_review(con):
    council = system_compliance(con, Q3).filter(pl.col("key") == "council").row(0, named=True)
    assert (council["due"], council["met"]) == (3, 1)  # V1-01 held one; V1-02, V2-01 none
    review = system_compliance(con, H1).filter(pl.col("key") == "subgrid_review").row(0, named=True)
    assert (review["due"], review["met"]) == (3, 1)  # only V1-01 has a 上级考评
    assert system_compliance(con, Filter(date(2026, 7, 1), date(2026, 8, 1)))["due"].sum() == 0
    per_village = system_villages(con, Q3).filter(pl.col("key") == "council")
    assert per_village.select("village_id", "due", "met").rows() == [("V1", 2, 1), ("V2", 1, 0)]


def test_the_procedures_summary_and_the_village_scope(con):
    summary = procedure_stages(con, Q3)
    assert summary["procedure"].unique(maintain_order=True).to_list() == [
        "党内重要事项决策",
        "党员学习教育",
        "乡村治理",
    ]
    with restricted_to("V2"):
        assert stages(decision_stages(con, Q3))["总网格长提议"][0] == 1  # K1 only
        assert governance_steps(con, Q3)["items"].sum() == 0
        with pytest.raises(ScopeDenied):
            place_usage(con, Filter(Q3.start, Q3.end, "town", "V1"))
