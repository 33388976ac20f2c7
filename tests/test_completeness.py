"""报送情况: which (village, month, kind) units have reported, from real loads.

The statuses come from :func:`metrics.completeness.completeness` over real databases:
the shared sample (loaded by ``init``) with a village's month of rows deleted, and
registry databases into which generated months are loaded through the loader, with
the loader's clock set to when the upload is to have happened. 零报告 goes through
:mod:`etl.zero_reports` and both CLIs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date, datetime

import polars as pl
import pytest

from etl.__main__ import main as etl_main
from etl.history import upload_history
from etl.schema import SCHEMA_VERSION
from etl.zero_reports import ZeroReportRefused, declare_zero_report, withdraw_zero_report
from metrics import batch
from metrics.__main__ import main as metrics_main
from metrics.completeness import (
    LATE,
    REPORTED,
    SAMPLE_LOADER_LABEL,
    STATUSES,
    UNREPORTED,
    ZERO,
    completeness,
    unreported_summary,
    unreported_units,
)
from metrics.config import CompletenessConfig, default_config, load_config
from metrics.filters import Filter
from metrics.query_context import Context
from store.database import connect, data_version
from store.paths import CONFIG_DIR
from store.toml_config import ConfigError
from tests.support.loading import (
    copy_db,
    last_batch,
    load,
    month_files,
    query,
    read_text,
    registry_database,
    sources,
    to_csv_bytes,
    undo,
)
from tests.support.reporting import delete_unit

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
VILLAGE, OTHER = "CJ05", "CJ07"
ABSENT = ("activity", "attendance")  # the kinds a test village did not upload


@pytest.fixture
def db(sample_db, tmp_path):
    """A private copy of the sample (24 months to 2026-10, loaded by ``init``)."""
    return copy_db(sample_db, tmp_path / "grid.duckdb")


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory):
    return registry_database(tmp_path_factory)


@pytest.fixture
def empty_db(registry_db, tmp_path):
    """A private copy of a database holding the registry only."""
    return copy_db(registry_db, tmp_path / "registry.duckdb")


@pytest.fixture
def clock(monkeypatch):
    """Set the time the loader records an upload at (and "now" for 零报告's checks)."""

    def set_to(text: str) -> None:
        moment = datetime.fromisoformat(text)
        monkeypatch.setattr("etl.history.now_local", lambda: moment)
        monkeypatch.setattr("store.clock.now_local", lambda: moment)

    set_to("2026-11-20 09:00")
    return set_to


def statuses(db, start, end, village_id=None, config=None) -> dict[tuple, str]:
    frame = frame_of(db, start, end, village_id, config)
    return {
        (v, m, k): s
        for v, m, k, s in frame.select("village_id", "month", "kind", "status").iter_rows()
    }


def frame_of(db, start, end, village_id=None, config=None) -> pl.DataFrame:
    con = connect(db)
    try:
        return completeness(con, start, end, village_id, config)
    finally:
        con.close()


# ------------------------------------------------------------------ unreported


def test_a_village_that_did_not_upload_is_unreported_not_zero(db):
    delete_unit(db, VILLAGE, OCT, ABSENT)
    frame = frame_of(db, SEP, OCT)
    villages = query(db, "SELECT count(*) FROM village")[0][0]
    assert frame.height == villages * 2 * 3  # every village × Sep, Oct × three kinds
    missing = frame.filter(pl.col("status") == UNREPORTED)
    assert sorted(missing.select("village_id", "month", "kind").iter_rows()) == [
        (VILLAGE, OCT, "activity"),
        (VILLAGE, OCT, "attendance"),
    ]
    assert missing["rows"].to_list() == [0, 0]
    assert missing["first_upload_at"].null_count() == 2
    # Its reports of October were uploaded, and every other unit too (by init: on time).
    rest = frame.filter(pl.col("status") != UNREPORTED)
    assert set(rest["status"]) == {REPORTED}
    assert (rest["rows"] > 0).all()
    assert set(rest["uploaded_by"]) == {SAMPLE_LOADER_LABEL}
    name = query(db, "SELECT name FROM village WHERE village_id = ?", [VILLAGE])[0][0]
    con = connect(db)
    try:
        assert unreported_summary(con, SEP, OCT) == [(name, OCT, ("活动", "出勤"))]
        assert unreported_summary(con, SEP, OCT, OTHER) == []
    finally:
        con.close()


def test_unreported_units_of_a_context_cover_its_whole_span(db):
    delete_unit(db, VILLAGE, SEP, ("report",))
    delete_unit(db, OTHER, OCT, ABSENT)
    con = connect(db)
    try:
        with batch():
            compare = Context.of(con, Filter(OCT, OCT, "village"), buckets="compare")
            units = unreported_units(compare)
            assert unreported_units(compare) is units  # once per scope
        alone = Context(con, Filter(OCT, OCT, "subgrid", OTHER))
        own = unreported_units(alone)
    finally:
        con.close()
    assert sorted(units.iter_rows()) == [
        (VILLAGE, SEP, "report"),  # the previous range of a compare context counts too
        (OTHER, OCT, "activity"),
        (OTHER, OCT, "attendance"),
    ]
    assert sorted(own.iter_rows()) == [(OTHER, OCT, "activity"), (OTHER, OCT, "attendance")]
    assert units.schema == {"village_id": pl.String, "month": pl.Date, "kind": pl.String}


def test_a_batch_fetches_each_months_unit_rows_once_with_the_same_statuses(db):
    """Inside a batch the unit rows are fetched month by month and shared between
    ranges (a page's contexts span different ones): every range's statuses are those
    computed alone, whatever order the ranges come in."""
    delete_unit(db, VILLAGE, SEP, ("report",))
    delete_unit(db, OTHER, OCT, ABSENT)
    ranges = [(OCT, OCT), (date(2026, 5, 1), OCT), (SEP, NOV), (date(2025, 11, 1), SEP)]
    alone = [frame_of(db, start, end) for start, end in ranges]
    con = connect(db)
    try:
        with batch():
            shared = [completeness(con, start, end) for start, end in ranges]
            again = completeness(con, SEP, OCT)
    finally:
        con.close()
    for one, other in zip(alone, shared, strict=True):
        assert one.equals(other)
    assert again.equals(frame_of(db, SEP, OCT))


def test_a_month_nobody_has_reported_is_not_due(db):
    frame = frame_of(db, SEP, NOV)  # nobody has uploaded November
    assert set(frame["month"]) == {SEP, OCT}
    delete_unit(db, None, OCT, ("activity", "attendance", "report"))  # every village
    assert set(frame_of(db, SEP, NOV)["month"]) == {SEP}
    assert frame_of(db, OCT, NOV).is_empty()


# ------------------------------------------------------------------ 零报告


def test_zero_report_declared_refused_and_withdrawn(db, clock):
    delete_unit(db, VILLAGE, OCT, ABSENT)
    con = connect(db)
    try:
        version = data_version(con)
        unit = declare_zero_report(con, VILLAGE, OCT, ["attendance", "activity"], "office", "停电")
        assert unit.kinds == ("activity", "attendance")
        assert data_version(con) == version + 1
        shown = completeness(con, OCT, OCT, VILLAGE)
        zero = shown.filter(pl.col("kind").is_in(ABSENT))
        assert zero["status"].to_list() == [ZERO, ZERO]
        assert zero["declared_by"].to_list() == ["office", "office"]
        assert shown.filter(pl.col("kind") == "report")["status"].item() == REPORTED
        logged = con.execute("SELECT detail FROM audit_log WHERE action = 'zero_report'").fetchall()
        assert len(logged) == 1 and "活动、出勤" in logged[0][0]

        before = con.execute("SELECT * FROM zero_report ORDER BY kind").fetchall()
        version = data_version(con)
        refusals = [
            (["report"], "已有数据"),  # its reports were uploaded
            (["activity"], "已声明过"),
            (["report", "attendance"], "已有数据"),  # all or nothing
            (["bogus"], "数据类别"),
            ([], "未选择"),
        ]
        for kinds, reason in refusals:
            with pytest.raises(ZeroReportRefused, match=reason):
                declare_zero_report(con, VILLAGE, OCT, kinds, "office")
        with pytest.raises(ZeroReportRefused, match="没有编号为 XX99 的村居"):
            declare_zero_report(con, "XX99", OCT, ["activity"], "office")
        with pytest.raises(ZeroReportRefused, match="尚未到来"):
            declare_zero_report(con, VILLAGE, date(2026, 12, 1), ["activity"], "office")
        with pytest.raises(ZeroReportRefused, match="没有零报告声明"):
            withdraw_zero_report(con, VILLAGE, OCT, ["activity", "report"], "office")
        assert con.execute("SELECT * FROM zero_report ORDER BY kind").fetchall() == before
        assert data_version(con) == version

        withdraw_zero_report(con, VILLAGE, OCT, ["attendance"], "office")
        after = completeness(con, OCT, OCT, VILLAGE).filter(pl.col("kind").is_in(ABSENT))
        assert after["status"].to_list() == [ZERO, UNREPORTED]
    finally:
        con.close()


def test_a_zero_report_makes_its_month_due_for_everyone(db, clock):
    clock("2026-12-03 10:00")
    con = connect(db)
    try:
        declare_zero_report(con, VILLAGE, NOV, ["report"], "office")
        frame = completeness(con, OCT, NOV)
    finally:
        con.close()
    november = frame.filter(pl.col("month") == NOV)
    assert november.filter(pl.col("status") == ZERO).select("village_id", "kind").rows() == [
        (VILLAGE, "report")
    ]
    assert set(november.filter(pl.col("village_id") != VILLAGE)["status"]) == {UNREPORTED}


# ------------------------------------------------------------------ 迟报 and undo


@pytest.mark.slow
def test_late_when_first_uploaded_after_the_deadline_day(empty_db, sample_dir, clock):
    clock("2026-10-11 00:00")  # the day after the default deadline (10th of the next month)
    load(empty_db, sources(month_files(sample_dir, "2026-09")), user="office")
    frame = frame_of(empty_db, SEP, SEP)
    assert set(frame["status"]) == {LATE}
    assert set(frame["first_upload_at"]) == {datetime(2026, 10, 11)}
    assert set(frame["uploaded_by"]) == {"office"}
    longer = replace(default_config(), completeness=CompletenessConfig(deadline_day=11))
    assert set(frame_of(empty_db, SEP, SEP, config=longer)["status"]) == {REPORTED}


@pytest.mark.slow
def test_on_time_until_the_end_of_the_deadline_day(empty_db, sample_dir, clock):
    clock("2026-10-10 23:59")
    load(empty_db, sources(month_files(sample_dir, "2026-09")), user="office")
    frame = frame_of(empty_db, SEP, SEP)
    assert set(frame["status"]) == {REPORTED}
    # A later correction of the same month does not make it late: the first upload counts.
    clock("2026-10-25 08:00")
    activities = read_text(sample_dir / "2026-09" / "activity.csv")
    corrected = activities.with_columns(pl.col("活动主题") + "（更正）")
    load(empty_db, [("activity.csv", to_csv_bytes(corrected))], user="office")
    assert query(empty_db, "SELECT count(*) FROM activity WHERE topic LIKE '%（更正）'")[0][0]
    assert set(frame_of(empty_db, SEP, SEP)["status"]) == {REPORTED}


@pytest.mark.slow
def test_an_undone_batch_stops_counting(empty_db, sample_dir, clock):
    files = sources(month_files(sample_dir, "2026-09"))
    clock("2026-10-20 09:00")
    load(empty_db, files, user="late_clerk")
    assert set(frame_of(empty_db, SEP, SEP)["status"]) == {LATE}
    undo(empty_db, last_batch(empty_db))
    assert frame_of(empty_db, SEP, SEP).is_empty()  # no rows left: the month is not due
    clock("2026-10-05 09:00")  # (a clock set back: what matters is the live batch)
    load(empty_db, files, user="office")
    frame = frame_of(empty_db, SEP, SEP)
    assert set(frame["status"]) == {REPORTED}
    assert set(frame["first_upload_at"]) == {datetime(2026, 10, 5, 9)}
    assert set(frame["uploaded_by"]) == {"office"}


def test_a_dry_run_records_no_units(empty_db, sample_dir):
    load(empty_db, sources(month_files(sample_dir, "2026-09")), dry_run=True)
    assert query(empty_db, "SELECT count(*) FROM upload_unit")[0][0] == 0


# ------------------------------------------------------------------ older databases


@pytest.mark.slow
def test_a_database_from_before_the_record_gets_it_derived(empty_db, sample_dir, clock):
    for month, stamp in (("2026-08", "2026-09-04 10:00"), ("2026-09", "2026-10-16 10:00")):
        clock(stamp)
        load(empty_db, sources(month_files(sample_dir, month)), user="office")
    recorded = sorted(query(empty_db, "SELECT * FROM upload_unit"))
    assert {r[3] for r in recorded} == {"activity", "attendance", "report"}
    expected = frame_of(empty_db, date(2026, 8, 1), SEP)
    assert set(expected.filter(pl.col("month") == SEP)["status"]) == {LATE}

    con = connect(empty_db)  # as a database of schema version 3 was
    con.execute("DROP TABLE upload_unit")
    con.execute("DROP TABLE zero_report")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    old = frame_of(empty_db, date(2026, 8, 1), SEP)  # read as it is: all on time
    assert old.height == expected.height
    assert set(old.filter(pl.col("rows") > 0)["status"]) == {REPORTED}
    assert old["first_upload_at"].null_count() == old.height

    con = connect(empty_db)
    try:
        upload_history(con)  # any load, undo or history migrates
    finally:
        con.close()
    assert sorted(query(empty_db, "SELECT * FROM upload_unit")) == recorded
    version = query(empty_db, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert version == [(SCHEMA_VERSION,)]
    assert frame_of(empty_db, date(2026, 8, 1), SEP).equals(expected)


# ------------------------------------------------------------------ CLIs and config


def test_metrics_cli_prints_the_documented_fields(db, capsys):
    delete_unit(db, VILLAGE, OCT, ABSENT)
    common = ["completeness", "--db", str(db), "--from", "2026-09", "--to", "2026-10"]
    assert metrics_main([*common, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "village_id,month,kind,status,first_upload_at"
    assert f"{VILLAGE},2026-10,activity,{UNREPORTED}," in lines
    assert metrics_main([*common, "--village", VILLAGE]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 * 3
    assert all(
        list(r) == ["village_id", "month", "kind", "status", "first_upload_at"] for r in rows
    )
    assert {r["status"] for r in rows} <= set(STATUSES)
    assert [r["status"] for r in rows if r["month"] == "2026-10"] == [
        UNREPORTED,
        UNREPORTED,
        REPORTED,
    ]


def test_etl_cli_declares_and_withdraws_a_zero_report(db, capsys, clock):
    delete_unit(db, VILLAGE, OCT, ABSENT)
    base = ["zero-report", "--db", str(db), "--village", VILLAGE, "--month", "2026-10"]
    assert etl_main([*base, "--kind", "activity", "--kind", "attendance", "--user", "cli"]) == 0
    assert "已声明零报告" in capsys.readouterr().out
    assert etl_main([*base, "--kind", "activity"]) == 1
    assert "已声明过零报告" in capsys.readouterr().err
    assert etl_main([*base, "--kind", "report"]) == 1
    assert "已有数据" in capsys.readouterr().err
    assert set(statuses(db, OCT, OCT, VILLAGE).values()) == {ZERO, REPORTED}
    assert etl_main([*base, "--kind", "activity", "--undo"]) == 0
    assert "已撤销零报告" in capsys.readouterr().out
    assert statuses(db, OCT, OCT, VILLAGE)[(VILLAGE, OCT, "activity")] == UNREPORTED
    with pytest.raises(SystemExit) as usage:
        etl_main([*base, "--kind", "bogus"])
    assert usage.value.code == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("deadline_day = 29\n", "应不大于 28"),
        ("deadline_day = 0\n", "应不小于 1"),
        ("deadline_day = 10\nlate = 1\n", "未知的配置项"),
    ],
)
def test_the_deadline_day_is_checked(tmp_path, text, reason):
    shutil.copytree(CONFIG_DIR, tmp_path / "config")
    (tmp_path / "config" / "completeness.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"completeness\.toml.*{reason}"):
        load_config(tmp_path / "config")
