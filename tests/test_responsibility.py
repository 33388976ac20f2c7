"""责任落实 (metrics.duties, metrics.team, metrics.posts): each duty signal, the
periods a duty is due in, who is held to it, vacancies and people without a sub-grid —
on a small hand-made village whose every number is written down here."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from metrics import Filter, batch
from metrics.duties import duties_of_person, duty_catalogue, duty_status, person_duties
from metrics.duty_periods import periods_in
from metrics.posts import posts, unassigned, vacancies
from metrics.scope import ScopeDenied, restricted_to
from metrics.team import level_chain, level_people, team_fulfilment
from store.duty_catalogue import parse_catalogue
from store.paths import CONFIG_DIR
from store.toml_config import ConfigError, read_config_file
from tests.support.small_grids import GridBuilder, d, ts

JULY = Filter(date(2026, 7, 1), date(2026, 7, 1))
Q3 = Filter(date(2026, 7, 1), date(2026, 9, 1))
H2 = Filter(date(2026, 7, 1), date(2026, 12, 1))


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    g = GridBuilder(tmp_path_factory.mktemp("duties") / "grid.duckdb")
    g.village("V1")
    g.village("V2")
    for sg in ("V1-01", "V1-02", "V2-01"):
        g.subgrid(sg, sg[:2])
    g.person("L1", None, "V1", role="督导员")
    g.person("H1", "V1-01", "V1", role="总网格长")
    g.person("G1", "V1-01", "V1", role="网格指导员")  # one of the two the village needs
    g.person("S1", "V1-01", "V1", role="子网格长")
    g.person("S2", "V1-02", "V1", role="子网格长", active_to="2026-08-10")  # leaves
    g.person("W1", "V1-01", "V1", role="网格员")
    g.person("W2", "V1-02", "V1", role="网格员", active_from="2026-07-15")  # joins mid-July
    g.person("U1", None, "V1", role="网格员")  # no sub-grid
    g.person("Y1", "V1-01", "V1", party=False, role="网格志愿者")
    g.person("Y2", "V1-02", "V1", party=False, role="网格志愿者")
    for n in range(13):  # V1-01: 4 team members + 13 = 17 party members → 2 网格员 needed
        g.person(f"M{n:02d}", "V1-01", "V1")
    g.person("H2", "V2-01", "V2", role="总网格长")
    sql = g.con.execute

    def held(activity_id, day, sg, kind, organizer, village="V1"):
        sql(
            "INSERT INTO activity VALUES (?, ?, ?, ?, ?, '主题', NULL, ?, 60)",
            [activity_id, d(day), village, sg, kind, organizer],
        )

    held("A1", "2026-07-05", "V1-01", "主题党日", "S1")
    held("A2", "2026-07-06", "V1-01", "网格长巡查", "S1")
    held("A3", "2026-07-08", None, "网格工作例会", "H1")
    held("A4", "2026-08-08", None, "网格工作例会", "H1")
    held("A5", "2026-07-20", "V1-01", "学习教育", "S1")
    held("A6", "2026-08-06", "V1-01", "网格长巡查", "S1")
    held("A7", "2026-09-06", "V1-01", "网格长巡查", "S1")
    for activity, person, status in (
        ("A2", "W1", "出席"),
        ("A6", "W1", "请假"),  # excused is not attended
        ("A3", "L1", "出席"),
        ("A5", "W1", "出席"),
        ("A5", "M00", "出席"),
        ("A1", "G1", "出席"),
    ):
        g.attend(activity, person, status)

    def report(rid, sg, reported, accepted, verified=None, escalated=None, meeting=None, by=None):
        sql(
            "INSERT INTO report (report_id, subgrid_id, reporter_id, category, reported_at,"
            " accepted_at, verified_at, escalated_at, handling_level, status, meeting_id)"
            " VALUES (?, ?, ?, '环境卫生', ?, ?, ?, ?, ?, '处理中', ?)",
            [rid, sg, by, ts(reported), ts(accepted), ts(verified), ts(escalated),
             "总网格" if escalated else "子网格", meeting],
        )  # fmt: skip

    report("R1", "V1-01", "2026-07-02 09:00", "2026-07-02 20:00", by="W1")  # 11 h: on time
    report("R2", "V1-01", "2026-08-02 09:00", "2026-08-03 15:00", by="Y1")  # 30 h: late
    report(
        "R3", "V1-01", "2026-07-10 09:00", "2026-07-10 10:00", "2026-07-10 12:00",
        "2026-07-11 12:00", meeting="A4",
    )  # fmt: skip  # fed back 24 h after verification, discussed at A4
    report(
        "R4", "V1-01", "2026-07-12 09:00", "2026-07-12 10:00", "2026-07-12 12:00",
        "2026-07-17 12:00",
    )  # fmt: skip  # fed back after 5 days, never discussed
    sql(
        "INSERT INTO decision VALUES ('J1', 'V1', '道路', DATE '2026-07-01', DATE '2026-07-02',"
        " DATE '2026-07-10', DATE '2026-07-20', '两委会决议', DATE '2026-07-25'),"
        " ('J2', 'V1', '水利', NULL, DATE '2026-08-02', DATE '2026-08-10', DATE '2026-08-20',"
        " '党员大会表决', DATE '2026-09-15')"
    )
    sql(
        "INSERT INTO study_notice VALUES ('N1', DATE '2026-07-02', 'V1', 'H1', '主题'),"
        " ('N2', DATE '2026-08-02', 'V1', NULL, '主题')"  # no issuer: the village's 总网格长
    )
    sql(
        "INSERT INTO pairing VALUES ('P1', '老新结对', 'V1', 'W1', NULL, 'M00', DATE '2026-01-01',"
        " NULL), ('P2', '以老带老', 'V1', 'W1', NULL, 'M01', DATE '2026-01-01', NULL)"
    )
    sql(
        "INSERT INTO duty_rating VALUES ('2026H2', 'Y1', 'D21', '已履职', NULL),"
        " ('2026H2', 'Y2', 'D21', '未履职', NULL)"
    )
    connection = g.finish()
    yield connection
    connection.close()


def status(con, f: Filter, person: str, duty: str) -> list[tuple[str, str, int, int]]:
    """(period, status, value, target) of one person's duty, oldest period first."""
    rows = duty_status(con, f).filter((pl.col("person_id") == person) & (pl.col("duty_id") == duty))
    return [
        (r["period_label"], r["status"], r["value"], r["target"])
        for r in rows.iter_rows(named=True)
    ]


def test_the_catalogue_holds_the_21_duties_of_six_roles():
    table = duty_catalogue()
    assert table.height == 21
    assert table["role"].unique().len() == 6
    assert set(table.filter(~pl.col("measured"))["duty_id"]) == {"D03", "D21"}
    assert (table["signal_text"].str.len_chars() > 0).all()


def test_periods_close_in_the_range():
    assert [p.label for p in periods_in(JULY, "quarter")] == []
    assert [p.label for p in periods_in(Q3, "quarter")] == ["2026年第3季度"]
    assert [p.label for p in periods_in(H2, "half")] == ["2026年下半年"]
    assert len(periods_in(Q3, "month")) == 3


def test_organising_counts_against_the_minimum(con):
    assert status(con, Q3, "S1", "D11") == [
        ("2026年7月", "已完成", 1, 1),
        ("2026年8月", "未完成", 0, 1),
        ("2026年9月", "未完成", 0, 1),
    ]
    # 巡查 needs two a month: one is not enough.
    assert status(con, JULY, "S1", "D14") == [("2026年7月", "未完成", 1, 2)]


def test_attending_means_present_or_organising(con):
    assert status(con, Q3, "W1", "D18") == [
        ("2026年7月", "已完成", 1, 1),
        ("2026年8月", "未完成", 0, 1),  # 请假 at the August patrol
        ("2026年9月", "未完成", 0, 1),
    ]
    assert status(con, Q3, "L1", "D01") == [("2026年第3季度", "已完成", 1, 1)]
    assert status(con, JULY, "H1", "D04") == [("2026年7月", "已完成", 1, 1)]  # organised


def test_reports_accepted_fed_back_and_discussed(con):
    # D15: July's reports accepted within 24 h; August's took 30 h; September had none.
    assert status(con, Q3, "S1", "D15") == [
        ("2026年7月", "已完成", 3, 3),
        ("2026年8月", "未完成", 0, 1),
        ("2026年9月", "本期无需", 0, 0),
    ]
    # D16: one fed back within 72 h of verification, one after five days.
    assert status(con, JULY, "S1", "D16") == [("2026年7月", "未完成", 1, 2)]
    # D07: one of two escalated reports discussed: 50 % < 80 %.
    assert status(con, Q3, "H1", "D07") == [("2026年第3季度", "未完成", 1, 2)]
    # D17: a 网格员's own reports in the quarter.
    assert status(con, Q3, "W1", "D17") == [("2026年第3季度", "已完成", 1, 1)]


def test_matters_supervised_and_published(con):
    # J2 had no 督导 and was published 26 days after its decision.
    assert status(con, H2, "L1", "D02") == [("2026年下半年", "未完成", 1, 2)]
    assert status(con, H2, "H1", "D06") == [("2026年下半年", "未完成", 1, 2)]


def test_notices_count_for_their_issuer_or_the_village_head(con):
    assert status(con, Q3, "H1", "D05") == [
        ("2026年7月", "已完成", 1, 1),
        ("2026年8月", "已完成", 1, 1),  # no issuer named: the 总网格长 of the village
        ("2026年9月", "未完成", 0, 1),
    ]


def test_a_pair_meets_at_a_shared_activity(con):
    # W1 and M00 both attended A5; W1 never met M01: one of two pairs.
    assert status(con, Q3, "W1", "D19") == [("2026年第3季度", "未完成", 1, 2)]


def test_manual_duties_follow_the_rating_or_wait_for_it(con):
    assert status(con, H2, "Y1", "D21") == [("2026年下半年", "已完成", 1, 1)]
    assert status(con, H2, "Y2", "D21") == [("2026年下半年", "未完成", 0, 1)]
    assert status(con, H2, "L1", "D03") == [("2026年下半年", "待评价", 0, 1)]
    rows = person_duties(con, H2).filter(pl.col("person_id") == "L1")
    assert rows.filter(pl.col("duty") == "D03").select("due", "done", "unrated").row(0) == (0, 0, 1)


def test_only_people_on_the_roll_the_whole_period_are_held(con):
    assert [p for p, *_ in status(con, Q3, "S2", "D11")] == ["2026年7月"]  # left 8-10
    assert [p for p, *_ in status(con, Q3, "W2", "D18")] == ["2026年8月", "2026年9月"]
    assert status(con, Q3, "W2", "D17") == []  # joined mid-quarter


def test_posts_vacancies_and_people_without_a_subgrid(con):
    vacant = vacancies(con, Q3).select("subgrid_id", "role", "needed", "held", "vacant")
    assert set(vacant.rows()) == {
        (None, "网格指导员", 2, 1, 1),
        ("V1-01", "网格员", 2, 1, 1),  # 17 party members, one 网格员 per 11
        ("V1-02", "子网格长", 1, 0, 1),  # S2 left
        (None, "督导员", 1, 0, 1),  # V2 has none
        (None, "网格指导员", 2, 0, 2),
        ("V2-01", "子网格长", 1, 0, 1),
        ("V2-01", "网格员", 1, 0, 1),
        ("V2-01", "网格志愿者", 1, 0, 1),
    }
    assert posts(con, Q3).filter(pl.col("vacant") == 0).height > 0
    assert unassigned(con, Q3)["person_id"].to_list() == ["U1"]


def test_the_chain_sums_people_posts_and_duties_per_level(con):
    with batch():
        chain = level_chain(con, Q3)
        rows = duty_status(con, Q3)
        per_village = team_fulfilment(con, Q3)
    assert chain["role"].to_list() == [
        "督导员",
        "总网格长",
        "网格指导员",
        "子网格长",
        "网格员",
        "网格志愿者",
    ]
    for r in chain.iter_rows(named=True):
        mine = rows.filter(pl.col("role") == r["role"])
        assert r["duties_due"] == mine["due"].sum() and r["duties_done"] == mine["done"].sum()
        expected = r["duties_done"] / r["duties_due"] if r["duties_due"] else None
        assert r["fulfilment"] == pytest.approx(expected)
    assert chain.filter(pl.col("role") == "网格员")["people"][0] == 3  # W1, W2, U1
    assert per_village.height == 2 * 6
    v2 = per_village.filter(pl.col("village_id") == "V2")
    assert v2.filter(pl.col("role") == "总网格长")["duties_due"][0] > 0


def test_people_of_a_level_and_one_persons_duties(con):
    people = level_people(con, Q3, "子网格长")
    assert people["person_id"].to_list() == ["S2", "S1"]  # weakest first
    duties = duties_of_person(con, Q3, "S1")
    assert set(duties["duty_id"]) == {"D11", "D12", "D13", "D14", "D15", "D16"}
    assert duties["period_label"][0] == "2026年9月"  # newest first
    assert duties_of_person(con, Q3, "nobody").is_empty()


def test_a_village_scope_sees_its_own_people_only(con):
    with restricted_to("V2"):
        rows = duty_status(con, Q3)
        assert set(rows["village_id"]) == {"V2"}
        with pytest.raises(ScopeDenied):
            team_fulfilment(con, Filter(Q3.start, Q3.end, "town", "V1"))
    assert duties_of_person(con, Filter(Q3.start, Q3.end, "town", "V2"), "S1").is_empty()


def test_a_bad_catalogue_is_refused_naming_file_and_key(tmp_path):
    shipped = (CONFIG_DIR / "duties.toml").read_text(encoding="utf-8")
    config = tmp_path / "duties.toml"
    config.write_text(shipped.replace("min_count = 2", "min_cuont = 2"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"duties.toml 缺少 duty\[13\]\.min_count"):
        parse_catalogue(read_config_file(config))
    config.write_text(
        shipped.replace('signal = "manual"', 'signal = "manual"\nmin_count = 1', 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="信号 manual 不使用此项"):
        parse_catalogue(read_config_file(config))
    config.write_text(shipped.replace('role = "网格员"', 'role = "网格长"', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"post\[4\]\.role 无效"):
        parse_catalogue(read_config_file(config))
