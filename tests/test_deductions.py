"""反向扣分 and the 考核 total (docs/metrics.md, 反向扣分, 考核清单): an item a metric
already scores is loaded with a warning and never counted, an item the catalogue does
not list is counted with a warning naming the file, the upload says what its 测评 rows
feed, and the town's total is the member-weighted mean of its villages'."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest

from etl.load import load_uploads, validate_uploads
from metrics.assessment import assessment
from metrics.config import load_config
from metrics.filters import Filter
from metrics.fortress_index import fortress_by_unit
from metrics.member_vanguard import member_vanguard
from metrics.query_context import Context
from store.database import connect
from tests.support.small_grids import GridBuilder, both_paths, row

JUNE = Filter.parse("2026-06", "2026-06", "subgrid")
TODAY = date(2026, 12, 1)
HEADER = "扣分日期,对象编号,扣分事项,扣分\n"


@pytest.fixture
def con(tmp_path):
    """Town T: V1 = {S1: M1, M2, M3}, V2 = {S2: M4}, June 2026; each sub-grid holds one
    主题党日 that its members attend, and both villages declare 零报告 for 民情 (a
    month without it would be 未报送: no score). No deduction yet (the tests upload
    them)."""
    g = GridBuilder(tmp_path / "grid.duckdb")
    for v in ("V1", "V2"):
        g.village(v)
    g.subgrid("S1", "V1")
    g.subgrid("S2", "V2")
    for p, s, v in (("M1", "S1", "V1"), ("M2", "S1", "V1"), ("M3", "S1", "V1"), ("M4", "S2", "V2")):
        g.person(p, s, v)
    g.person("P1", "S1", "V1", party=False, role="网格志愿者")
    for s, v, people in (("S1", "V1", ("M1", "M2", "M3")), ("S2", "V2", ("M4",))):
        party_day = g.activity("2026-06-05", v, s, "主题党日")
        for p in people:
            g.attend(party_day, p, "出席")
        g.zero_report(v, "2026-06", "report")
    yield g.finish()
    g.con.close()


def upload(con, name: str, text: str):
    """Load one CSV (real bytes, through the validating loader); its result."""
    return load_uploads(con, [(name, text.encode())], "测试", today=TODAY)


def warnings_of(result) -> dict[str, str]:
    """值 → 原因 of the upload's warnings."""
    return dict(
        zip(result.validation.warnings["值"], result.validation.warnings["原因"], strict=True)
    )


def test_an_already_scored_item_is_loaded_with_a_warning_and_not_counted(con):
    before = row(both_paths(assessment, con, JUNE), unit_id="S1")["deductions"]
    result = upload(
        con,
        "扣分.csv",
        HEADER
        + "2026-06-10,S1,民情事项超期未办结,2\n"  # 按期办结率 scores it already
        + "2026-06-11,S1,台账资料报送不及时,1\n"
        + "2026-06-12,S1,乱停车,3\n"  # not in the catalogue: counted
        + "2026-06-13,M1,无故缺席组织生活,2\n"  # 组织生活出勤率 scores it already
        + "2026-06-14,M1,履职不到位被通报,3\n",
    )
    stored = con.execute("SELECT count(*) FROM deduction").fetchall()[0][0]
    assert stored == 5  # every row is kept: the office's record
    notes = warnings_of(result)
    assert (
        "不再扣分" in notes["民情事项超期未办结"]
        and "deductions.toml" in notes["民情事项超期未办结"]
    )
    assert "不再扣分" in notes["无故缺席组织生活"]
    assert "不在扣分目录（data/config/deductions.toml）" in notes["乱停车"]
    assert "仍按所填分值扣分" in notes["乱停车"]
    assert "台账资料报送不及时" not in notes and "履职不到位被通报" not in notes
    assert set(result.validation.warnings["文件"]) == {"扣分.csv"}

    assert before == 0.0
    fortress = fortress_by_unit(Context.of(con, JUNE))
    assert row(fortress, unit_id="S1")["deductions"] == 1 + 3
    assert row(both_paths(member_vanguard, con, JUNE), person_id="M1")["deductions"] == 3
    # The 考核: the sub-grid's own (4) and its member's (3) counted deductions.
    assert row(both_paths(assessment, con, JUNE), unit_id="S1")["deductions"] == 7


def test_the_catalogue_decides_what_counts(con):
    upload(con, "扣分.csv", HEADER + "2026-06-11,S1,台账资料报送不及时,1\n")
    config = load_config()
    items = tuple(
        replace(i, duplicates="activity_coverage") if i.item == "台账资料报送不及时" else i
        for i in config.deductions.items
    )
    marked = replace(config, deductions=replace(config.deductions, items=items))
    counted = both_paths(assessment, con, JUNE)
    not_counted = both_paths(assessment, con, JUNE, config=marked)
    assert row(counted, unit_id="S1")["deductions"] == 1
    assert row(not_counted, unit_id="S1")["deductions"] == 0


def test_the_upload_says_what_evaluation_rows_feed(con):
    text = (
        "测评期间,对象编号,指数,测评类型,得分\n"
        "2026H1,S1,堡垒指数,自评,90\n"
        "2026H1,S1,堡垒指数,党员群众测评,80\n"
        "2026H1,S2,堡垒指数,党员群众测评,85\n"
        "2026H1,V1,堡垒指数,上级考评,70\n"
        "2026H1,M1,先锋指数,党员群众测评,88\n"
        "2026H1,M1,先锋指数,上级考评,95\n"
        "2026H1,P1,先锋指数,自评,99\n"
    )
    result = validate_uploads(con, [("测评.csv", text.encode())], today=TODAY)
    assert result.errors.is_empty()
    notes = result.warnings.select("行号", "值", "原因").rows()
    by_row = {r: (value, reason) for r, value, reason in notes}
    assert by_row[2] == ("堡垒指数·自评", "第 2 行计入堡垒指数的“测评”部分（自评权重 10%）")
    # Rows 3 and 4: one group (sub-grids, 党员群众测评).
    assert by_row[3][1] == "共 2 行（第 3 行起）计入堡垒指数的“测评”部分（党员群众测评权重 70%）"
    assert "村居本身的测评不参与计算" in by_row[5][1]
    assert by_row[6][1] == "第 6 行计入先锋指数的“测评”部分（党员群众测评权重 80%）"
    assert "权重未包含“上级考评”" in by_row[7][1]
    assert "对象为非党员人员" in by_row[8][1]
    assert len(notes) == 6  # one note per group, nothing left unsaid


def test_the_town_total_is_the_member_weighted_mean_of_its_villages(con):
    upload(
        con,
        "扣分.csv",
        HEADER
        + "2026-06-10,S1,台账资料弄虚作假,5\n"
        + "2026-06-11,V2,村居党组织被上级通报批评,3\n"
        + "2026-06-12,M4,履职不到位被通报,3\n",
    )
    villages = both_paths(assessment, con, JUNE.at_level("village"))
    v1, v2 = row(villages, unit_id="V1"), row(villages, unit_id="V2")
    assert (v1["deductions"], v2["deductions"]) == (5, 6)
    town = row(both_paths(assessment, con, JUNE.at_level("town")), unit_id="T")
    # V1 has 3 member-months, V2 1.
    mean_total = (3 * v1["total"] + 1 * v2["total"]) / 4
    assert town["total"] == pytest.approx(mean_total)
    for area in ("daily_ops", "org_life", "public_opinion", "governance"):
        assert town[area] == pytest.approx((3 * v1[area] + v2[area]) / 4)
    assert town["deductions"] == pytest.approx((3 * 5 + 6) / 4)
    assert town["total"] > 0
    assert town["rank"] == 1


def test_sample_town_total_is_its_villages_mean(sample_db):
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        h1 = Filter.parse("2026-01", "2026-06", "village")
        villages = assessment(con, h1)
        weights = fortress_by_unit(Context.of(con, h1)).select("unit_id", "member_months")
        town = assessment(con, h1.at_level("town"))
    finally:
        con.close()
    weighted = villages.join(weights, on="unit_id").select(
        (pl.col("total") * pl.col("member_months")).sum() / pl.col("member_months").sum()
    )
    assert town.height == 1
    assert town["total"][0] == pytest.approx(weighted.item())
    assert 40 < town["total"][0] < 100
