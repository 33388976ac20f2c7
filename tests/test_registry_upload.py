"""Replacing the registry through the upload path: renames, all or nothing, ids kept,
sub-grids that data refers to never change village, audit and undo.

Real DuckDB files (copies of the sample database), the registry as the page offers it
for download (CSV and XLSX bytes).
"""

from __future__ import annotations

import polars as pl
import pytest

from etl.__main__ import main
from etl.load import UploadRejected, commit_uploads, load_uploads, undo_upload, validate_uploads
from etl.registry_upload import registry_export, registry_lists
from etl.templates import registry_csv, registry_xlsx
from store.contracts import KINDS
from store.database import connect
from tests.support.loading import copy_db, query

VILLAGE, SUBGRID = KINDS["village"], KINDS["subgrid"]


@pytest.fixture
def db(sample_db, tmp_path):
    return copy_db(sample_db, tmp_path / "registry.duckdb")


@pytest.fixture
def con(db):
    connection = connect(db)
    yield connection
    connection.close()


def village_file(con, edit) -> bytes:
    """The stored village registry as downloaded, with ``edit`` applied to its frame."""
    return registry_csv(VILLAGE, edit(registry_export(con, VILLAGE)))


def by_id(frame: pl.DataFrame, id_header: str, header: str, values: dict) -> pl.DataFrame:
    """``frame`` with ``header`` set to ``values[id]`` on the rows of those ids."""
    return frame.with_columns(
        pl.col(id_header).replace_strict(values, default=pl.col(header)).alias(header)
    )


def rename_placeholders(frame: pl.DataFrame) -> pl.DataFrame:
    real = {"CJ12": "朝阳村", "CJ13": "新民村", "CJ14": "海港社区"}
    return by_id(frame, "村居编号", "村居名称", real).with_columns(
        pl.when(pl.col("村居编号").is_in(list(real)))
        .then(pl.lit("否"))
        .otherwise(pl.col("是否占位"))
        .alias("是否占位"),
    )


def test_the_placeholders_are_renamed_audited_and_undone(con):
    before = dict(con.execute("SELECT village_id, name FROM village").fetchall())
    assert con.execute("SELECT count(*) FROM village WHERE is_placeholder").fetchall()[0][0] == 3
    result = validate_uploads(con, [("村居名册.csv", village_file(con, rename_placeholders))])
    assert result.ok, result.errors
    renames = result.warnings.filter(pl.col("原因").str.starts_with("名称将由"))
    assert renames["值"].to_list() == ["朝阳村", "新民村", "海港社区"]
    records = commit_uploads(con, result, "office")
    assert [(r.kind, r.rows_updated) for r in records] == [("village", 3)]
    assert con.execute("SELECT count(*) FROM village WHERE is_placeholder").fetchall()[0][0] == 0
    assert con.execute("SELECT name FROM village WHERE village_id = 'CJ12'").fetchall() == [
        ("朝阳村",)
    ]
    audit = con.execute(
        "SELECT user_name, detail FROM audit_log WHERE action = 'upload' "
        "ORDER BY logged_at DESC LIMIT 1"
    ).fetchall()[0]
    assert audit[0] == "office" and "村居名册.csv" in audit[1]
    undo_upload(con, records[0].upload_id, "office")
    assert dict(con.execute("SELECT village_id, name FROM village").fetchall()) == before


def test_a_placeholder_renamed_but_still_marked_gets_a_warning(con):
    def rename_only(frame):
        return by_id(frame, "村居编号", "村居名称", {"CJ12": "朝阳村"})

    result = validate_uploads(con, [("v.csv", village_file(con, rename_only))])
    reasons = result.warnings.filter(pl.col("值") == "朝阳村")["原因"].to_list()
    assert reasons == [
        "名称将由“待定村A（占位）”改为“朝阳村”；是否占位仍为“是”，如已是正式名称请改为“否”"
    ]


def test_a_bad_registry_file_changes_nothing(con):
    def broken(frame):
        renamed = by_id(frame, "村居编号", "村居名称", {"CJ12": "朝阳村"})
        return by_id(renamed, "村居编号", "类型", {"CJ13": "乡"})

    before = con.execute("SELECT * FROM village ORDER BY 1").fetchall()
    with pytest.raises(UploadRejected) as refused:
        load_uploads(con, [("v.csv", village_file(con, broken))], "office")
    errors = refused.value.result.errors
    assert errors["值"].to_list() == ["乡"] and errors["行号"].to_list() == [14]
    assert con.execute("SELECT * FROM village ORDER BY 1").fetchall() == before


def test_ids_absent_from_the_file_are_kept_and_named(con):
    rows = registry_export(con, SUBGRID)
    shorter = rows.filter(~pl.col("子网格编号").str.starts_with("CJ14-"))
    shorter = by_id(shorter, "子网格编号", "子网格名称", {"CJ03-01": "营房一组"})
    result = validate_uploads(con, [("子网格.csv", registry_csv(SUBGRID, shorter))])
    assert result.ok, result.errors
    kept = result.warnings.filter(pl.col("原因").str.contains("将保留不变"))["原因"].to_list()
    gone = rows.height - shorter.height
    assert len(kept) == 1 and f"另有 {gone} 个子网格不在本文件中" in kept[0]
    used = con.execute("SELECT count(*) FROM person WHERE subgrid_id = 'CJ14-01'").fetchall()[0][0]
    assert used and "CJ14-01" in kept[0] and "被 " in kept[0]
    commit_uploads(con, result, "office")
    assert con.execute("SELECT count(*) FROM subgrid").fetchall()[0][0] == rows.height
    assert con.execute("SELECT name FROM subgrid WHERE subgrid_id = 'CJ03-01'").fetchall() == [
        ("营房一组",)
    ]


def test_a_subgrid_with_data_cannot_move_to_another_village(con):
    rows = registry_export(con, SUBGRID)
    moved = rows.with_columns(
        pl.when(pl.col("子网格编号") == "CJ03-01")
        .then(pl.lit("CJ04"))
        .otherwise(pl.col("村居编号"))
        .alias("村居编号")
    )
    before = con.execute("SELECT * FROM subgrid ORDER BY 1").fetchall()
    with pytest.raises(UploadRejected) as refused:
        load_uploads(con, [("子网格.csv", registry_csv(SUBGRID, moved))], "office")
    errors = refused.value.result.errors
    row = rows["子网格编号"].to_list().index("CJ03-01") + 2
    assert errors["行号"].to_list() == [row]
    assert "原属村居 CJ03" in errors["原因"][0] and "不能改属 CJ04" in errors["原因"][0]
    assert "人员名册" in errors["原因"][0]
    assert con.execute("SELECT * FROM subgrid ORDER BY 1").fetchall() == before


def test_a_subgrid_nothing_refers_to_may_move(con):
    new = "子网格编号,村居编号,子网格名称,经度,纬度\nCJ03-90,CJ03,新建网格,121.44,30.81\n"
    load_uploads(con, [("新子网格.csv", new.encode())], "office")
    moved = new.replace("CJ03-90,CJ03,", "CJ03-90,CJ04,")
    result = validate_uploads(con, [("改属.csv", moved.encode())])
    assert result.ok, result.errors
    assert "子网格 CJ03-90 将由村居 CJ03 改属 CJ04" in result.warnings["原因"].to_list()


def test_the_downloaded_registry_workbook_loads_back_unchanged(con):
    lists = registry_lists(con)
    for kind in (VILLAGE, SUBGRID, KINDS["service_point"]):
        data = registry_xlsx(kind, registry_export(con, kind), lists)
        result = validate_uploads(con, [(f"{kind.name}.xlsx", data)])
        assert result.ok, result.errors
        assert [f.kind for f in result.files if f.part is not None] == [kind.name]
        assert all(plan.matched["same"].all() for plan in result.plans)  # nothing changes


def test_the_command_line_replaces_the_registry(db, tmp_path):
    con = connect(db)
    try:
        path = tmp_path / "village.csv"
        path.write_bytes(village_file(con, rename_placeholders))
    finally:
        con.close()
    assert main(["load", "--db", str(db), "--user", "张三", str(path)]) == 0
    assert query(db, "SELECT name FROM village WHERE village_id = 'CJ14'") == [("海港社区",)]
    assert query(db, "SELECT kind, user_name FROM upload ORDER BY upload_id DESC LIMIT 1") == [
        ("village", "张三")
    ]
