"""Uploads without traps (etl level): template example rows refused, unknown ids listed
with the valid ones, rows outside the declared village or month flagged and refused
unless accepted, XLSX templates with drop-downs and a names sheet.

Real DuckDB files (copies of the sample database), real CSV and XLSX bytes.
"""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import polars as pl
import pytest

from etl.__main__ import main
from etl.load import (
    OutsideRowsRefused,
    UploadRejected,
    commit_uploads,
    load_uploads,
    validate_uploads,
)
from etl.registry_upload import RegistryLists, registry_lists
from etl.templates import EXAMPLES, template_csv, template_kinds, template_xlsx
from etl.validation.scope import months_in_name, villages_in_name
from store.contracts import ACTIVITY_TYPES, KINDS
from store.database import connect
from tests.support.loading import copy_db, query

TODAY = date(2026, 10, 31)
ACTIVITY_HEADER = (
    "活动编号,活动日期,村居编号,子网格编号,活动类型,活动主题,活动地点编号,组织人编号,时长分钟\n"
)


def activity_rows(*rows: tuple[str, str, str, str]) -> bytes:
    """An activity file: (id, date, village, sub-grid) per row."""
    lines = [f"{i},{d},{v},{s},学习教育,测试,{v}-S,,90" for i, d, v, s in rows]
    return (ACTIVITY_HEADER + "\n".join(lines) + "\n").encode()


@pytest.fixture
def db(sample_db, tmp_path):
    return copy_db(sample_db, tmp_path / "traps.duckdb")


@pytest.fixture
def con(db):
    connection = connect(db)
    yield connection
    connection.close()


def count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


# --- 2. the templates' example rows ----------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_every_template_as_downloaded_is_refused_at_its_example_row(con, suffix):
    lists = registry_lists(con)
    files = [
        (f"{k.name}.{suffix}", template_csv(k) if suffix == "csv" else template_xlsx(k, lists))
        for k in template_kinds()
    ]
    result = validate_uploads(con, files, today=TODAY)
    assert [f.kind for f in result.files if f.part is not None] == [
        k.name for k in template_kinds()
    ]
    # Exactly one error per template: its row 2, named as the example.
    assert result.errors.height == len(template_kinds())
    assert set(result.errors["行号"]) == {2}
    assert all("示例行（第 2 行）" in r for r in result.errors["原因"])


def test_example_row_left_above_real_rows_refuses_the_whole_upload(con):
    template = template_csv(KINDS["activity"]).decode("utf-8-sig")
    mine = "HD202610-CJ03-01-801,2026-10-20,CJ03,CJ03-01,学习教育,真实活动,CJ03-S,CJ03-P0001,60\n"
    before = count(con, "activity")
    with pytest.raises(UploadRejected) as refused:
        load_uploads(con, [("十月活动.csv", (template + mine).encode())], "t", today=TODAY)
    errors = refused.value.result.errors
    assert errors["行号"].to_list() == [2]
    assert errors["值"].to_list() == [EXAMPLES["activity"]["activity_id"]]
    assert count(con, "activity") == before
    # Without the example row the same file loads.
    header = template.splitlines()[0] + "\n"
    loaded = load_uploads(con, [("十月活动.csv", (header + mine).encode())], "t", today=TODAY)
    assert loaded.records[0].rows_inserted == 1


def test_an_edited_example_with_the_invented_id_is_still_the_example(con):
    edited = (
        template_csv(KINDS["activity"]).decode("utf-8-sig").replace("重温入党誓词", "改过的主题")
    )
    result = validate_uploads(con, [("a.csv", edited.encode())], today=TODAY)
    assert result.errors["行号"].to_list() == [2]
    assert "示例行" in result.errors["原因"][0]


def test_a_real_score_with_the_example_key_is_not_the_example(con):
    example = EXAMPLES["evaluation"]
    text = template_csv(KINDS["evaluation"]).decode("utf-8-sig")
    real = text.replace(example["score"], "91")  # same key, another score: real data
    result = validate_uploads(con, [("e.csv", real.encode())], today=TODAY)
    assert result.ok, result.errors


# --- 4. unknown ids list the valid ones -----------------------------------------------


def test_unknown_subgrid_lists_the_rows_village_subgrids_with_names(con):
    data = activity_rows(("HD202610-CJ03-01-811", "2026-10-20", "CJ03", "CJ03-77"))
    result = validate_uploads(con, [("a.csv", data)], today=TODAY)
    reason = result.errors.filter(pl.col("列") == "子网格编号")["原因"][0]
    names = dict(
        con.execute("SELECT subgrid_id, name FROM subgrid WHERE village_id = 'CJ03'").fetchall()
    )
    assert reason.startswith("子网格编号不存在。营房村（CJ03）的子网格：")
    assert all(f"{i} {n}" in reason for i, n in names.items())
    assert "CJ04-01" not in reason


def test_unknown_subgrid_without_a_village_column_uses_the_id_prefix(con):
    data = "事项编号,子网格编号,事项类别,上报时间,办理状态\n"
    data += "MQ-T1,CJ04-99,其他,2026-10-05 10:00,待受理\n"
    result = validate_uploads(con, [("r.csv", data.encode())], today=TODAY)
    reason = result.errors["原因"][0]
    assert "沙积村（CJ04）的子网格：CJ04-01" in reason and "CJ03-01" not in reason


def test_unknown_village_lists_every_village_and_long_lists_are_cut(con):
    villages = [
        f"T{i:02d},T,测试镇,测试村{i},村,否,121.4,30.8" for i in range(1, 31)
    ]  # 30 more villages in the same upload: 44 in all
    registry = "村居编号,镇编号,镇名称,村居名称,类型,是否占位,经度,纬度\n" + "\n".join(villages)
    data = activity_rows(("HD202610-CJ03-01-812", "2026-10-20", "CJ99", ""))
    result = validate_uploads(con, [("v.csv", registry.encode()), ("a.csv", data)], today=TODAY)
    reason = result.errors.filter(pl.col("列") == "村居编号")["原因"][0]
    assert reason.startswith("村居编号不存在。现有村居：CJ01 建龙社区、")
    assert reason.endswith("等，共 44 个")
    assert reason.count("、") == 19  # twenty named


def test_unknown_place_lists_the_villages_service_points(con):
    data = activity_rows(("HD202610-CJ03-01-813", "2026-10-20", "CJ03", "CJ03-01"))
    data = data.replace(b"CJ03-S,", b"CJ03-S9,")
    result = validate_uploads(con, [("a.csv", data)], today=TODAY)
    reason = result.errors["原因"][0]
    assert "营房村（CJ03）的站点：" in reason and "CJ03-S 党群服务站" in reason


# --- 3. rows outside the declared village or month -------------------------------------


def test_month_in_a_file_name():
    assert months_in_name("营房村2026年10月活动台账.xlsx") == {date(2026, 10, 1)}
    assert months_in_name("activity_2026-09.csv") == {date(2026, 9, 1)}
    assert months_in_name("202611签到.csv") == {date(2026, 11, 1)}
    assert months_in_name("活动台账(1).csv") == set()


def test_a_village_in_a_file_name_by_id_or_name_among_a_citys_villages():
    """A village is named by its id between non-alphanumerics, or by its name with or
    without 村/社区, among thousands of villages (a city registry)."""
    villages = pl.DataFrame(
        {
            "village_id": [
                "CJ03",
                "CJ031",
                "T001-CJ03",
                *[f"T{i:03d}-CJ{i % 14:02d}" for i in range(2, 3000)],
            ],
            "name": ["营房村", "金光社区", "海渔村", *[f"第{i:04d}组村" for i in range(2, 3000)]],
        }
    )
    registry = RegistryLists(villages, pl.DataFrame(), pl.DataFrame())
    assert villages_in_name("CJ03_2026-10_活动.csv", registry) == {"CJ03"}
    assert villages_in_name("xCJ03 活动.csv", registry) == set()
    assert villages_in_name("CJ031-活动.csv", registry) == {"CJ031"}
    assert villages_in_name("T001-CJ03 活动.csv", registry) == {"CJ03", "T001-CJ03"}
    assert villages_in_name("营房 2026年10月.xlsx", registry) == {"CJ03"}
    assert villages_in_name("金光社区活动.csv", registry) == {"CJ031"}
    assert villages_in_name("T5000-CJ03.csv", registry) == {"CJ03"}
    assert villages_in_name("第2999组 活动.csv", registry) == {"T2999-CJ03"}


def test_another_villages_row_in_a_named_villages_file_is_flagged(con):
    data = activity_rows(
        ("HD202610-CJ03-01-821", "2026-10-20", "CJ03", "CJ03-01"),
        ("HD202610-CJ05-01-822", "2026-10-21", "CJ05", "CJ05-01"),
        ("HD202610-CJ03-01-823", "2026-10-22", "CJ03", "CJ03-02"),
    )
    result = validate_uploads(con, [("营房村_10月活动台账.csv", data)], today=TODAY)
    assert result.ok and result.needs_acceptance
    assert result.outside["行号"].to_list() == [3]
    reason = result.outside["原因"][0]
    assert "营房村（CJ03）" in reason and "据文件名" in reason and "水库村（CJ05）" in reason

    before = count(con, "activity")
    with pytest.raises(OutsideRowsRefused):
        commit_uploads(con, result, "t")
    assert count(con, "activity") == before
    commit_uploads(con, result, "t", accept_outside=True)
    assert count(con, "activity") == before + 3


def test_the_majority_declares_the_village_and_the_month(con):
    data = activity_rows(
        ("HD202610-CJ03-01-831", "2026-10-20", "CJ03", "CJ03-01"),
        ("HD202610-CJ03-01-832", "2026-10-21", "CJ03", "CJ03-01"),
        ("HD202610-CJ04-01-833", "2026-10-22", "CJ04", "CJ04-01"),
        ("HD202609-CJ03-01-834", "2026-09-22", "CJ03", "CJ03-01"),
    )
    result = validate_uploads(con, [("activity.csv", data)], today=TODAY)
    flags = dict(zip(result.outside["行号"], result.outside["原因"], strict=True))
    assert sorted(flags) == [4, 5]
    assert "沙积村（CJ04）" in flags[4] and "据多数行" in flags[4]
    assert "本批是2026年10月的数据" in flags[5] and "2026年9月" in flags[5]


def test_a_town_wide_file_of_one_month_flags_nothing(con):
    rows = [
        (f"HD202610-CJ{v:02d}-01-84{v % 10}", "2026-10-20", f"CJ{v:02d}", f"CJ{v:02d}-01")
        for v in range(1, 5)
    ]
    result = validate_uploads(con, [("全镇活动.csv", activity_rows(*rows))], today=TODAY)
    assert result.ok and not result.needs_acceptance


def test_the_file_names_month_wins_over_the_rows(con):
    data = activity_rows(("HD202610-CJ03-01-851", "2026-10-20", "CJ03", "CJ03-01"))
    result = validate_uploads(con, [("2026-09 活动台账.csv", data)], today=TODAY)
    assert result.outside["行号"].to_list() == [2]
    assert "本批是2026年9月的数据（据文件名）" in result.outside["原因"][0]


def test_open_reports_filed_again_pass_and_closed_ones_are_flagged(con):
    header = "事项编号,子网格编号,事项类别,上报时间,受理时间,核实时间,办结时间,办理状态,满意度\n"
    rows = [
        "MQ-T10,CJ03-01,其他,2026-10-05 10:00,,,,待受理,",
        "MQ-T11,CJ03-01,其他,2026-10-06 10:00,2026-10-06 12:00,,,处理中,",
        "MQ-T12,CJ03-01,其他,2026-10-07 10:00,,,,待受理,",
        # reported in August, still open: filed again, in October's file
        "MQ-T13,CJ03-01,其他,2026-08-20 10:00,2026-08-20 12:00,,,处理中,",
        # closed in August: nothing happened in October
        "MQ-T14,CJ03-01,其他,2026-08-21 10:00,2026-08-21 12:00,2026-08-21 15:00,"
        "2026-08-25 10:00,已办结,5",
    ]
    data = (header + "\n".join(rows) + "\n").encode()
    result = validate_uploads(con, [("report.csv", data)], today=TODAY)
    assert result.ok, result.errors
    assert result.outside["行号"].to_list() == [6]
    assert "已于2026年8月结束" in result.outside["原因"][0]


def test_a_sign_in_of_another_villages_activity_is_flagged(con):
    activity, person = con.execute(
        "SELECT a.activity_id, p.person_id FROM activity a, person p "
        "WHERE a.village_id = 'CJ05' AND a.activity_date >= '2026-10-01' "
        "AND p.village_id = 'CJ05' LIMIT 1"
    ).fetchall()[0]
    own = con.execute(
        "SELECT activity_id FROM activity WHERE village_id = 'CJ03' "
        "AND activity_date >= '2026-10-01' ORDER BY 1 LIMIT 2"
    ).fetchall()
    members = con.execute(
        "SELECT person_id FROM person WHERE village_id = 'CJ03' ORDER BY 1 DESC LIMIT 2"
    ).fetchall()
    lines = [f"{a},{m},出席" for (a,), (m,) in zip(own, members, strict=True)]
    lines.append(f"{activity},{person},出席")
    data = ("活动编号,人员编号,出勤状态\n" + "\n".join(lines) + "\n").encode()
    result = validate_uploads(con, [("营房村签到.csv", data)], today=TODAY)
    assert result.ok, result.errors
    outside = result.outside
    assert outside.filter(pl.col("原因").str.contains("水库村"))["行号"].to_list() == [4]


def test_the_command_line_lists_flagged_rows_and_refuses_them_only_when_asked(db, tmp_path, capsys):
    path = tmp_path / "营房村_2026年10月_活动.csv"
    path.write_bytes(
        activity_rows(
            ("HD202610-CJ03-01-861", "2026-10-20", "CJ03", "CJ03-01"),
            ("HD202610-CJ05-01-862", "2026-10-21", "CJ05", "CJ05-01"),
        )
    )
    before = query(db, "SELECT count(*) FROM activity")[0][0]
    assert main(["load", "--db", str(db), "--refuse-outside", str(path)]) == 1
    out = capsys.readouterr().out
    assert "不属于文件所对应的村居或月份" in out and "--refuse-outside" in out
    assert query(db, "SELECT count(*) FROM activity")[0][0] == before
    assert main(["load", "--db", str(db), str(path)]) == 0
    out = capsys.readouterr().out
    assert "请核对：有 1 行不属于文件所对应的村居或月份，已一并载入" in out
    assert query(db, "SELECT count(*) FROM activity")[0][0] == before + 2


# --- 5. XLSX templates: drop-downs and the names sheet ---------------------------------


def test_xlsx_template_has_drop_downs_and_a_names_sheet(con):
    lists = registry_lists(con)
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx(KINDS["activity"], lists)))
    assert book.sheetnames == ["模板", "填写说明", "编号对照"]
    sheet = book["模板"]
    headers = [c.value for c in sheet[1]]
    by_column = {}
    for rule in sheet.data_validations.dataValidation:
        assert rule.type == "list"
        column = headers[next(iter(rule.sqref.ranges)).min_col - 1]
        by_column[column] = rule.formula1
    assert set(by_column) == {"村居编号", "子网格编号", "活动类型", "活动地点编号"}
    assert by_column["活动类型"] == '"' + ",".join(ACTIVITY_TYPES) + '"'
    assert by_column["村居编号"] == "'编号对照'!$A$2:$A$15"
    assert by_column["子网格编号"] == "'编号对照'!$D$2:$D$90"
    names = book["编号对照"]
    villages = {r[0]: r[1] for r in names.iter_rows(min_row=2, max_col=2, values_only=True) if r[0]}
    assert villages == dict(con.execute("SELECT village_id, name FROM village").fetchall())
    points = [r for r in names.iter_rows(min_row=2, min_col=8, max_col=9, values_only=True) if r[0]]
    assert len(points) == count(con, "service_point")


def test_xlsx_flags_and_enumerations_of_other_kinds(con):
    lists = registry_lists(con)
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx(KINDS["person"], lists)))
    sheet = book["模板"]
    headers = [c.value for c in sheet[1]]
    formulas = {
        headers[next(iter(r.sqref.ranges)).min_col - 1]: r.formula1
        for r in sheet.data_validations.dataValidation
    }
    assert formulas["是否党员"] == '"是,否"'
    assert formulas["性别"] == '"男,女"'
    assert "网格角色" in formulas and "志愿者类型" in formulas
    assert "人员编号" not in formulas  # ids of the file's own rows: free text


def test_csv_templates_keep_their_shape():
    for kind in template_kinds():
        text = template_csv(kind).decode("utf-8-sig").splitlines()
        assert text[0].split(",") == kind.headers
        assert len(text) == 2  # headers and the example row, nothing else
