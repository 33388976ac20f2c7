"""Reading office files: encodings, title rows, empties, aliases, workbooks, row numbers."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from etl.prescan import ReadError
from etl.raw_table import ROW
from etl.reader import read_upload
from tests.support.loading import to_csv_bytes, xlsx_bytes

HEADER = ["活动编号", "人员编号", "出勤状态", "参与方式", "签到时间"]
ROWS = [
    ["HD1", "CJ01-P0001", "出席", "现场", "2026-10-05 09:01:00"],
    ["HD1", "CJ01-P0002", "请假", None, None],
]


def frame() -> pl.DataFrame:
    return pl.DataFrame(ROWS, schema=HEADER, orient="row")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_encodings_are_detected(encoding):
    data = to_csv_bytes(frame(), encoding="utf-8-sig" if encoding == "utf-8-sig" else "utf-8")
    if encoding not in ("utf-8", "utf-8-sig"):
        data = data.decode("utf-8").encode(encoding)
    (table,) = read_upload("签到.csv", data)
    assert table.kind.name == "attendance"
    assert table.frame["status"].to_list() == ["出席", "请假"]
    assert table.frame["person_id"].to_list() == ["CJ01-P0001", "CJ01-P0002"]
    assert not table.problems


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_old_mac_line_endings_cr_only(encoding):
    lines = to_csv_bytes(frame()).decode("utf-8").splitlines()
    data = "\r".join([*lines, ""]).encode(encoding)
    (table,) = read_upload("签到.csv", data)
    assert table.frame["person_id"].to_list() == ["CJ01-P0001", "CJ01-P0002"]
    assert table.frame[ROW].to_list() == [2, 3]
    assert not table.problems


def test_title_rows_and_blank_rows_keep_excel_row_numbers():
    title = "漕泾镇2026年10月签到记录"
    body = to_csv_bytes(frame(), title=title).decode()
    lines = body.split("\r\n")
    # title (row 1), a blank row 2, header row 3, data row 4, empty row 5, data row 6,
    # then the trailing empty rows Excel leaves behind.
    text = "\r\n".join([lines[0], ",,,,", lines[1], lines[2], ",,,,", lines[3], ",,,,", ",,,,", ""])
    (table,) = read_upload("签到.csv", text.encode("gbk"))
    assert table.header_row == 3
    assert table.frame[ROW].to_list() == [4, 6]
    assert table.frame["activity_id"].to_list() == ["HD1", "HD1"]


def test_english_aliases_any_order_spaces_and_extra_columns():
    text = (
        " status ,备注, Person_ID ,activity_id,signed_at,,\n"
        " 出席 ,自带,  CJ01-P0001 , HD1 ,2026-10-05 09:01,,\n"
    )
    (table,) = read_upload("x.csv", text.encode())
    assert table.kind.name == "attendance"
    assert table.headers == {
        "status": "status",
        "person_id": "Person_ID",
        "activity_id": "activity_id",
        "signed_at": "signed_at",
    }
    assert table.extra_headers == ["备注"]  # the empty trailing columns are dropped silently
    row = table.frame.row(0, named=True)
    assert (row["status"], row["person_id"], row["activity_id"]) == ("出席", "CJ01-P0001", "HD1")
    assert row[ROW] == 2


def test_missing_required_column_and_unknown_header_are_problems():
    (table,) = read_upload("x.csv", "活动编号,人员编号\nHD1,CJ01-P0001\n".encode())
    assert table.kind.name == "attendance"
    assert table.missing_columns == ["status"]
    assert [(p.row, p.column, p.reason) for p in table.problems] == [(1, "出勤状态", "缺少必填列")]
    (table,) = read_upload("x.csv", "编号,名字\n1,2\n".encode())
    assert table.kind is None
    assert table.problems[0].reason.startswith("未找到可识别的表头行")


def test_unquoted_comma_is_reported_on_its_row():
    text = (
        "活动编号,人员编号,出勤状态\n"
        "HD1,CJ01-P0001,出席\n"
        "HD1,CJ01-P0002,请假,多出来的\n"
        "HD1,CJ01-P0003,出席,,\n"
    )
    (table,) = read_upload("x.csv", text.encode())
    assert [(p.row, p.reason[:10]) for p in table.problems] == [(3, "该行的单元格多于表头")]
    assert table.frame.height == 3


def test_not_a_spreadsheet_is_refused():
    with pytest.raises(ReadError):
        read_upload("x.csv", b"")
    with pytest.raises(ReadError):
        read_upload("x.xlsx", b"PK\x03\x04not really a zip")
    with pytest.raises(ReadError):
        read_upload("x.csv", b"\x00\x01\x02binary\x00")


def test_workbook_sheets_found_by_header_with_real_cells():
    book = xlsx_bytes(
        {
            "说明": [["请按模板填写"], ["每月10日前上传"]],
            "签到": [
                ["漕泾镇2026年10月签到记录"],
                [],
                HEADER,
                ["HD1", "CJ01-P0001", "出席", "现场", datetime(2026, 10, 5, 9, 1, 30)],
                [],
                ["HD2", "CJ01-P0002", "请假", None, None],
            ],
            "活动": [
                ["活动编号", "活动日期", "村居编号", "活动类型", "时长分钟"],
                ["HD1", date(2026, 10, 5), "CJ01", "学习教育", 90],
            ],
        }
    )
    tables = read_upload("十月.xlsx", book)
    assert [(t.sheet, t.kind.name, t.header_row) for t in tables] == [
        ("签到", "attendance", 3),
        ("活动", "activity", 1),
    ]
    sign_ins, activities = tables
    assert sign_ins.label == "十月.xlsx / 签到"
    assert sign_ins.frame[ROW].to_list() == [4, 6]
    assert sign_ins.frame["signed_at"][0] == "2026-10-05 09:01:30"
    assert activities.frame["activity_date"][0].startswith("2026-10-05")
    assert activities.frame["duration_min"][0] == "90"


def test_workbook_without_a_known_header():
    (table,) = read_upload("x.xlsx", xlsx_bytes({"Sheet1": [["a", "b"], [1, 2]]}))
    assert table.kind is None
    assert table.problems[0].reason.startswith("工作簿中没有可识别表头的工作表")
