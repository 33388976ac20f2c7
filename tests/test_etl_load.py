"""Loading real-looking monthly files: re-uploads update by key or do nothing, uploads are
transactions over several files, undo is exact (quirky files: test_etl_quirky_files)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from etl.load import (
    UndoRefused,
    UploadRejected,
    upload_history,
    validate_uploads,
)
from store import audit
from store.database import connect
from tests.support.loading import (
    content_hashes,
    copy_db,
    data_hashes,
    last_batch,
    load,
    month_files,
    query,
    read_text,
    registry_database,
    rollup_hashes,
    sources,
    to_csv_bytes,
    undo,
)

LAST = "2026-10"  # the sample's newest month: its batch can be undone and loaded again


@pytest.fixture
def db(sample_db, tmp_path):
    return copy_db(sample_db, tmp_path / "g.duckdb")


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory) -> Path:
    """A database with the registry only (no months), built once per module."""
    return registry_database(tmp_path_factory)


@pytest.fixture
def empty_db(registry_db, tmp_path):
    return copy_db(registry_db, tmp_path / "r.duckdb")


# ------------------------------------------------- office spellings of times


def test_times_without_seconds_and_evaluation_spellings(empty_db):
    report = (
        "事项编号,子网格编号,上报人编号,事项类别,事项摘要,上报时间,受理时间,核实时间,反馈时间,"
        "办结时间,办理层级,办理状态,满意度\n"
        "MQ-1,CJ01-01,CJ01-P0004,社情民意,路灯,2026/10/5 9:05,2026年10月5日10时30分,"
        "２０２６－１０－０５　１１：００,,2026-10-06T08:00,子网格,已办结,５\n"
    )
    evaluation = (
        "测评期间,对象编号,指数,测评类型,得分\n2026年上半年,CJ01-01,堡垒指数,自评,９５．５\n"
    )
    load(empty_db, [("r.csv", report.encode()), ("e.csv", evaluation.encode("gbk"))])
    assert query(
        empty_db,
        "SELECT reported_at, accepted_at, verified_at, resolved_at, satisfaction FROM report",
    ) == [
        (
            datetime(2026, 10, 5, 9, 5),
            datetime(2026, 10, 5, 10, 30),
            datetime(2026, 10, 5, 11, 0),
            datetime(2026, 10, 6, 8, 0),
            5,
        )
    ]
    assert query(empty_db, "SELECT period, unit_id, score FROM evaluation") == [
        ("2026H1", "CJ01-01", 95.5)
    ]


# -------------------------------------------------------- re-uploads, no-ops


def test_identical_file_again_is_a_noop(db, sample_dir):
    before = content_hashes(db)
    result = load(db, sources(month_files(sample_dir, LAST)))
    assert result.records == []
    assert all(f.duplicate_of is not None for f in result.validation.files)
    assert content_hashes(db) == before


def test_corrected_reupload_updates_by_key_and_undo_restores(db, sample_db, sample_dir):
    activity = read_text(sample_dir / LAST / "activity.csv")
    first = activity["活动编号"][0]
    fixed = activity.with_columns(
        pl.when(pl.col("活动编号") == first)
        .then(pl.lit("更正后的主题"))
        .otherwise(pl.col("活动主题"))
        .alias("活动主题")
    )
    result = load(db, [("activity_v2.csv", to_csv_bytes(fixed))])
    (record,) = result.records
    assert (record.rows_inserted, record.rows_updated, record.rows_unchanged) == (
        0,
        1,
        activity.height - 1,
    )
    (warning,) = result.validation.warnings.iter_rows(named=True)
    assert warning["值"] == f"{activity.height - 1} 行"
    assert warning["原因"].startswith("与数据库中已有的数据完全相同")
    assert query(db, "SELECT topic FROM activity WHERE activity_id = ?", [first]) == [
        ("更正后的主题",)
    ]
    assert (
        query(db, "SELECT count(*) FROM activity")[0][0]
        == query(sample_db, "SELECT count(*) FROM activity")[0][0]
    )
    undo(db, record.upload_id)
    assert data_hashes(db) == data_hashes(sample_db)


def test_reports_latest_state_wins(empty_db, sample_dir):
    sep, octo = (sample_dir / m / "report.csv" for m in ("2026-09", LAST))
    # The 例会编号 refer to the months' activities, not loaded here: left out.
    octo_bytes, sep_bytes = (to_csv_bytes(read_text(p).drop("例会编号")) for p in (octo, sep))
    # One upload holding both months, newest first: per report the latest state wins.
    load(empty_db, [("oct.csv", octo_bytes), ("sep.csv", sep_bytes)])
    latest = read_text(octo).select("事项编号", "办理状态")
    stored = dict(query(empty_db, "SELECT report_id, status FROM report"))
    assert all(stored[i] == s for i, s in latest.iter_rows())
    moved = set(read_text(sep)["事项编号"]) & set(latest["事项编号"])
    assert moved, "the sample should carry open reports from September into October"
    assert len(stored) == len(set(read_text(sep)["事项编号"]) | set(latest["事项编号"]))

    # A later upload of the older state wins too, with a warning per report moved back.
    # A BOM: other bytes, same content.
    sep_again = to_csv_bytes(read_text(sep).drop("例会编号"), encoding="utf-8-sig")
    result = load(empty_db, [("sep-again.csv", sep_again)])
    back = result.validation.warnings.filter(
        pl.col("原因").str.starts_with("数据库中该事项已有更晚的进展")
    )
    assert back.height > 0
    assert set(back["值"]) <= {"待受理", "处理中", "不予受理"}
    row = back.row(0, named=True)
    report_id = read_text(sep)["事项编号"][row["行号"] - 2]
    assert query(empty_db, "SELECT status FROM report WHERE report_id = ?", [report_id]) == [
        (row["值"],)
    ]


def test_files_of_one_upload_refer_to_each_other(empty_db):
    activity = (
        "活动编号,活动日期,村居编号,子网格编号,活动类型,活动主题,活动地点编号,组织人编号,时长分钟\n"
        "HD-NEW-1,2026-10-05,CJ01,CJ01-01,学习教育,党史,CJ01-S,CJ01-P0004,90\n"
    )
    attendance = (
        "活动编号,人员编号,出勤状态,参与方式,签到时间\n"
        "HD-NEW-1,CJ01-P0005,出席,现场,2026-10-05 14:02\n"
    )
    with pytest.raises(UploadRejected):
        load(empty_db, [("签到.csv", attendance.encode())])
    result = load(empty_db, [("签到.csv", attendance.encode()), ("活动.csv", activity.encode())])
    assert [r.kind for r in result.records] == ["attendance", "activity"]
    assert len({r.batch_id for r in result.records}) == 1
    assert query(empty_db, "SELECT count(*) FROM attendance")[0][0] == 1


def test_dry_run_reports_counts_and_writes_nothing(db, sample_dir):
    undo(db, last_batch(db))
    before = content_hashes(db)
    result = load(db, sources(month_files(sample_dir, LAST)), dry_run=True)
    assert sum(r.rows_inserted + r.rows_updated for r in result.records) == sum(
        read_text(p).height for p in month_files(sample_dir, LAST)
    )
    assert content_hashes(db) == before


def test_validation_preview_without_writing(db, sample_dir):
    before = content_hashes(db)
    con = connect(db)
    try:
        result = validate_uploads(
            con, [("a.csv", (sample_dir / "2026-09" / "activity.csv").read_bytes() + b"\n")]
        )
    finally:
        con.close()
    assert result.ok and content_hashes(db) == before
    (summary,) = result.files
    assert (summary.kind, summary.kind_label, summary.header_row) == ("activity", "活动台账", 1)
    assert summary.preview.columns[:3] == ["行号", "活动编号", "活动日期"]
    assert summary.preview.height == 20 and summary.preview["行号"][0] == 2


# ------------------------------------------------------------------- undo


def test_undo_restores_exactly_the_state_before(empty_db, sample_dir):
    base = data_hashes(empty_db)
    a = load(empty_db, sources(month_files(sample_dir, "2025-09")))
    after_a = data_hashes(empty_db), rollup_hashes(empty_db)
    b = load(empty_db, sources(month_files(sample_dir, "2025-10")))
    assert any(r.rows_updated for r in b.records), "October should update September's reports"
    done = undo(empty_db, b.records[-1].upload_id)  # any upload id of the batch
    assert done.batch_id == b.batch_id and sum(done.restored.values()) > 0
    assert (data_hashes(empty_db), rollup_hashes(empty_db)) == after_a
    undo(empty_db, a.batch_id)
    assert data_hashes(empty_db) == base
    con = connect(empty_db)
    try:
        history = upload_history(con)
    finally:
        con.close()
    mine = history.filter(pl.col("批次").is_in([a.batch_id, b.batch_id]))
    assert mine.height == len(a.records) + len(b.records)
    assert set(mine["状态"]) == {"已撤销"} and set(mine["撤销人"]) == {"tester"}
    assert set(history.filter(pl.col("用户") == "init")["状态"]) == {"已载入"}
    # Each upload and undo is in the audit log, written in its own transaction.
    con = connect(empty_db)
    try:
        log = audit.entries(con)
    finally:
        con.close()
    mine = log.filter(pl.col("用户") == "tester")
    assert mine["操作"].to_list().count("上传") == 2
    assert mine["操作"].to_list().count("撤销上传") == 2
    assert any(f"批次 {b.batch_id}" in d for d in mine["内容"])


def test_undo_refused_when_a_later_upload_changed_the_rows(empty_db, sample_dir):
    a = load(empty_db, sources(month_files(sample_dir, "2025-09")))
    b = load(empty_db, sources(month_files(sample_dir, "2025-10")))
    before = content_hashes(empty_db)
    with pytest.raises(UndoRefused) as refused:
        undo(empty_db, a.batch_id)
    message = str(refused.value)
    assert f"第 {b.batch_id} 次" in message and "请按从新到旧的顺序撤销" in message
    assert content_hashes(empty_db) == before
    undo(empty_db, b.batch_id)
    undo(empty_db, a.batch_id)  # newest first works


def test_undo_refused_while_other_uploads_refer_to_its_ids(empty_db, sample_dir):
    a = load(empty_db, sources([sample_dir / "2025-09" / "activity.csv"]))
    b = load(empty_db, sources([sample_dir / "2025-09" / "attendance.csv"]))
    before = content_hashes(empty_db)
    with pytest.raises(UndoRefused) as refused:
        undo(empty_db, a.batch_id)
    assert "签到记录中还有" in str(refused.value) and f"第 {b.batch_id} 次" in str(refused.value)
    assert content_hashes(empty_db) == before


def test_undo_of_a_boundary_upload_is_refused(db):
    """init records the shipped map boundaries in ``upload``; they keep no prior rows, so
    undo must refuse them rather than mark them undone and change nothing."""
    (boundary,) = query(db, "SELECT upload_id FROM upload WHERE kind = 'boundary'")[0]
    before = content_hashes(db)
    with pytest.raises(UndoRefused, match="地图边界文件"):
        undo(db, boundary)
    assert content_hashes(db) == before


def test_new_rows_next_to_stored_ones_insert_without_comparison(empty_db, sample_dir):
    """A month whose keys are all new goes in whole; a later file repeating some stored
    rows unchanged and changing others is split exactly (the semi-join on keys)."""
    september, october = sample_dir / "2025-09", sample_dir / "2025-10"
    load(empty_db, sources([september / "activity.csv", september / "attendance.csv"]))
    month = load(empty_db, sources([october / "activity.csv", october / "attendance.csv"]))
    new = read_text(october / "attendance.csv").height
    assert [(r.kind, r.rows_inserted, r.rows_updated, r.rows_unchanged) for r in month.records][
        1
    ] == ("attendance", new, 0, 0)
    attendance = read_text(september / "attendance.csv")
    stored = attendance.height + new
    changed = attendance.head(3).with_columns(pl.lit("请假").alias("出勤状态"))
    mixed = pl.concat([changed, attendance.slice(3, 5)])  # 3 changed, 5 unchanged
    result = load(empty_db, [("混合.csv", to_csv_bytes(mixed))])
    (record,) = result.records
    assert (record.rows_inserted, record.rows_updated, record.rows_unchanged) == (0, 3, 5)
    assert query(empty_db, "SELECT count(*) FROM attendance")[0][0] == stored
    leave = pl.concat([changed, attendance.slice(3), read_text(october / "attendance.csv")])
    assert query(empty_db, "SELECT count(*) FROM attendance WHERE status = '请假'")[0][0] == (
        leave.filter(pl.col("出勤状态") == "请假").height
    )


def test_undo_unknown_or_twice(empty_db, sample_dir):
    with pytest.raises(UndoRefused, match="没有编号为 999 的上传记录"):
        undo(empty_db, 999)
    # The 例会编号 refer to the month's activities, not loaded here: left out.
    month = read_text(sample_dir / "2025-09" / "report.csv").drop("例会编号")
    reports = [("report.csv", to_csv_bytes(month))]
    a = load(empty_db, reports)
    undo(empty_db, a.batch_id)
    with pytest.raises(UndoRefused, match="已经撤销过了"):
        undo(empty_db, a.batch_id)
    # undone content can be loaded again (the hash no longer counts as loaded)
    again = load(empty_db, reports)
    assert again.records and again.records[0].rows_inserted > 0
