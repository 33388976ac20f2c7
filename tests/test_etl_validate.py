"""Error corpus: each error class gives its exact message on the Excel row, and a
rejected upload leaves every table of the database unchanged (content hashes)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from etl.load import UploadRejected, load_uploads, today_local
from store.contracts import ACTIVITY_TYPES
from store.database import connect
from tests.support.loading import content_hashes, copy_db, xlsx_bytes

ACTIVITY_HEADER = (
    "活动编号,活动日期,村居编号,子网格编号,活动类型,活动主题,活动地点编号,组织人编号,时长分钟"
)
ATTENDANCE_HEADER = "活动编号,人员编号,出勤状态,参与方式,签到时间"
REPORT_HEADER = (
    "事项编号,子网格编号,上报人编号,事项类别,事项摘要,上报时间,受理时间,核实时间,反馈时间,"
    "办结时间,办理层级,办理状态,满意度"
)
P1, P2 = "CJ01-P0004", "CJ01-P0005"  # people of sub-grid CJ01-01 in the shipped registry
OLD_ACTIVITY = "HD202610-CJ01-01-001"  # the first activity of a sub-grid in the last sample month


@pytest.fixture
def db(sample_db, tmp_path):
    return copy_db(sample_db, tmp_path / "g.duckdb")


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def rejected(db, files: list[tuple[str, bytes]]) -> set[tuple]:
    """Upload, expect rejection, check nothing changed; the errors as tuples."""
    before = content_hashes(db)
    con = connect(db)
    try:
        with pytest.raises(UploadRejected) as caught:
            load_uploads(con, files, "tester")
    finally:
        con.close()
    assert content_hashes(db) == before, "a rejected upload changed the database"
    errors = caught.value.result.errors
    assert errors.columns == ["文件", "行号", "列", "值", "原因"]
    return {tuple(r) for r in errors.iter_rows()}


def activity(*rows: str, title: bool = False) -> tuple[str, bytes]:
    lines = (["漕泾镇2026年11月活动台账,,,,,,,,"] if title else []) + [ACTIVITY_HEADER, *rows]
    return "活动.csv", csv(*lines)


def test_reference_and_consistency_errors(db):
    errors = rejected(
        db,
        [
            activity(
                "HDX-1,2026-11-02,CJ01,CJ01-99,主题党日,学习,CJ01-S,CJ01-P0004,90",
                "HDX-2,2026-11-02,CJ01,CJ02-01,主题党日,学习,CJ01-S,CJ01-P0004,90",
                "HDX-3,2026-11-02,CJ99,,网格工作例会,例会,CJ01-NOPE,NOBODY,90",
                title=True,
            )
        ],
    )
    # An unknown id's reason goes on with the valid ids (tests/test_upload_traps.py): the
    # first sentence is the reason proper.
    assert any(r[4].startswith("子网格编号不存在。建龙社区（CJ01）的子网格：") for r in errors)
    errors = {(*r[:4], r[4].split("。")[0]) for r in errors}
    assert errors == {
        ("活动.csv", 3, "子网格编号", "CJ01-99", "子网格编号不存在"),
        (
            "活动.csv",
            4,
            "子网格编号",
            "CJ02-01",
            "子网格 CJ02-01 属于村居 CJ02，与村居编号 CJ01 不符",
        ),
        ("活动.csv", 5, "村居编号", "CJ99", "村居编号不存在"),
        ("活动.csv", 5, "活动地点编号", "CJ01-NOPE", "活动地点编号不在党群服务站点名册中"),
        ("活动.csv", 5, "组织人编号", "NOBODY", "人员编号不在人员名册中"),
    }


def test_required_type_enum_range_and_date_errors(db):
    future = today_local() + timedelta(days=10)
    errors = rejected(
        db,
        [
            activity(
                "HDX-1,2026-11-02,CJ01,CJ01-01,,学习,CJ01-S,,90",
                "HDX-2,2026-11-02,CJ01,CJ01-01,开会,学习,CJ01-S,,90",
                "HDX-3,2026-11-02,CJ01,CJ01-01,主题党日,学习,CJ01-S,,0",
                "HDX-4,2026-11-02,CJ01,CJ01-01,主题党日,学习,CJ01-S,,九十",
                f"HDX-5,{future},CJ01,CJ01-01,主题党日,学习,CJ01-S,,90",
                "HDX-6,2026-13-01,CJ01,CJ01-01,主题党日,学习,CJ01-S,,90",
                "HDX-7,1999-12-31,CJ01,CJ01-01,主题党日,学习,CJ01-S,,90",
                "HDX-1,2026-11-03,CJ01,CJ01-01,主题党日,学习,CJ01-S,,90",
            )
        ],
    )
    assert errors == {
        ("活动.csv", 2, "活动类型", "", "必填项为空"),
        ("活动.csv", 3, "活动类型", "开会", "不在可选值之内：" + "、".join(ACTIVITY_TYPES)),
        ("活动.csv", 4, "时长分钟", "0", "时长应在 1–1440 分钟之间"),
        ("活动.csv", 5, "时长分钟", "九十", "应为整数"),
        ("活动.csv", 6, "活动日期", str(future), f"日期晚于今天（{today_local()}）"),
        (
            "活动.csv",
            7,
            "活动日期",
            "2026-13-01",
            "无法识别的日期，应为 2026-10-05、2026/10/5 或 2026年10月5日",
        ),
        ("活动.csv", 8, "活动日期", "1999-12-31", "日期早于 2000 年，请检查"),
        ("活动.csv", 9, "活动编号", "HDX-1", "活动编号重复：与第 2 行相同"),
    }


def test_attendance_references_and_duplicates(db):
    errors = rejected(
        db,
        [
            (
                "签到.csv",
                csv(
                    ATTENDANCE_HEADER,
                    f"HD-NOWHERE,{P1},出席,现场,2026-11-02 09:00:00",
                    f"{OLD_ACTIVITY},CJ01-P9999,出席,现场,2026-10-27 09:00:00",
                    f"{OLD_ACTIVITY},{P1},迟到,现场,",
                    f"{OLD_ACTIVITY},{P1},出席,现场,",
                ),
            )
        ],
    )
    assert errors == {
        (
            "签到.csv",
            2,
            "活动编号",
            "HD-NOWHERE",
            "活动编号不存在（数据库和本次上传中都没有这项活动）",
        ),
        ("签到.csv", 3, "人员编号", "CJ01-P9999", "人员编号不在人员名册中"),
        ("签到.csv", 4, "出勤状态", "迟到", "不在可选值之内：出席、请假、缺席"),
        (
            "签到.csv",
            5,
            "人员编号",
            f"{OLD_ACTIVITY} / {P1}",
            "活动编号、人员编号重复：与第 4 行相同",
        ),
    }


def test_report_lifecycle_and_status_errors(db):
    errors = rejected(
        db,
        [
            (
                "民情.csv",
                csv(
                    REPORT_HEADER,
                    f"MQ-1,CJ01-01,{P1},社情民意,路灯,2026-11-03 09:00,2026-11-03 08:00,"
                    ",,,子网格,处理中,",
                    f"MQ-2,CJ01-01,{P1},社情民意,路灯,2026-11-03 09:00,2026-11-03 10:00,"
                    "2026-11-03 11:00,,,子网格,已办结,5",
                    f"MQ-3,CJ01-01,{P1},社情民意,路灯,2026-11-03 09:00,2026-11-03 10:00,"
                    "2026-11-03 11:00,,2026-11-04 10:00,子网格,已办结,6",
                    f"MQ-4,CJ01-01,{P1},社情民意,路灯,2026-11-03,,,,,子网格,待受理,",
                    f"MQ-5,CJ01-01,{P1},社情民意,路灯,2026-11-03 09:00,2026-11-03 10:00,"
                    "2026-11-03 11:00,,,子网格,不予受理,",
                    f"MQ-6,CJ01-01,{P1},社情民意,路灯,2026-11-03 09:00,2026-11-03 10:00,"
                    "2026-11-03 09:30,2026-11-03 09:40,2026-11-03 09:35,总网格,已办结,4",
                    f"MQ-7,CJ01-01,{P1},社情民意,路灯,2026-11-03 09:00,,,,,子网格,待受理,3",
                ),
            )
        ],
    )
    assert errors == {
        ("民情.csv", 2, "受理时间", "2026-11-03 08:00", "受理时间早于上报时间（2026-11-03 09:00）"),
        ("民情.csv", 3, "办理状态", "已办结", "办理状态为「已办结」，但没有办结时间"),
        ("民情.csv", 4, "满意度", "6", "满意度应为 1–5 的整数"),
        ("民情.csv", 5, "上报时间", "2026-11-03", "只有日期，缺少时刻（应为 2026-10-05 14:30）"),
        (
            "民情.csv",
            6,
            "办理状态",
            "不予受理",
            "办理状态为「不予受理」，不应有核实、反馈或办结时间",
        ),
        ("民情.csv", 7, "核实时间", "2026-11-03 09:30", "核实时间早于受理时间（2026-11-03 10:00）"),
        ("民情.csv", 7, "办结时间", "2026-11-03 09:35", "办结时间早于反馈时间（2026-11-03 09:40）"),
        ("民情.csv", 8, "满意度", "3", "未办结的事项不应有满意度"),
    }


def test_evaluation_deduction_and_person_errors(db):
    errors = rejected(
        db,
        [
            (
                "测评.csv",
                csv(
                    "测评期间,对象编号,指数,测评类型,得分",
                    "2026H1,CJ01-01,堡垒指数,自评,120",
                    "2026Q1,CJ01-01,堡垒指数,自评,90",
                    "2026H1,CJ01-01,先锋指数,自评,90",
                ),
            ),
            ("扣分.csv", csv("扣分日期,对象编号,扣分事项,扣分", "2026-11-02,CJ01-01,台账缺失,0")),
            (
                "名册.csv",
                csv(
                    "人员编号,姓名,性别,出生年份,村居编号,子网格编号,是否党员,网格角色,志愿者类型,"
                    "起始日期,终止日期",
                    "CJ01-P8001,王五,男,1960,CJ01,CJ01-01,是,党员,,2026-05-01,2026-04-01",
                    "CJ01-P8002,赵六,女,1970,CJ01,CJ01-01,可能,党员,,2026-05-01,",
                ),
            ),
        ],
    )
    assert errors == {
        ("测评.csv", 2, "得分", "120", "得分应在 0–100 之间"),
        ("测评.csv", 3, "测评期间", "2026Q1", "测评期间应写作 2026H1、2026H2 或 2026年上半年"),
        ("测评.csv", 4, "对象编号", "CJ01-01", "先锋指数的对象应为人员编号，不是子网格或村居编号"),
        ("扣分.csv", 2, "扣分", "0", "扣分应大于 0 且不超过 100"),
        ("名册.csv", 2, "终止日期", "2026-04-01", "终止日期早于起始日期"),
        ("名册.csv", 3, "是否党员", "可能", "应为 是 或 否"),
    }


def test_file_level_errors(db):
    errors = rejected(
        db,
        [
            ("缺列.csv", csv("活动编号,人员编号", f"{OLD_ACTIVITY},{P1}")),
            ("乱码.csv", b"\x00\x01\x02\x03binary\x00"),
            ("无表头.csv", csv("编号,名字", "1,2")),
            (
                "多逗号.csv",
                csv(ATTENDANCE_HEADER, f"{OLD_ACTIVITY},{P2},出席,现场,2026-10-27 09:00,x"),
            ),
        ],
    )
    assert errors == {
        ("缺列.csv", 1, "出勤状态", "", "缺少必填列"),
        ("乱码.csv", None, "", "", "不是 CSV 文本文件，也不是 Excel 工作簿"),
        (
            "无表头.csv",
            None,
            "",
            "编号、名字",
            "未找到可识别的表头行：请使用模板中的列名（如 活动编号、活动日期 …）",
        ),
        ("多逗号.csv", 2, "", "", "该行的单元格多于表头的 5 列，可能含有未加引号的英文逗号"),
    }


def test_one_bad_row_rejects_every_file_of_the_upload(db):
    good = activity("HDX-1,2026-11-02,CJ01,CJ01-01,主题党日,学习,CJ01-S,CJ01-P0004,90")
    bad = (
        "签到.csv",
        csv(ATTENDANCE_HEADER, f"HDX-1,{P1},出席,现场,2026-11-02 09:00", "HDX-1,,出席,,"),
    )
    errors = rejected(db, [good, bad])
    assert errors == {("签到.csv", 3, "人员编号", "", "必填项为空")}


def test_duplicates_across_files_of_one_upload(db):
    row = f"{OLD_ACTIVITY},{P2},出席,现场,2026-10-27 09:00"
    errors = rejected(
        db, [("a.csv", csv(ATTENDANCE_HEADER, row)), ("b.csv", csv(ATTENDANCE_HEADER, "", row))]
    )
    assert errors == {
        (
            "b.csv",
            3,
            "活动编号",
            f"{OLD_ACTIVITY} / {P2}",
            "活动编号、人员编号重复：与文件 a.csv 第 2 行相同",
        )
    }


def test_workbook_errors_name_the_sheet_and_excel_row(db):
    book = xlsx_bytes(
        {
            "说明": [["填表说明"]],
            "签到": [
                ["漕泾镇2026年10月签到记录"],
                ATTENDANCE_HEADER.split(","),
                [OLD_ACTIVITY, P2, "出席", "现场", "2026-10-27 09:00"],
                [OLD_ACTIVITY, "CJ01-P9999", "出席", "现场", "2026-10-27 09:00"],
            ],
        }
    )
    errors = rejected(db, [("十月.xlsx", book)])
    assert errors == {("十月.xlsx / 签到", 4, "人员编号", "CJ01-P9999", "人员编号不在人员名册中")}


def test_blank_rows_quoted_empties_and_padded_canonical_cells(db):
    """Cells read as-is by the fast path still report stripped values; rows of blanks are
    skipped like empty rows; a quoted empty cell is an empty value."""
    future = today_local() + timedelta(days=3)
    errors = rejected(
        db,
        [
            (
                "签到.csv",
                csv(
                    ATTENDANCE_HEADER,
                    f"{OLD_ACTIVITY},{P1},出席,现场, 2026-10-27 09:00:00",
                    " , \u3000 ,,,",
                    f'{OLD_ACTIVITY},{P2},"",现场,2026-10-27 09:00:00',
                    f"{OLD_ACTIVITY},CJ01-P0006,出席,现场, {future} 09:00:00",
                ),
            )
        ],
    )
    assert errors == {
        ("签到.csv", 4, "出勤状态", "", "必填项为空"),
        ("签到.csv", 5, "签到时间", f"{future} 09:00:00", f"时间晚于今天（{today_local()}）"),
    }


def test_a_score_written_nan_is_not_a_number(db):
    errors = rejected(
        db,
        [
            (
                "测评.csv",
                csv("测评期间,对象编号,指数,测评类型,得分", "2026H1,CJ01-01,堡垒指数,自评,nan"),
            )
        ],
    )
    assert errors == {("测评.csv", 2, "得分", "nan", "应为数字")}
