"""数据上传 page (AppTest): templates, rejection of a bad file, commit, undo, boundaries."""

from __future__ import annotations

import shutil

import pytest

from etl.load import validate_uploads
from etl.templates import template_csv, template_kinds, template_xlsx
from metrics.overview import town_summary
from store.contracts import KINDS
from store.database import connect
from store.paths import REGISTRY_DIR
from tests.support.page_runs import OFFICE_USER, run_page, texts

NEW_ACTIVITY = (
    "活动编号,活动日期,村居编号,子网格编号,活动类型,活动主题,活动地点编号,组织人编号,时长分钟\n"
    "HD202610-CJ03-01-901,2026-10-28,CJ03,CJ03-01,学习教育,测试上传,CJ03-S,CJ03-P0001,90\n"
    "HD202610-CJ03-01-902,2026-10-29,CJ03,CJ03-01,主题党日,测试上传,CJ03-S,CJ03-P0001,90\n"
).encode()
BAD_ACTIVITY = NEW_ACTIVITY.replace("CJ03,CJ03-01,学习".encode(), "CJ03,CJ03-77,学习".encode())


def _counts(db) -> tuple[int, int, int]:
    con = connect(db)
    try:
        return con.execute(
            "SELECT (SELECT count(*) FROM activity), (SELECT count(*) FROM upload), "
            "(SELECT count(*) FROM boundary)"
        ).fetchall()[0]
    finally:
        con.close()


@pytest.fixture
def db(sample_db, tmp_path, monkeypatch):
    path = tmp_path / "upload.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("GRID_DB", str(path))
    return path


def test_every_template_passes_validation(sample_db):
    con = connect(sample_db)
    try:
        for suffix, make in (("csv", template_csv), ("xlsx", template_xlsx)):
            files = [(f"{k.name}.{suffix}", make(k)) for k in template_kinds()]
            result = validate_uploads(con, files)
            assert result.ok, result.errors
            assert [f.kind for f in result.files] == [k.name for k in template_kinds()]
    finally:
        con.close()


def test_templates_are_offered_for_every_kind(db):
    at = run_page(db, "upload", user=OFFICE_USER)
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    # The six logs and the four lists' records (结对名册, 重要事项决策, 学习提示, 履职评价).
    assert labels.count("CSV 模板") == len(template_kinds()) == 10
    assert labels.count("Excel 模板") == 10


def test_a_bad_file_is_rejected_and_changes_nothing(db):
    before = _counts(db)
    at = run_page(db, "upload", user=OFFICE_USER)
    at.file_uploader(key="upload_files_0").set_value(("bad.csv", BAD_ACTIVITY, "text/csv")).run()
    assert not at.exception
    assert "整批文件均未载入" in texts(at)
    errors = next(d.value for d in at.dataframe if "原因" in d.value.columns)
    assert errors["行号"].to_list() == [2]
    assert errors["值"].to_list() == ["CJ03-77"]
    assert errors["原因"].to_list() == ["子网格编号不存在"]
    assert not [b for b in at.button if b.key == "upload_commit"]
    assert _counts(db) == before


def test_a_good_file_is_committed_shown_and_can_be_undone(db):
    before = _counts(db)
    at = run_page(db, "upload", user=OFFICE_USER)
    at.file_uploader(key="upload_files_0").set_value(("ok.csv", NEW_ACTIVITY, "text/csv")).run()
    assert not at.exception
    assert "校验通过" in texts(at)
    at.button(key="upload_commit").click().run()
    assert not at.exception
    assert "已载入" in texts(at) and "新增 2 行" in texts(at)
    assert _counts(db)[0] == before[0] + 2

    # the overview shows the new activities at once (no stale cache)
    at.switch_page("app_pages/overview.py").run()
    values = {m.label: m.value for m in at.metric}
    con = connect(db)
    try:
        expected = town_summary(con).activities
    finally:
        con.close()
    assert values["开展活动（场）"] == f"{expected:,}"

    at.switch_page("app_pages/upload.py").run()
    at.checkbox(key="undo_confirm").check().run()
    at.button(key="undo_button").click().run()
    assert not at.exception
    assert "已撤销" in texts(at)
    assert _counts(db)[0] == before[0]


def test_boundaries_reject_bad_geojson_and_accept_good(db):
    before = _counts(db)
    at = run_page(db, "upload", user=OFFICE_USER)
    bad = (
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        b'{"level": "village", "unit_id": "XX01"}, "geometry": null}]}'
    )
    at.file_uploader(key="boundary_file").set_value(("b.geojson", bad, "application/json")).run()
    at.button(key="boundary_commit").click().run()
    assert not at.exception
    assert "未替换" in texts(at) and "XX01" in texts(at)
    assert _counts(db) == before
    good = (REGISTRY_DIR / "boundaries.geojson").read_bytes()
    at.file_uploader(key="boundary_file").set_value(("b.geojson", good, "application/json")).run()
    at.button(key="boundary_commit").click().run()
    assert "已替换边界：14 个村居、89 个子网格" in texts(at)
    assert _counts(db)[2] == 103


def test_kinds_have_templates():
    assert {k.name for k in template_kinds()} == {n for n, k in KINDS.items() if k.uploadable}
