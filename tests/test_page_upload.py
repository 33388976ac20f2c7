"""数据上传 page (AppTest): templates, rejection of a bad file, commit, undo, boundaries;
the traps: example rows, rows outside the declared village or month (accept or refused),
the undo form after an undo, the uploader's Chinese guide, the registry."""

from __future__ import annotations

import shutil

import pytest

from etl.load import load_uploads, validate_uploads
from etl.registry_upload import registry_lists
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


def test_every_template_is_read_and_only_its_example_row_is_refused(sample_db):
    con = connect(sample_db)
    try:
        lists = registry_lists(con)
        for suffix, make in (("csv", template_csv), ("xlsx", lambda k: template_xlsx(k, lists))):
            files = [(f"{k.name}.{suffix}", make(k)) for k in template_kinds()]
            result = validate_uploads(con, files)
            read = [f.kind for f in result.files if f.part is not None]
            assert read == [k.name for k in template_kinds()]
            assert result.errors["行号"].to_list() == [2] * len(template_kinds())
            assert result.errors["原因"].str.contains("示例行").all()
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
    reason = errors["原因"][0]
    # The valid sub-grids of the row's village, with their names.
    assert reason.startswith("子网格编号不存在。营房村（CJ03）的子网格：CJ03-01 ")
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


def _texts_of(at, element: str) -> str:
    return " ".join(str(e.value) for e in at.get(element))


def test_a_template_uploaded_with_its_example_row_is_refused_naming_the_row(db):
    before = _counts(db)
    template = template_csv(KINDS["activity"]).decode("utf-8-sig")
    mine = NEW_ACTIVITY.decode().splitlines()[1]
    data = (template + mine + "\n").encode()
    at = run_page(db, "upload", user=OFFICE_USER)
    at.file_uploader(key="upload_files_0").set_value(("活动模板.csv", data, "text/csv")).run()
    assert not at.exception
    errors = next(d.value for d in at.dataframe if "原因" in d.value.columns)
    assert errors["行号"].to_list() == [2]
    assert "模板自带的示例行（第 2 行）" in errors["原因"][0]
    assert not [b for b in at.button if b.key == "upload_commit"]
    assert _counts(db) == before


OTHER_VILLAGE = NEW_ACTIVITY + (
    "HD202610-CJ05-01-903,2026-10-29,CJ05,CJ05-01,主题党日,测试上传,CJ05-S,,90\n".encode()
)


def test_rows_of_another_village_must_be_accepted_before_the_commit(db):
    before = _counts(db)
    at = run_page(db, "upload", user=OFFICE_USER)
    upload = ("营房村_2026年10月_活动台账.csv", OTHER_VILLAGE, "text/csv")
    at.file_uploader(key="upload_files_0").set_value(upload).run()
    assert not at.exception
    assert "有 1 行不属于文件所对应的村居或月份" in _texts_of(at, "warning")
    flagged = next(d.value for d in at.dataframe if "原因" in d.value.columns)
    assert flagged["行号"].to_list() == [4]
    assert "水库村（CJ05）" in flagged["原因"][0]
    # Committing without the tick refuses and changes nothing.
    at.button(key="upload_commit").click().run()
    assert not at.exception
    assert "未载入：有 1 行不属于" in _texts_of(at, "error")
    assert _counts(db) == before
    accept = next(c for c in at.checkbox if c.key.startswith("upload_accept_outside_"))
    assert accept.value is False
    accept.check().run()
    at.button(key="upload_commit").click().run()
    assert not at.exception
    assert "新增 3 行" in texts(at)
    assert _counts(db)[0] == before[0] + 3


def test_after_an_undo_the_form_is_unticked_and_stays_near_the_undone_batch(db):
    con = connect(db)
    try:
        last_sample = con.execute("SELECT max(batch_id) FROM upload").fetchall()[0][0]
        older = load_uploads(con, [("a.csv", NEW_ACTIVITY)], "t").batch_id
        other = NEW_ACTIVITY.replace(b"-901,", b"-911,").replace(b"-902,", b"-912,")
        newer = load_uploads(con, [("b.csv", other)], "t").batch_id
    finally:
        con.close()
    at = run_page(db, "upload", user=OFFICE_USER)
    assert at.selectbox(key="undo_batch").value == newer  # newest first
    at.selectbox(key="undo_batch").set_value(older).run()
    at.checkbox(key="undo_confirm").check().run()
    at.button(key="undo_button").click().run()
    assert not at.exception
    assert f"已撤销批次 {older}" in texts(at)
    assert at.checkbox(key="undo_confirm").value is False
    # The nearest older batch, not the newest one Streamlit would fall back to.
    assert at.selectbox(key="undo_batch").value == last_sample
    assert older not in at.selectbox(key="undo_batch").options


def test_the_uploader_is_explained_in_chinese(db):
    at = run_page(db, "upload", user=OFFICE_USER)
    guide = _texts_of(at, "caption")
    assert "把文件拖到下方虚线框内" in guide and "每个文件不超过 50 MB" in guide
    assert "“Upload”= 选择文件" in guide


def test_the_registry_is_offered_and_replaced_on_the_page(db):
    at = run_page(db, "upload", user=OFFICE_USER)
    labels = [b.label for b in at.get("download_button")]
    assert labels.count("CSV 名册") == 3 and labels.count("Excel 名册") == 3
    con = connect(db)
    try:
        rows = con.sql("SELECT * FROM village ORDER BY 1").pl()
    finally:
        con.close()
    text = "村居编号,镇编号,镇名称,村居名称,类型,是否占位,经度,纬度\n" + "\n".join(
        f"{r['village_id']},{r['town_id']},{r['town_name']},"
        f"{'朝阳村' if r['village_id'] == 'CJ12' else r['name']},{r['kind']},"
        f"{'否' if r['village_id'] == 'CJ12' or not r['is_placeholder'] else '是'},"
        f"{r['lon']},{r['lat']}"
        for r in rows.iter_rows(named=True)
    )
    at.file_uploader(key="upload_files_0").set_value(("村居.csv", text.encode(), "text/csv")).run()
    assert not at.exception
    warnings = next(d.value for d in at.dataframe if "原因" in d.value.columns and len(d.value))
    assert "名称将由“待定村A（占位）”改为“朝阳村”" in warnings["原因"].to_list()
    at.button(key="upload_commit").click().run()
    assert "更新 1 行" in texts(at)
    con = connect(db)
    try:
        assert con.execute("SELECT name FROM village WHERE village_id = 'CJ12'").fetchall() == [
            ("朝阳村",)
        ]
    finally:
        con.close()
