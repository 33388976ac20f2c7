"""Loading real-looking monthly files: quirks load the right values, re-uploads update by
key or do nothing, uploads are transactions over several files, undo is exact."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from etl.init_db import init_database
from etl.load import (
    UndoRefused,
    UploadRejected,
    load_uploads,
    undo_upload,
    upload_history,
    validate_uploads,
)
from store import audit
from store.contracts import KINDS
from store.database import connect
from tests.etl_support import (
    FULL_WIDTH,
    content_hashes,
    copy_db,
    data_hashes,
    map_column,
    month_files,
    read_text,
    rollup_hashes,
    sources,
    to_csv_bytes,
    xlsx_bytes,
)

LAST = "2026-10"  # the sample's newest month: its batch can be undone and loaded again
LABELS = {k.name: k.label for k in KINDS.values()}


@pytest.fixture
def db(sample_db, tmp_path):
    return copy_db(sample_db, tmp_path / "g.duckdb")


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory) -> Path:
    """A database with the registry only (no months), built once per module."""
    path = tmp_path_factory.mktemp("registry") / "r.duckdb"
    init_database(path, sample=False)
    return path


@pytest.fixture
def empty_db(registry_db, tmp_path):
    return copy_db(registry_db, tmp_path / "r.duckdb")


def load(db: Path, files, user="tester", **options):
    con = connect(db)
    try:
        return load_uploads(con, files, user, **options)
    finally:
        con.close()


def undo(db: Path, upload_id: int, user="tester"):
    con = connect(db)
    try:
        return undo_upload(con, upload_id, user)
    finally:
        con.close()


def last_batch(db: Path) -> int:
    con = connect(db)
    try:
        # The newest data batch (init also records the shipped map boundaries, which
        # are not loader data and cannot be undone here).
        return con.execute(
            "SELECT max(batch_id) FROM upload WHERE status = 'loaded' AND kind <> 'boundary'"
        ).fetchall()[0][0]
    finally:
        con.close()


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = connect(db)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ----------------------------------------------------------------- quirks


def frames(sample_dir) -> dict[str, pl.DataFrame]:
    return {p.stem: read_text(p) for p in month_files(sample_dir, LAST)}


def excel_serial(text: str) -> str:
    return str((date.fromisoformat(text) - date(1899, 12, 30)).days)


def spell_dates(text: str) -> str:
    """One of four office spellings of a date, chosen by the day (all four occur)."""
    d = date.fromisoformat(text)
    return [
        f"{d.year}年{d.month}月{d.day}日",
        f"{d.year}/{d.month}/{d.day}",
        f"{d.year}.{d.month:02d}.{d.day:02d}",
        excel_serial(text),
    ][d.day % 4]


def spell_timestamps(text: str) -> str:
    t = datetime.fromisoformat(text)
    return [
        f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}",
        t.strftime("%Y-%m-%dT%H:%M:%S"),
        f"{t.year}年{t.month}月{t.day}日 {t:%H:%M:%S}",
    ][t.day % 3]


def variant_gbk_title_rows(f):
    return [
        (f"{k}.csv", to_csv_bytes(v, "gbk", title=f"漕泾镇2026年10月{LABELS[k]}"))
        for k, v in f.items()
    ]


def variant_bom_trailing_empties(f):
    out = []
    for k, v in f.items():
        lines = v.write_csv(null_value="").splitlines()
        text = "\r\n".join(line + ",," for line in lines) + "\r\n" + ",,,,,\r\n" * 3
        out.append((f"{k}.csv", b"\xef\xbb\xbf" + text.encode()))
    return out


def variant_aliases_order_spaces(f):
    out = []
    for k, v in f.items():
        kind = KINDS[k]
        english = {c.header: c.name for c in kind.columns[::2]}  # every other column
        v = v.select(v.columns[::-1]).rename(english)
        v = v.with_columns(
            pl.col(c).map_elements(lambda s: f" {s}\u3000", return_dtype=pl.String)
            for c in v.columns
        )
        out.append((f"{k}.csv", to_csv_bytes(v)))
    return out


def variant_date_spellings(f):
    out = []
    for k, v in f.items():
        for c in KINDS[k].columns:
            if c.dtype == "date":
                v = map_column(v, c.header, spell_dates)
            elif c.dtype == "timestamp":
                v = map_column(v, c.header, spell_timestamps)
        out.append((f"{k}.csv", to_csv_bytes(v)))
    return out


def variant_full_width(f):
    out = []
    for k, v in f.items():
        for c in KINDS[k].columns:
            if c.name.endswith("_id") or c.dtype in ("int", "float", "timestamp", "date"):
                v = map_column(v, c.header, lambda s: s.translate(FULL_WIDTH))
        out.append((f"{k}.csv", to_csv_bytes(v)))
    return out


def variant_workbook(f):
    """One workbook, a sheet per kind, real date/time/number cells, title rows, notes."""
    sheets: dict[str, list[list]] = {"说明": [["各村居每月10日前上传"]]}
    for k, v in f.items():
        kind = KINDS[k]
        rows: list[list] = [[f"漕泾镇2026年10月{kind.label}"], v.columns]
        for record in v.iter_rows():
            cells = []
            for c, value in zip(kind.columns, record, strict=True):
                if value is None:
                    cells.append(None)
                elif c.dtype == "date":
                    cells.append(date.fromisoformat(value))
                elif c.dtype == "timestamp":
                    cells.append(datetime.fromisoformat(value))
                elif c.dtype in ("int", "float"):
                    cells.append(float(value))
                else:
                    cells.append(value)
            rows.append(cells)
        sheets[kind.label] = rows
    return [("2026年10月台账.xlsx", xlsx_bytes(sheets))]


VARIANTS = {
    "gbk+title": variant_gbk_title_rows,
    "bom+trailing-empties": variant_bom_trailing_empties,
    "aliases+order+spaces": variant_aliases_order_spaces,
    "date-spellings+serials": variant_date_spellings,
    "full-width": variant_full_width,
    "xlsx": variant_workbook,
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_quirky_files_load_the_same_values_as_canonical_ones(variant, db, sample_db, sample_dir):
    expected = data_hashes(sample_db)
    undo(db, last_batch(db))
    assert data_hashes(db) != expected
    month = frames(sample_dir)
    result = load(db, VARIANTS[variant](month))
    assert result.validation.warnings.is_empty(), result.validation.warnings
    written = sum(r.rows_inserted + r.rows_updated for r in result.records)
    assert written == sum(f.height for f in month.values())
    assert data_hashes(db) == expected


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
    # One upload holding both months, newest first: per report the latest state wins.
    load(empty_db, [("oct.csv", octo.read_bytes()), ("sep.csv", sep.read_bytes())])
    latest = read_text(octo).select("事项编号", "办理状态")
    stored = dict(query(empty_db, "SELECT report_id, status FROM report"))
    assert all(stored[i] == s for i, s in latest.iter_rows())
    moved = set(read_text(sep)["事项编号"]) & set(latest["事项编号"])
    assert moved, "the sample should carry open reports from September into October"
    assert len(stored) == len(set(read_text(sep)["事项编号"]) | set(latest["事项编号"]))

    # A later upload of the older state wins too, with a warning per report moved back.
    sep_again = to_csv_bytes(read_text(sep))  # CRLF: other bytes, same content
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
    a = load(empty_db, sources([sample_dir / "2025-09" / "report.csv"]))
    undo(empty_db, a.batch_id)
    with pytest.raises(UndoRefused, match="已经撤销过了"):
        undo(empty_db, a.batch_id)
    # undone content can be loaded again (the hash no longer counts as loaded)
    again = load(empty_db, sources([sample_dir / "2025-09" / "report.csv"]))
    assert again.records and again.records[0].rows_inserted > 0
