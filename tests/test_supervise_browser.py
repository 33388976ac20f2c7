"""督办 and the 月度通报 in a real ``streamlit run``, driven by headless Chromium.

The dashboard holds its database; the sweep is run as the cron command would run it
(``python -m supervise sweep``) and is handed over to the dashboard. Then 镇办人员 open
the 督办 page and close an item, a 村居书记 sees their village's items only and writes
feedback, and 总览's button downloads the briefing PDF. Screenshots at 1440×900 and
390×844 go to test-artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from playwright.sync_api import sync_playwright

from auth.roles import OFFICE, SECRETARY
from auth.store import UserStore
from harness.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    exceptions_on,
    open_from_sidebar,
    patience,
    sign_in,
    wait_until_idle,
)
from harness.server import ARTIFACTS, sample_database, streamlit_server
from store.paths import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "supervise-e2e-1"
SIZES = {"desk": (1440, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("supervise-e2e")
    db = sample_database(tmp_path_factory, work / "grid.duckdb", months=23, end=date(2026, 9, 1))
    store = UserStore.load(work / "users.toml")
    store.set_user("sv_office", PASSWORD, OFFICE, display_name="镇办（测试）")
    store.set_user("sv_cj03", PASSWORD, SECRETARY, village_id="CJ03", display_name="书记（测试）")
    with streamlit_server(db, {"GRID_USERS": str(store.path)}) as url:
        yield {"url": url, "db": db}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def new_page(browser, size: str = "desk"):
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        accept_downloads=True,
        is_mobile=size == "phone",
    )
    page = context.new_page()
    page.set_default_timeout(90_000 * patience())
    return page


def close_sidebar_on_a_phone(page) -> None:
    """On a phone the open sidebar covers the page, as a user would close it."""
    collapse = page.locator('[data-testid="stSidebarCollapseButton"] button')
    if collapse.count():
        collapse.first.click()
        wait_until_idle(page)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"supervision-{name}.png"), full_page=True)


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *argv],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ},
        timeout=600 * patience(),
    )


def test_the_sweep_is_handed_over_and_the_office_closes_an_item(server, browser):
    page = new_page(browser)
    page.goto(server["url"])
    sign_in(page, "sv_office", PASSWORD)  # 总览 runs: the dashboard now holds the file
    swept = run("supervise", "sweep", "--db", str(server["db"]))
    assert swept.returncode == 0, swept.stderr
    assert "新立项" in swept.stdout and "新立项 0 件" not in swept.stdout
    open_from_sidebar(page, "督办")
    main = page.locator('[data-testid="stMain"]')
    assert exceptions_on(page) == []
    assert main.get_by_text("最新立项在前").count() == 1
    assert main.get_by_role("heading", name="督办").count()
    shot(page, "office-desk")
    main.get_by_role("tab", name="办结").click()
    main.get_by_role("button", name="办结", exact=True).click()
    wait_until_idle(page)
    assert main.get_by_text("已办结").count() > 0 and exceptions_on(page) == []
    closed = run("supervise", "list", "--db", str(server["db"]), "--status", "已办结")
    assert closed.returncode == 0 and '"status": "已办结"' in closed.stdout
    page.context.close()


def test_a_secretary_sees_their_village_and_answers(server, browser):
    assert run("supervise", "sweep", "--db", str(server["db"])).returncode == 0  # idempotent
    page = new_page(browser, "phone")
    page.goto(f"{server['url']}/supervision")
    sign_in(page, "sv_cj03", PASSWORD)
    close_sidebar_on_a_phone(page)
    main = page.locator('[data-testid="stMain"]')
    assert exceptions_on(page) == []
    assert main.get_by_text("营房村").count() > 0
    for other in ("沙积村", "东海村", "阮巷村"):
        assert main.get_by_text(other).count() == 0
    assert main.get_by_role("button", name="办结", exact=True).count() == 0  # office only
    shot(page, "secretary-phone")
    main.get_by_label("反馈内容").fill("已逐一上门，下周补学")
    main.get_by_role("button", name="提交反馈").click()
    wait_until_idle(page)
    assert main.get_by_text("已提交督办事项").count() == 1 and exceptions_on(page) == []
    shot(page, "secretary-phone-answered")
    page.context.close()


def test_the_overview_button_downloads_the_briefing(server, browser, tmp_path):
    page = new_page(browser)
    page.goto(server["url"])
    sign_in(page, "sv_office", PASSWORD)
    main = page.locator('[data-testid="stMain"]')
    button = main.get_by_role("button", name="下载全镇月度通报（PDF）")
    button.scroll_into_view_if_needed()
    shot(page, "overview-desk")
    with page.expect_download(timeout=180_000 * patience()) as download:
        button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".pdf" and saved.read_bytes().startswith(b"%PDF-")
    assert "月度通报" in saved.name
    text = subprocess.run(
        ["pdftotext", str(saved), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "漕泾镇网格化党建月度通报" in text.replace(" ", "")
    page.context.close()
