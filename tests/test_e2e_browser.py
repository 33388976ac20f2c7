"""End to end: a real ``streamlit run`` on loopback driven by Debian's headless Chromium.

One server for the module, on its own database (23 sample months ending 2026-09) and
its own users file. The tests sign in through the form, upload the 2026-10 files
through the upload page and see 总览 move to that month, follow a deep link, and click
a village's bar on 网格覆盖 to drill down to 村居详情. Every page of every role at a
desk, on a phone and on a wall screen: ``tests/test_every_page_browser.py``.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, sync_playwright

from auth.roles import OFFICE
from etl.generate import generate
from harness import browser as browser_support
from harness.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    exceptions_on,
    open_from_sidebar,
    wait_until_idle,
)
from harness.server import ARTIFACTS, sample_database, streamlit_server, write_users
from metrics import registry
from store.database import connect

pytestmark = pytest.mark.browser

USER, PASSWORD = "e2e_office", "e2e-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    db = sample_database(tmp_path_factory, work / "grid.duckdb", months=23, end=date(2026, 9, 1))
    con = connect(db, read_only=True)
    villages = dict(registry.villages(con).select("name", "village_id").iter_rows())
    con.close()
    users = write_users(work / "users.toml", [(USER, PASSWORD, OFFICE, "端到端测试")])
    month = work / "upload"
    generate(month, months=1, end=date(2026, 10, 1))
    with streamlit_server(db, {"GRID_USERS": str(users)}) as url:
        yield {"url": url, "upload_dir": month / "2026-10", "village_ids": villages}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser) -> Page:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    context.close()


def sign_in(page: Page) -> None:
    """Fill the sign-in form if it is shown."""
    browser_support.sign_in(page, USER, PASSWORD)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"), full_page=True)


def _latest_month_text(page: Page) -> str:
    heading = page.locator('[data-testid="stMain"]').get_by_text(re.compile(r"最近一个月"))
    return heading.first.inner_text()


def test_upload_through_the_page_updates_the_overview(server, page):
    page.goto(server["url"])
    sign_in(page)
    before = _latest_month_text(page)
    assert "2026年9月" in before

    open_from_sidebar(page, "数据上传")
    files = [str(server["upload_dir"] / f"{k}.csv") for k in ("activity", "attendance", "report")]
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(files)
    wait_until_idle(page)
    assert page.get_by_text("校验通过").count(), exceptions_on(page)
    page.get_by_role("button", name="确认载入").click()
    wait_until_idle(page)
    assert page.get_by_text(re.compile("已载入（批次")).count()
    assert exceptions_on(page) == []
    shot(page, "upload-done")

    open_from_sidebar(page, "总览")
    assert "2026年10月" in _latest_month_text(page)


def test_deep_link_to_a_village(server, page):
    page.goto(f"{server['url']}/village?village=CJ03")
    sign_in(page)
    assert exceptions_on(page) == []
    main = page.locator('[data-testid="stMain"]')
    # Signing in keeps the linked page, not only its filters.
    assert "/village" in page.url and "village=CJ03" in page.url
    assert main.get_by_role("heading", name="村居详情").count() > 0
    assert main.get_by_text("营房村").count() > 0
    shot(page, "village-deep-link")


def test_drill_down_from_a_village_bar(server, page):
    """A real click on a village's bar in 网格覆盖's villages-compared chart (Plotly,
    ``on_select``) opens 村居详情 for that village."""
    page.goto(server["url"])
    sign_in(page)
    open_from_sidebar(page, "网格覆盖")
    chart = page.locator(".st-key-coverage_compare_chart .js-plotly-plot")
    chart.scroll_into_view_if_needed()
    names = chart.locator(".xaxislayer-above .xtick text").all_text_contents()
    bars = chart.locator(".trace.bars").first.locator(".point path")  # first series
    assert bars.count() == len(names) == len(server["village_ids"]), names
    # A bar in the middle of the chart (not the default of the drill box below it).
    index = len(names) // 2
    name = names[index]
    village_id = server["village_ids"][name]

    bar = bars.nth(index)
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # Plotly's drag layer lies over the bars and turns the click into the selection.
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(r"/village\?"))
    wait_until_idle(page)

    assert exceptions_on(page) == []
    assert f"village={village_id}" in page.url
    main = page.locator('[data-testid="stMain"]')
    assert main.locator("h1").first.inner_text().strip() == "村居详情"
    assert main.get_by_text(name).count() > 0
    shot(page, "drill-down")
