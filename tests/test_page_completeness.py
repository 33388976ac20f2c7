"""报送情况 page, the 未报送 banner of the analytics pages and the 零报告 form of 数据上传
(AppTest through dashboard.py), and screenshots of the page in Chromium.

The database: the sample with 水库村 (CJ05) missing its October activities and
sign-ins, 东海村 (CJ07) without October reports but with 零报告 declared for them, and
the uploads dated as an office would have made them, September's late.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from playwright.sync_api import sync_playwright

from auth.roles import OFFICE
from auth.store import UserStore, current_store
from etl.zero_reports import declare_zero_report
from harness.browser import CHROMIUM, CHROMIUM_ARGS, exceptions_on, sign_in, wait_until_idle
from harness.server import ARTIFACTS, streamlit_server, write_users
from metrics.completeness import completeness, status_counts
from store.database import connect
from tests.support.loading import copy_db, query
from tests.support.page_runs import OFFICE_USER, computed, plotly_specs, run_page, secretary, texts
from tests.support.reporting import date_uploads, delete_unit

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
MISSING, ZERO_VILLAGE = "CJ05", "CJ07"
RANGE = {"from": "2026-09", "to": "2026-10"}
CLERK = "office"  # an account of the users file: shown by its display name


@pytest.fixture(scope="module")
def reporting_db(sample_db, tmp_path_factory):
    db = copy_db(sample_db, tmp_path_factory.mktemp("reporting") / "grid.duckdb")
    delete_unit(db, MISSING, OCT, ("activity", "attendance"))
    delete_unit(db, ZERO_VILLAGE, OCT, ("report",))
    date_uploads(db, CLERK, late={SEP: "2026-10-14 16:20"})
    con = connect(db)
    try:
        declare_zero_report(con, ZERO_VILLAGE, OCT, ["report"], CLERK, "本月无民情")
    finally:
        con.close()
    return db


@pytest.fixture
def page_db(reporting_db, tmp_path, monkeypatch):
    """A private copy of the reporting database, opened by the app (GRID_DB)."""
    db = copy_db(reporting_db, tmp_path / "grid.duckdb")
    monkeypatch.setenv("GRID_DB", str(db))
    return db


def clerk_name() -> str:
    return current_store().user(CLERK).display_name


def village_name(db, village_id: str) -> str:
    return query(db, "SELECT name FROM village WHERE village_id = ?", [village_id])[0][0]


def heatmaps(at) -> list[dict]:
    return [t for spec in plotly_specs(at) for t in spec["data"] if t["type"] == "heatmap"]


def cell(trace: dict, row: str, column: str) -> str:
    return trace["text"][trace["y"].index(row)][trace["x"].index(column)]


@pytest.mark.slow
def test_the_page_shows_every_unit_in_words(page_db):
    at = run_page(page_db, "completeness", RANGE)
    assert not at.exception
    expected = computed(page_db, completeness, SEP, OCT)
    counts = status_counts(expected)
    assert counts["未报送"] == 2 and counts["零报告"] == 1 and counts["迟报"] > 0
    shown = {m.label: m.value for m in at.metric}
    assert shown == {f"{status}（个）": f"{n:,}" for status, n in counts.items()}
    missing, zero = village_name(page_db, MISSING), village_name(page_db, ZERO_VILLAGE)
    assert f"2026年10月 {missing}：未报送 活动、出勤" in texts(at)

    activity, attendance, report = heatmaps(at)
    villages = expected["village_name"].unique(maintain_order=True).to_list()
    for trace in (activity, attendance, report):
        assert trace["y"] == villages and trace["x"] == ["9月", "10月"]
        assert {row[0] for row in trace["text"]} == {"迟报"}  # September came late
    assert cell(activity, missing, "10月") == cell(attendance, missing, "10月") == "未报送"
    assert cell(report, missing, "10月") == "已报送"
    assert cell(report, zero, "10月") == "零报告"
    hover = report["customdata"][villages.index(zero)][1]
    assert "零报告登记：" + clerk_name() in hover
    hover = activity["customdata"][0][0]
    assert f"首次上传：2026-10-14 16:20（{clerk_name()}）" in hover

    table = at.dataframe[0].value
    assert len(table) == expected.height
    first = table.head(2)
    assert first["村居"].tolist() == [missing, missing]
    assert first["状态"].tolist() == ["未报送", "未报送"]
    september = table[table["月份"] == "2026年9月"]
    assert set(september["首次上传时间"]) == {"2026-10-14 16:20"}
    assert set(september["上传人"]) == {clerk_name()}
    words = {str(v) for column in table.columns for v in table[column]}
    assert not {"None", "null", "nan", CLERK, "activity", "attendance", "report"} & words


@pytest.mark.slow
def test_a_secretary_sees_her_village_by_kind(page_db, tmp_path, monkeypatch):
    own = secretary(MISSING)
    users = UserStore.load(tmp_path / "users.toml")
    users.set_user(own.username, "secretary-password-1", own.role, MISSING, own.display_name)
    monkeypatch.setenv("GRID_USERS", str(users.path))
    at = run_page(page_db, "completeness", RANGE, user=own)
    assert not at.exception
    (matrix,) = heatmaps(at)
    assert matrix["y"] == ["活动", "出勤", "民情"]
    assert matrix["text"] == [["迟报", "未报送"], ["迟报", "未报送"], ["迟报", "已报送"]]
    assert set(at.dataframe[0].value["村居"]) == {village_name(page_db, MISSING)}


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", ["overview", "coverage", "study", "response", "map", "village", "ranking"]
)
def test_analytics_pages_name_the_unreported_units(page_db, page):
    at = run_page(page_db, page, RANGE)
    banner = [w.value for w in at.warning if "未报送" in w.value]
    assert banner == [f"2026年10月 {village_name(page_db, MISSING)} 未报送 活动、出勤"], page
    links = [el.proto for el in at.get("page_link")]
    assert any(
        link.page.endswith("completeness.py") or "completeness" in link.page for link in links
    )


@pytest.mark.slow
def test_no_banner_when_every_unit_reported(page_db):
    at = run_page(page_db, "study", {"from": "2026-05", "to": "2026-09"})
    assert not [w for w in at.warning if "未报送" in w.value]


@pytest.mark.slow
def test_zero_report_form_declares_refuses_and_withdraws(page_db, monkeypatch):
    monkeypatch.setattr("store.clock.now_local", lambda: datetime(2026, 11, 5, 10, 0))
    at = run_page(page_db, "upload", user=OFFICE_USER)
    assert not at.exception

    def declare(kinds: list[str]) -> None:
        at.selectbox(key="zero_village").set_value(MISSING)
        at.selectbox(key="zero_month").set_value(OCT)
        at.multiselect(key="zero_kinds").set_value(kinds)
        next(b for b in at.button if b.label == "登记零报告").click().run()

    declare(["activity", "attendance"])
    assert not at.exception
    name = village_name(page_db, MISSING)
    assert f"已登记零报告：{name} 2026年10月 活动、出勤" in texts(at)
    declared = query(
        page_db, "SELECT kind, declared_by FROM zero_report WHERE village_id = ?", [MISSING]
    )
    assert sorted(declared) == [("activity", "office"), ("attendance", "office")]

    declare(["report"])  # its reports were uploaded
    assert "未登记：" in texts(at) and "已有数据" in texts(at)
    assert query(page_db, "SELECT count(*) FROM zero_report")[0][0] == 3  # CJ07's and two

    listed = next(df.value for df in at.dataframe if "声明人" in df.value.columns)
    assert set(listed["村居"]) == {name, village_name(page_db, ZERO_VILLAGE)}
    picks = at.selectbox(key="zero_withdraw_pick")
    row = next(
        i for i, text in enumerate(picks.options) if text.startswith(name) and text.endswith("出勤")
    )
    picks.set_value(row)
    at.checkbox(key="zero_withdraw_confirm").check().run()
    at.button(key="zero_withdraw_button").click().run()
    assert f"已撤销零报告：{name} 2026年10月 出勤" in texts(at)
    assert query(page_db, "SELECT kind FROM zero_report WHERE village_id = ?", [MISSING]) == [
        ("activity",)
    ]
    frame = computed(page_db, completeness, OCT, OCT, MISSING)
    assert dict(frame.select("kind", "status").iter_rows()) == {
        "activity": "零报告",
        "attendance": "未报送",
        "report": "已报送",
    }


@pytest.mark.slow
@pytest.mark.browser
def test_screenshots_on_a_desk_and_a_phone(page_db, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    users = write_users(tmp_path / "users.toml", [("shots", "shots-password-1", OFFICE, "截图")])
    with streamlit_server(page_db, {"GRID_USERS": str(users)}) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, size in (("desk", (1440, 900)), ("phone", (390, 844))):
                context = browser.new_context(
                    viewport={"width": size[0], "height": size[1]},
                    locale="zh-CN",
                    is_mobile=name == "phone",
                )
                page = context.new_page()
                page.set_default_timeout(120_000)
                page.goto(f"{url}/completeness?from=2026-09&to=2026-10")
                sign_in(page, "shots", "shots-password-1")
                wait_until_idle(page)
                collapse = page.locator('[data-testid="stSidebarCollapseButton"] button')
                if name == "phone" and collapse.count():
                    collapse.first.click()
                assert exceptions_on(page) == []
                main = page.locator('[data-testid="stMain"]')
                assert main.get_by_text("报送矩阵").count() == 1
                assert page.locator(".js-plotly-plot").count() == 3
                page.screenshot(path=str(ARTIFACTS / f"completeness-{name}.png"))
                context.close()
        finally:
            browser.close()
    shots = [ARTIFACTS / f"completeness-{n}.png" for n in ("desk", "phone")]
    assert all(s.stat().st_size > 10_000 for s in shots)
