"""子网格详情 and 会议室大屏 in a real ``streamlit run`` driven by Debian's headless
Chromium: the sub-grid page at desk (1440×900) and phone (390×844) width, reached by a
deep link and by a real click on a 网格覆盖 heat-map cell; the TV screen at 1920×1080
rotating through its views without the sidebar, in type read across a room. Every
request stays on the server's origin. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import sync_playwright

from auth.roles import LEADER, OFFICE
from auth.store import UserStore
from harness.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_S,
    exceptions_on,
    patience,
    sign_in,
    wait_until_idle,
)
from harness.server import ARTIFACTS, sample_database, server_errors, streamlit_server, write_users

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "subgrid-tv-password-1"
DESK, PHONE, TV = (1440, 900), (390, 844), (1920, 1080)
SUBGRID_LINK = "/subgrid?subgrid=CJ03-02&village=CJ03&from=2026-04&to=2026-09"
TV_VIEWS = ("关键指标", "各村居成绩单", "预警", "平均堡垒指数地图")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("subgrid-tv")
    db = sample_database(tmp_path_factory, work / "grid.duckdb")
    users = write_users(
        work / "users.toml",
        [
            ("tv_leader", PASSWORD, LEADER, "大屏领导"),
            ("tv_office", PASSWORD, OFFICE, "大屏镇办"),
            ("tv_removed", PASSWORD, LEADER, "将被删除"),
        ],
    )
    with streamlit_server(db, {"GRID_USERS": str(users)}) as url:
        url.users = users
        yield url
    assert server_errors(db.with_suffix(".server.log")) == []


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def open_page(browser, server, size, path: str, user: str, foreign: list[str]):
    """A new context of ``size`` at ``path``, signed in as ``user``; requests that leave
    the server's origin are appended to ``foreign``."""
    width, height = size
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", is_mobile=width < 500
    )
    page = context.new_page()
    page.set_default_timeout(WAIT_S * patience() * 1000)

    def note(request) -> None:
        if not request.url.startswith((server, "data:", "blob:")):
            foreign.append(request.url)

    page.on("request", note)
    page.goto(server + path)
    sign_in(page, user, PASSWORD)
    wait_until_idle(page)
    return context, page


def shots(page, name: str, size) -> None:
    """The screen as the user sees it, and the whole page at the same width."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    tall = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size[0], "height": min(int(tall) + 40, 8000)})
    wait_until_idle(page)
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"))
    page.set_viewport_size({"width": size[0], "height": size[1]})


@pytest.mark.parametrize(("label", "size"), [("desk", DESK), ("phone", PHONE)])
def test_the_subgrid_page_from_a_link_on_a_desk_and_a_phone(server, browser, label, size):
    foreign: list[str] = []
    context, page = open_page(browser, server, size, SUBGRID_LINK, "tv_leader", foreign)
    try:
        collapse = page.locator('[data-testid="stSidebarCollapseButton"] button')
        if label == "phone" and collapse.count():
            collapse.first.click()
            wait_until_idle(page)
        assert exceptions_on(page) == []
        main = page.locator('[data-testid="stMain"]')
        assert main.get_by_role("heading", name="子网格详情").count() == 1
        assert main.get_by_text("营房村 第2网格（CJ03-02）").count() == 1
        assert "subgrid=CJ03-02" in page.url  # kept in the URL with the view's months
        assert "from=2026-04" in page.url
        assert main.get_by_text("子网格队伍").count() == 1
        # Nothing wider than the screen: the page itself never scrolls sideways.
        overflow = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=stMain]');"
            " return m.scrollWidth - m.clientWidth; }"
        )
        assert overflow <= 1
        shots(page, f"subgrid-{label}", size)
    finally:
        context.close()
    assert foreign == []


def test_a_click_on_a_heat_map_cell_opens_its_subgrid(server, browser):
    foreign: list[str] = []
    path = "/coverage?village=CJ03&from=2026-09&to=2026-09"
    context, page = open_page(browser, server, DESK, path, "tv_office", foreign)
    try:
        chart = page.locator(".st-key-coverage_heatmap_0 .js-plotly-plot")
        chart.wait_for()
        # The first row's cells are CJ03-01's (rows top down in id order).
        chart.locator(".scatterlayer .point").first.click(force=True)
        page.wait_for_url("**/subgrid?**", timeout=WAIT_S * patience() * 1000)
        wait_until_idle(page)
        assert "subgrid=CJ03-01" in page.url and "village=CJ03" in page.url
        assert page.get_by_text("营房村 第1网格（CJ03-01）").count() == 1
        assert exceptions_on(page) == []
    finally:
        context.close()
    assert foreign == []


def test_the_tv_screen_rotates_without_the_sidebar_in_large_type(server, browser):
    foreign: list[str] = []
    context, page = open_page(browser, server, TV, "/?screen=tv&seconds=10", "tv_leader", foreign)
    try:
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        assert not page.locator('header[data-testid="stHeader"]').is_visible()
        seen: list[str] = []
        deadline = time.monotonic() + 4 * WAIT_S * patience()
        while len(seen) < len(TV_VIEWS) and time.monotonic() < deadline:
            titles = page.locator(".tv-view").all_inner_texts()
            if titles and titles[0] not in seen:
                wait_until_idle(page)  # the whole view drawn, not only its title
                if "地图" in titles[0]:
                    page.locator(".st-key-tv_screen canvas").first.wait_for()
                    time.sleep(1)  # the polygons are drawn a moment after the canvas
                view = page.locator(".tv-view").inner_text()  # still or already shown
                if view not in seen:
                    seen.append(view)
                    assert exceptions_on(page) == [], view
                    page.screenshot(path=str(ARTIFACTS / f"tv-{TV_VIEWS.index(view) + 1}.png"))
                    readable(page, view)
            time.sleep(0.3)
        assert sorted(seen) == sorted(TV_VIEWS)
    finally:
        context.close()
    assert foreign == []


def readable(page, view: str) -> None:
    """Read from 4 m: body text of the screen ≥ 28 px, key figures ≥ 100 px."""
    sizes = (
        "(s) => [...document.querySelectorAll(s)]"
        ".map(e => parseFloat(getComputedStyle(e).fontSize))"
    )

    def smallest(selector: str) -> float:
        found = page.evaluate(sizes, selector)
        assert found, f"{view}: nothing matches {selector}"
        return min(found)

    assert smallest(".tv-view") >= 48
    if view == "关键指标":
        assert smallest(".tv-card-value") >= 100
        assert smallest(".tv-points li") >= 28
    if view in ("各村居成绩单", "预警"):
        assert smallest(".tv-table td") >= 28


def test_a_removed_account_is_signed_out_at_the_next_turn(server, browser):
    """The rotation reruns without the entry script: it checks the session itself."""
    foreign: list[str] = []
    context, page = open_page(browser, server, TV, "/?screen=tv&seconds=5", "tv_removed", foreign)
    try:
        page.locator(".tv-view").first.wait_for()
        UserStore.load(server.users).remove("tv_removed")
        page.locator('input[aria-label="用户名"]').wait_for(timeout=WAIT_S * patience() * 1000)
        assert page.locator(".tv-view").count() == 0
        assert exceptions_on(page) == []
    finally:
        context.close()
    assert foreign == []
