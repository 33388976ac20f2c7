"""The four lists' upload kinds (重要事项决策, 结对名册, 学习提示, 履职评价) and the
report's 例会编号 go through the same validated, all-or-nothing loader as every kind:
exact Chinese reasons per row, nothing written on rejection, upserts by key, history
and undo; their templates pass as shipped."""

from __future__ import annotations

import pytest

from etl.load import UndoRefused, UploadRejected, load_uploads, today_local, validate_uploads
from etl.templates import template_csv, template_xlsx
from store.contracts import KINDS, LIST_KINDS
from store.database import connect
from tests.support.loading import content_hashes, copy_db, last_batch, load, query, undo

DECISION = "决策事项编号,村居编号,事项名称,督导日期,提议日期,商议日期,决议日期,决议方式,公示日期"
PAIRING = "结对编号,结对类型,村居编号,帮带人编号,结对单位,结对对象编号,起始日期,终止日期"
RATING = "评价期间,人员编号,职责编号,评价结果,评价说明"
NOTICE = "提示编号,下发日期,村居编号,下发人编号,学习主题"
REPORT = (
    "事项编号,子网格编号,上报人编号,事项类别,事项摘要,上报时间,受理时间,核实时间,反馈时间,"
    "办结时间,办理层级,办理状态,满意度,例会编号"
)


@pytest.fixture
def db(sample_db, tmp_path):
    return copy_db(sample_db, tmp_path / "g.duckdb")


def csv(name: str, *lines: str) -> tuple[str, bytes]:
    return name, ("\n".join(lines) + "\n").encode()


def rejected(db, *files) -> set[tuple]:
    """Upload, expect rejection, check nothing changed; the errors as tuples."""
    before = content_hashes(db)
    con = connect(db)
    try:
        with pytest.raises(UploadRejected) as caught:
            load_uploads(con, list(files), "tester")
    finally:
        con.close()
    assert content_hashes(db) == before, "a rejected upload changed the database"
    return {tuple(r) for r in caught.value.result.errors.iter_rows()}


def test_every_new_template_passes_validation(sample_db):
    con = connect(sample_db)
    try:
        for make, suffix in ((template_csv, "csv"), (template_xlsx, "xlsx")):
            files = [(f"{k.name}.{suffix}", make(k)) for k in (*LIST_KINDS, KINDS["report"])]
            result = validate_uploads(con, files)
            # The example row is the only error: it is refused as an example (decision 0015).
            assert result.errors["行号"].to_list() == [2] * len(files), result.errors
            assert result.errors["原因"].str.contains("模板自带的示例行").all()
            assert [f.kind for f in result.files] == [
                k.name for k in (*LIST_KINDS, KINDS["report"])
            ]
    finally:
        con.close()


def test_decision_stages_in_order_and_none_skipped(db):
    errors = rejected(
        db,
        csv(
            "决策.csv",
            DECISION,
            "J-1,CJ03,道路,,2026-09-05,2026-09-01,,,",
            "J-2,CJ03,水利,,2026-09-05,,2026-09-20,两委会决议,",
            "J-3,CJ03,福利,2026-09-25,2026-09-05,2026-09-10,2026-09-20,两委会决议,2026-09-22",
            "J-4,CJ03,文化,,2026-09-05,2026-09-10,2026-09-20,,2026-09-21",
            "J-5,CJ03,环境,,2026-09-05,2026-09-10,,党员大会表决,",
            "J-6,CJ99,环境,,,,,,",
        ),
    )
    # An unknown village's reason goes on with the town's villages: keep the first sentence.
    errors = {(*r[:4], r[4].split("。现有村居")[0]) for r in errors}
    assert errors == {
        ("决策.csv", 2, "商议日期", "2026-09-01", "商议日期早于提议日期（2026-09-05）"),
        ("决策.csv", 3, "决议日期", "2026-09-20", "有决议日期但没有商议日期"),
        (
            "决策.csv",
            4,
            "督导日期",
            "2026-09-25",
            "督导日期晚于决议日期（2026-09-20）：镇领导督导应在决议之前",
        ),
        ("决策.csv", 5, "决议方式", "", "有决议日期，应填写决议方式（两委会决议或党员大会表决）"),
        ("决策.csv", 6, "决议方式", "党员大会表决", "填写了决议方式，但没有决议日期"),
        ("决策.csv", 7, "村居编号", "CJ99", "村居编号不存在"),
        ("决策.csv", 7, "提议日期", "", "必填项为空"),
    }


def test_pairs_name_their_sides(db):
    errors = rejected(
        db,
        csv(
            "结对.csv",
            PAIRING,
            "P-1,老新结对,CJ03,,,CJ03-P0005,2026-01-01,",
            "P-2,双百结对,CJ03,,,CJ03-P0030,2026-01-01,",
            "P-3,以老带老,CJ03,CJ03-P0005,,CJ03-P0005,2026-01-01,",
            "P-4,老新结对,CJ03,CJ03-P0006,,CJ03-P0005,2026-05-01,2026-01-01",
            "P-5,师徒结对,CJ03,CJ03-P0006,,NOBODY,2026-01-01,",
        ),
    )
    assert errors == {
        ("结对.csv", 2, "帮带人编号", "", "老新结对、以老带老应填写帮带人编号"),
        ("结对.csv", 3, "结对单位", "", "城乡结对、双百结对、企村结对应填写结对单位"),
        ("结对.csv", 4, "结对对象编号", "CJ03-P0005", "帮带人与结对对象不能是同一人"),
        ("结对.csv", 5, "终止日期", "2026-01-01", "终止日期早于起始日期"),
        (
            "结对.csv",
            6,
            "结对类型",
            "师徒结对",
            "不在可选值之内：老新结对、以老带老、城乡结对、双百结对、企村结对",
        ),
        ("结对.csv", 6, "结对对象编号", "NOBODY", "人员编号不在人员名册中"),
    }


def test_only_manual_duties_are_rated_on_their_role(db):
    errors = rejected(
        db,
        csv(
            "履职评价.csv",
            RATING,
            "2026H1,CJ03-P0001,D04,已履职,",
            "2026H1,CJ03-P0006,D03,已履职,",
            "2026H1,CJ03-P0030,D99,已履职,",
            "2026H1,CJ03-P0030,D21,优秀,",
            "2026Q3,CJ03-P0031,D21,已履职,",
            "2035H1,CJ03-P0031,D21,已履职,",
        ),
    )
    assert errors == {
        (
            "履职评价.csv",
            2,
            "职责编号",
            "D04",
            "职责 D04 由数据自动统计，无需人工评价（需人工评价的职责：D03、D21）",
        ),
        (
            "履职评价.csv",
            3,
            "人员编号",
            "CJ03-P0006",
            "该人员的网格角色是网格员，职责 D03 属于督导员",
        ),
        ("履职评价.csv", 4, "职责编号", "D99", "职责编号不在责任清单（duties.toml）中"),
        ("履职评价.csv", 5, "评价结果", "优秀", "不在可选值之内：已履职、未履职"),
        (
            "履职评价.csv",
            6,
            "评价期间",
            "2026Q3",
            "评价期间应写作 2026H1、2026H2 或 2026年上半年",
        ),
        ("履职评价.csv", 7, "评价期间", "2035H1", f"评价期间尚未开始（今天是 {today_local()}）"),
    }


def test_a_report_names_an_existing_meeting(db):
    errors = rejected(
        db,
        csv(
            "民情.csv",
            REPORT,
            "MQ-X1,CJ03-01,,环境卫生,河道,2026-09-01 09:00,,,,,子网格,待受理,,HD-NO-MEETING",
        ),
    )
    assert errors == {
        (
            "民情.csv",
            2,
            "例会编号",
            "HD-NO-MEETING",
            "活动编号不存在（数据库和本次上传中都没有这项活动）",
        )
    }


def test_a_matter_is_updated_by_its_id_and_the_upload_undone(db):
    first = csv("决策.csv", DECISION, "J-9,CJ03,道路,2026-09-01,2026-09-05,,,,")
    load(db, [first])
    later = csv(
        "决策.csv",
        DECISION,
        "J-9,CJ03,道路,2026-09-01,2026-09-05,2026-09-12,2026-09-20,两委会决议,2026-09-22",
    )
    result = load(db, [later])
    assert [(r.kind, r.rows_inserted, r.rows_updated) for r in result.records] == [
        ("decision", 0, 1)
    ]
    sql = "SELECT published_on FROM decision WHERE matter_id = 'J-9'"
    assert str(query(db, sql)[0][0]) == "2026-09-22"
    undo(db, last_batch(db))
    assert query(db, sql) == [(None,)]  # back to the state before the later upload
    kinds = query(db, "SELECT kind, status FROM upload WHERE file_name = '决策.csv' ORDER BY 1, 2")
    assert kinds == [("decision", "loaded"), ("decision", "undone")]


def test_undo_of_a_roster_refused_while_a_pair_refers_to_it(db):
    person = csv(
        "名册.csv",
        "人员编号,姓名,性别,出生年份,村居编号,子网格编号,是否党员,网格角色,志愿者类型,起始日期,终止日期",
        "CJ03-P9901,新党员,女,1999,CJ03,CJ03-01,是,党员,,2026-09-01,",
    )
    load(db, [person])
    roster_batch = last_batch(db)
    load(db, [csv("结对.csv", PAIRING, "P-9,老新结对,CJ03,CJ03-P0006,,CJ03-P9901,2026-09-01,")])
    with pytest.raises(UndoRefused, match="结对名册中还有 1 行的结对对象编号"):
        undo(db, roster_batch)
