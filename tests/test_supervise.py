"""督办事项: the sweep (sources, deadlines, idempotence, the overdue transition), who
may change an item (office, the village's own secretary, nobody else), the history of
every change, the village scope of the reads, and ``python -m supervise``.

On a copy of the sample (24 months ending 2026-10); each test that writes takes a copy
of its own, swept once.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import polars as pl
import pytest

from auth.roles import ADMIN, LEADER, OFFICE, SECRETARY, User
from metrics.alerts import alerts
from metrics.filters import Filter
from metrics.response import overdue
from metrics.scope import ScopeDenied, restricted_to
from metrics.study import not_reached
from store.database import connect
from supervise.cli import main
from supervise.config import load_config
from supervise.items import history, items, oldest_open, period_summary, status_counts
from supervise.sources import candidates
from supervise.writer import SupervisionError, answer, assign, close, extend, open_item, sweep
from tests.support.reporting import delete_unit

LATEST = date(2026, 10, 1)
TODAY = date(2026, 11, 4)
OWN, OTHER = "CJ03", "CJ05"
OFFICE_USER = User("s_office", "镇办", OFFICE)
LEADER_USER = User("s_leader", "领导", LEADER)
ADMIN_USER = User("s_admin", "管理员", ADMIN)
OWN_SECRETARY = User("s_cj03", "书记", SECRETARY, OWN)


@pytest.fixture(scope="module")
def swept(sample_db, tmp_path_factory):
    """A copy of the sample swept once on TODAY, and the sweep's result."""
    path = tmp_path_factory.mktemp("swept") / "grid.duckdb"
    shutil.copy(sample_db, path)
    con = connect(path)
    result = sweep(con, today=TODAY)
    con.close()
    return path, result


@pytest.fixture
def con(swept, tmp_path):
    """A private, already swept copy for a test that changes items."""
    path = tmp_path / "grid.duckdb"
    shutil.copy(swept[0], path)
    connection = connect(path)
    yield connection
    connection.close()


def snapshot(con) -> list[tuple]:
    return con.execute("SELECT * FROM supervision_item ORDER BY item_id").fetchall()


def item_of(con, source: str, village: str | None = None) -> dict:
    frame = items(con, village, source=source, today=TODAY)
    assert not frame.is_empty(), (source, village)
    return frame.row(0, named=True)


# ------------------------------------------------------------------ the sweep


def test_the_sweep_opens_one_item_per_source_fact(swept, sample_db):
    path, result = swept
    month = Filter(LATEST, LATEST, "town")
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        reports = overdue(con, month)
        red = alerts(con, month).filter(pl.col("level") == "红色")
        members = not_reached(con, month)
    finally:
        con.close()
    assert result.month == LATEST
    assert result.opened == {
        "overdue_report": reports.height,
        "red_alert": red.height,
        "not_reached": members["subgrid_id"].n_unique(),
        "unreported": result.opened["unreported"],  # 0 until the completeness metric exists
        "manual": 0,
    }
    assert reports.height and red.height and members.height
    con = connect(path, read_only=True)
    try:
        listed = items(con, today=TODAY)
        # The owners come from the roster: the 子网格长 of a report's sub-grid.
        report_items = listed.filter(pl.col("source") == "overdue_report")
        assert set(report_items["subgrid_id"]) == set(reports["subgrid_id"])
        assert report_items["owner_role"].unique().to_list() == ["子网格长"]
        assert report_items["owner"].null_count() < report_items.height
        subjects = " ".join(report_items["subject"])
        assert all(report_id in subjects for report_id in reports["report_id"])
        # Subjects name units, not members.
        assert not any(n and n in " ".join(listed["subject"]) for n in members["name"].to_list())
    finally:
        con.close()


def test_deadlines_come_from_the_configuration_per_source(swept):
    path, _ = swept
    days = load_config().deadline_days
    con = connect(path, read_only=True)
    try:
        listed = items(con, today=TODAY)
    finally:
        con.close()
    for source, frame in listed.group_by("source"):
        expected = TODAY + timedelta(days=days[source[0]])
        assert frame["deadline"].unique().to_list() == [expected], source
    assert set(listed["status"]) == {"待办"}


def test_a_second_sweep_opens_nothing_and_changes_nothing(con):
    before = snapshot(con)
    again = sweep(con, today=TODAY)
    assert sum(again.opened.values()) == 0 and again.seen_before == len(before)
    assert snapshot(con) == before


def test_an_open_topic_is_not_opened_again_next_month_but_is_after_closing(con):
    """Members not reached in a sub-grid in 2026-09 and in 2026-10 are one item while
    that item is open; once it is closed, the other month's finding opens its own."""
    september = date(2026, 9, 1)
    open_topics = dict(
        con.execute(
            "SELECT topic_key, item_id FROM supervision_item WHERE source = 'not_reached'"
        ).fetchall()
    )
    again = [
        c
        for c in candidates(con, september)
        if c.source == "not_reached" and c.topic_key in open_topics
    ]
    assert again, "the sample has sub-grids with members not reached in both months"
    result = sweep(con, today=TODAY, month=september)
    assert result.already_open >= len(again)
    count = "SELECT count(*) FROM supervision_item WHERE topic_key = ?"
    topic = again[0].topic_key
    assert con.execute(count, [topic]).fetchall() == [(1,)]
    close(con, OFFICE_USER, open_topics[topic], "已逐一送学")
    sweep(con, today=TODAY, month=september)
    assert con.execute(count, [topic]).fetchall() == [(2,)]
    # A fact once followed up (the same sub-grid in the same month) is never opened again.
    assert sweep(con, today=TODAY, month=september).opened["not_reached"] == 0


def test_items_past_their_deadline_without_feedback_become_overdue(con):
    report = item_of(con, "overdue_report")
    answered = item_of(con, "red_alert")
    answer(con, OFFICE_USER, answered["item_id"], "已约谈，正在整改")
    later = TODAY + timedelta(days=load_config().deadline_days["red_alert"] + 1)
    result = sweep(con, today=later)
    assert result.became_overdue == status_counts(con)["已逾期"] > 0
    statuses = dict(con.execute("SELECT item_id, status FROM supervision_item").fetchall())
    assert statuses[report["item_id"]] == "已逾期"
    assert statuses[answered["item_id"]] == "已反馈"  # the village answered: not overdue
    actions = history(con, report["item_id"])["action"].to_list()
    assert actions == ["立项", "逾期"]
    assert sweep(con, today=later).became_overdue == 0
    # An extension to a future day makes an overdue item 待办 again.
    extend(con, OFFICE_USER, report["item_id"], date.today() + timedelta(days=10))
    status = con.execute(
        "SELECT status FROM supervision_item WHERE item_id = ?", [report["item_id"]]
    ).fetchall()
    assert status == [("待办",)]


# ------------------------------------------------------------------ who may change what


def test_a_village_secretary_answers_their_own_items_only(con):
    own = item_of(con, "overdue_report", OWN)
    other = item_of(con, "overdue_report", OTHER)
    answer(con, OWN_SECRETARY, own["item_id"], "已上门核实，本周办结")
    row = con.execute(
        "SELECT status, feedback, feedback_by FROM supervision_item WHERE item_id = ?",
        [own["item_id"]],
    ).fetchall()
    assert row == [("已反馈", "已上门核实，本周办结", OWN_SECRETARY.username)]
    before = snapshot(con)
    with pytest.raises(SupervisionError, match="只能对本村居"):
        answer(con, OWN_SECRETARY, other["item_id"], "越权反馈")
    for change in (
        lambda: close(con, OWN_SECRETARY, own["item_id"]),
        lambda: extend(con, OWN_SECRETARY, own["item_id"], TODAY + timedelta(days=30)),
        lambda: assign(con, OWN_SECRETARY, own["item_id"], "CJ03-P0001"),
    ):
        with pytest.raises(SupervisionError, match="只有镇办人员"):
            change()
    assert snapshot(con) == before


def test_leaders_and_administrators_only_read(con):
    item = item_of(con, "red_alert")
    before = snapshot(con)
    for user in (LEADER_USER, ADMIN_USER):
        with pytest.raises(SupervisionError):
            answer(con, user, item["item_id"], "领导批示")
        with pytest.raises(SupervisionError, match="只有镇办人员"):
            close(con, user, item["item_id"])
    assert snapshot(con) == before


def test_the_office_assigns_extends_and_closes_and_every_change_is_logged(con):
    item = item_of(con, "overdue_report", OWN)
    number = item["item_id"]
    assign(con, OFFICE_USER, number, "CJ03-P0001")
    extend(con, OFFICE_USER, number, date.today() + timedelta(days=20))
    answer(con, OWN_SECRETARY, number, "已办结，居民满意")
    close(con, OFFICE_USER, number, "核实无误")
    row = con.execute(
        "SELECT owner_id, owner_role, status, closed_by, closing_note FROM supervision_item "
        "WHERE item_id = ?",
        [number],
    ).fetchall()
    assert row == [("CJ03-P0001", "总网格长", "已办结", OFFICE_USER.username, "核实无误")]
    log = history(con, number)
    assert log["action"].to_list() == ["立项", "指定责任人", "延期", "反馈", "办结"]
    assert log["user_name"].to_list()[1:] == [
        OFFICE_USER.username,
        OFFICE_USER.username,
        OWN_SECRETARY.username,
        OFFICE_USER.username,
    ]
    before = snapshot(con)
    with pytest.raises(SupervisionError, match="已办结"):
        answer(con, OFFICE_USER, number, "再反馈")
    assert snapshot(con) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c, n: extend(c, OFFICE_USER, n, TODAY), "应晚于原截止日期"),
        (lambda c, n: extend(c, OFFICE_USER, n, date.today() + timedelta(days=400)), "最晚"),
        (lambda c, n: answer(c, OFFICE_USER, n, "   "), "请填写反馈内容"),
        (lambda c, n: answer(c, OFFICE_USER, n, "长" * 501), "不能超过 500 字"),
        (lambda c, n: assign(c, OFFICE_USER, n, "CJ05-P0001"), "不在该村居"),
        (lambda c, n: close(c, OFFICE_USER, 999999), "没有编号为 999999"),
    ],
)
def test_bad_requests_are_refused_in_chinese_and_change_nothing(con, change, message):
    number = item_of(con, "overdue_report", OWN)["item_id"]
    before = snapshot(con)
    events = con.execute("SELECT count(*) FROM supervision_event").fetchall()
    with pytest.raises(SupervisionError, match=message):
        change(con, number)
    assert snapshot(con) == before
    assert con.execute("SELECT count(*) FROM supervision_event").fetchall() == events


def test_the_office_opens_an_item_by_hand(con):
    number = open_item(
        con,
        OFFICE_USER,
        village_id=OWN,
        subject="核查第3网格阵地台账",
        owner_id="CJ03-P0001",
    )
    row = items(con, OWN, source="manual").row(0, named=True)
    assert (row["item_id"], row["owner_role"], row["status"]) == (number, "总网格长", "待办")
    summary = period_summary(con, date.today().replace(day=1), date.today().replace(day=1), OWN)
    assert summary.filter(pl.col("source") == "manual")["opened"].to_list() == [1]
    with pytest.raises(SupervisionError, match="只有镇办人员"):
        open_item(con, OWN_SECRETARY, village_id=OWN, subject="x", owner_id="CJ03-P0001")


# ------------------------------------------------------------------ reads and the CLI


def test_reads_are_held_to_the_village_scope(swept):
    path, _ = swept
    con = connect(path, read_only=True)
    try:
        with restricted_to(OWN):
            own = items(con)
            assert set(own["village_id"]) == {OWN}
            assert set(oldest_open(con)["village_id"]) <= {OWN}
            with pytest.raises(ScopeDenied):
                items(con, OTHER)
        assert items(con)["village_id"].n_unique() > 5
    finally:
        con.close()


def test_a_database_without_items_reads_as_empty(sample_db):
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        assert items(con).is_empty() and status_counts(con)["待办"] == 0
        assert period_summary(con, LATEST, LATEST)["opened"].sum() == 0
    finally:
        con.close()


def test_the_command_line_lists_and_sweeps(swept, tmp_path, capsys):
    path = tmp_path / "grid.duckdb"
    shutil.copy(swept[0], path)
    assert main(["list", "--db", str(path), "--village", OWN, "--status", "待办"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["village_id"] for r in rows} == {OWN}
    assert list(rows[0]) == [
        "item_id", "source", "village_id", "subgrid_id", "owner", "opened_at", "deadline",
        "status",
    ]  # fmt: skip
    assert main(["sweep", "--db", str(path)]) == 0  # idempotent on the same data
    assert "新立项 0 件" in capsys.readouterr().out
    assert main(["list", "--db", str(path), "--format", "csv", "--source", "red_alert"]) == 0
    assert capsys.readouterr().out.startswith("item_id,source,village_id")
    assert main(["list", "--db", str(path), "--village", "CJ99"]) == 2
    assert "CJ99" in capsys.readouterr().err
    assert main(["list", "--db", str(path), "--status", "完成"]) == 2
    assert main(["sweep", "--db", str(path), "--month", "2026-13"]) == 2
    assert main(["sweep", "--db", str(tmp_path / "missing.duckdb")]) == 2


def test_unreported_data_opens_an_item_per_village_and_kind(sample_db, tmp_path):
    """水库村 (CJ05) without its October activities and sign-ins: two 未报送 items for
    its 总网格长, once."""
    path = tmp_path / "grid.duckdb"
    shutil.copy(sample_db, path)
    delete_unit(path, "CJ05", LATEST, ("activity", "attendance"))
    con = connect(path)
    try:
        assert sweep(con, today=TODAY).opened["unreported"] == 2
        found = items(con, source="unreported", today=TODAY)
        assert set(found["village_id"]) == {"CJ05"} and set(found["owner_role"]) == {"总网格长"}
        subjects = " ".join(found["subject"])
        assert "2026年10月的活动台账未报送" in subjects and "签到记录" in subjects
        assert sweep(con, today=TODAY).opened["unreported"] == 0
    finally:
        con.close()
