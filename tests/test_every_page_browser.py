"""Every page of every role in a real ``streamlit run`` driven by Debian's headless
Chromium, at a desk, on a phone and on the meeting-room TV.

One server and one browser for the module; one context per role and screen. Each
role signs in through the form and opens every page its role may open at 1440×900;
the 镇办人员 (who may open every analytics page and 数据上传) also at 1920×1080 (the
same session, resized) and on a phone at 390×844, where the sidebar is collapsed after
sign-in; the 镇领导 opens 会议室大屏 at ``/?screen=tv`` at 1920×1080. On every page:

- no Streamlit exception block and no error alert; the charts drawn;
- no request leaves the server's origin (offices run offline; ``page.on("request")``);
- the page never scrolls sideways (``document.scrollingElement.scrollWidth`` ≤ the
  viewport's width): a wide table scrolls inside its own frame;
- words, not codes: every visible text (main area and sidebar, table cells, chart
  text) is searched for ASCII words — ``None``, ``nan``, English, file paths,
  configuration names. Ids (CJ03, CJ03-02, MQ202609-CJ03-01-001), file formats a
  download button names (CSV, Excel, PDF), uploaded files' names (activity.csv) and the
  registry's and accounts' own names are allowed.

Screenshots go to ``test-artifacts/pages-<role>-<page>-<size>.png``: the whole page for
the 镇办人员 at a desk and on a phone, the screen for the rest.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from auth.roles import ADMIN, LEADER, OFFICE, PAGES_BY_ROLE, SECRETARY
from auth.store import UserStore
from harness.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_S, exceptions_on, patience
from harness.browser import wait_until_idle as settle
from harness.server import ARTIFACTS, sample_database, server_errors, streamlit_server
from metrics import registry
from store.database import connect
from ui.navigation import ADMIN_PAGE, PAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "every-page-password-1"
ACCOUNTS = {  # user name → (role, village)
    "leader": (LEADER, None),
    "office": (OFFICE, None),
    "cj03": (SECRETARY, "CJ03"),
    "admin": (ADMIN, None),
}
DESK, PHONE, WALL = (1440, 900), (390, 844), (1920, 1080)
INFOS = {p.key: p for p in (*PAGES, ADMIN_PAGE)}
# Pages whose content needs a unit: opened as a town leader would from a link.
LINKS = {"village": "?village=CJ03", "subgrid": "?subgrid=CJ03-02&village=CJ03"}

# ASCII words a page may show: ids (letters and digits, at least one digit, joined by
# hyphens: CJ03, CJ03-02, D01, CJ-L01, MQ202609-CJ03-01-001) and file formats.
ID = re.compile(r"(?=[A-Z-]*\d)[A-Z0-9]+(?:-[A-Z0-9]+)*")
FORMATS = {"CSV", "Excel", "PDF", "XLSX", "XLS"}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:[./:\\-][A-Za-z0-9_]+)*")
# An uploaded file's name (the audit log and the upload history say what was loaded):
# data, not a path (a path has a slash and is flagged).
FILE_NAME = re.compile(r"[\w-]+\.(?:csv|xlsx|xls|geojson|json|pdf)", re.IGNORECASE)
# Never an id, though it looks like one.
CODES = {"P90", "P50"}
# 数据上传 (app_pages/upload.py, another agent's page) is checked for everything but
# words: its file uploader and boundary tab name formats and file kinds.
WORDS_NOT_CHECKED = {"upload"}

TEXT_JS = """() => {
    const skip = 'style, script, noscript, [data-testid*="Icon"], '
        + '[data-testid="stSidebarNavLinkIcon"], .modebar, [data-testid="stTooltipIcon"]';
    const out = [];
    for (const root of document.querySelectorAll(
            '[data-testid="stMain"], [data-testid="stSidebar"]')) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const text = n.nodeValue.trim();
            if (text && !n.parentElement.closest(skip)) out.push(text);
        }
    }
    return out;
}"""
WIDTH_JS = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
ERROR_ALERTS = '[data-testid="stAlertContentError"]'
SIGN_OUT = '[data-testid="stSidebar"] button:has-text("退出登录")'
SIGNED_IN_OR_REFUSED_JS = f"""() =>
    [...document.querySelectorAll('[data-testid="stSidebar"] button')]
        .some(b => b.innerText.includes('退出登录'))
    || !!document.querySelector('{ERROR_ALERTS}')"""
# Pages whose charts must be drawn (Plotly renders SVG for the data; the map a canvas).
CHARTED = {"overview", "coverage", "study", "response", "ranking", "village", "subgrid"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("every-page")
    db = sample_database(tmp_path_factory, work / "grid.duckdb")
    con = connect(db, read_only=True)
    names = " ".join(registry.villages(con)["name"].to_list())
    names += " " + " ".join(registry.subgrids(con)["name"].to_list())
    names += " " + " ".join(registry.service_points(con)["name"].to_list())
    con.close()
    store = UserStore.load(work / "users.toml")
    for user, (role, village) in ACCOUNTS.items():
        store.set_user(user, PASSWORD, role, village_id=village, display_name=f"巡检{role}")
    with streamlit_server(db, {"GRID_USERS": str(store.path)}) as url:
        # The registry's names and the accounts' user names (用户与审计 lists them) are
        # data, whatever their letters.
        url.registry_words = set(WORD.findall(names)) | set(ACCOUNTS)
        yield url
    assert server_errors(db.with_suffix(".server.log")) == []


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Visit:
    """One role's context: signs in, opens pages, records what went wrong."""

    def __init__(self, browser, server, user: str, size: tuple[int, int]):
        self.server, self.user, self.size = server, user, size
        self.context = browser.new_context(
            viewport={"width": size[0], "height": size[1]}, locale="zh-CN"
        )
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(WAIT_S * patience() * 1000)
        self.foreign: list[str] = []
        self.problems: list[str] = []
        self.page.on("request", self._note)

    def _note(self, request) -> None:
        if not request.url.startswith((self.server, "data:", "blob:")):
            self.foreign.append(request.url)

    def sign_in(self) -> None:
        """Through the form; done when the sidebar offers 退出登录 (the admin page has a
        用户名 field of its own, and a single page has no navigation)."""
        page = self.page
        page.goto(self.server)
        settle(page)
        page.get_by_label("用户名").fill(self.user)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_function(SIGNED_IN_OR_REFUSED_JS, polling=200)
        settle(page)
        assert page.locator(SIGN_OUT).count(), page.locator(ERROR_ALERTS).all_inner_texts()

    def open(self, key: str, path: str | None = None) -> None:
        """Open page ``key`` (at its own address, or ``path``) and wait until drawn."""
        if path is None:
            path = "/" if key in ("overview", "admin") else f"/{INFOS[key].url_path}"
            path += LINKS.get(key, "")
        self.page.goto(self.server + path)
        settle(self.page)
        if key == "map":  # the map draws on a canvas after the run
            self.page.locator("canvas").first.wait_for()
        if key == "tv":
            self.page.locator(".tv-view").first.wait_for()

    def check(self, key: str, allowed: set[str]) -> None:
        """No exception, no error alert, no sideways scroll, no code words."""
        page, where = self.page, f"{self.user} {key} {self.size[0]}×{self.size[1]}"
        for text in exceptions_on(page):
            self.problems.append(f"{where}: exception {text[:200]}")
        for text in page.locator(ERROR_ALERTS).all_inner_texts():
            self.problems.append(f"{where}: error alert {text[:200]}")
        wide, viewport = page.evaluate(WIDTH_JS)
        if wide > viewport:
            self.problems.append(f"{where}: {wide} px wide in a {viewport} px viewport")
        if key in CHARTED and not page.locator(".js-plotly-plot").count():
            self.problems.append(f"{where}: no chart drawn")
        if key not in WORDS_NOT_CHECKED:
            words = code_words(page.evaluate(TEXT_JS), allowed)
            if words:
                self.problems.append(f"{where}: {sorted(words)}")

    def shot(self, name: str, whole: bool = True) -> Path:
        """The whole page (Streamlit scrolls inside its main area, so the viewport is
        made as tall as the page for the picture), or what the screen shows."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"pages-{self.user}-{name}.png"
        page = self.page
        if not whole:
            page.screenshot(path=str(path))
            return path
        tall = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        width, height = self.size
        page.set_viewport_size({"width": width, "height": max(height, min(int(tall), 8000))})
        settle(page)
        page.screenshot(path=str(path))
        page.set_viewport_size({"width": width, "height": height})
        return path

    def resize(self, size: tuple[int, int]) -> None:
        """The same session on another screen (no rerun: the layout follows)."""
        if size != self.size:
            self.size = size
            self.page.set_viewport_size({"width": size[0], "height": size[1]})
            settle(self.page)

    def close(self) -> None:
        self.context.close()


def code_words(texts: list[str], allowed: set[str]) -> set[str]:
    """The ASCII words of ``texts`` that are neither ids, formats nor registry or
    account names (``allowed``)."""
    found = set()
    for text in texts:
        for word in WORD.findall(text):
            fine = word not in CODES and (
                ID.fullmatch(word)
                or FILE_NAME.fullmatch(word)
                or word in FORMATS
                or word in allowed
            )
            if not fine:
                found.add(word)
    return found


def pages_of(user: str) -> list[str]:
    return list(PAGES_BY_ROLE[ACCOUNTS[user][0]])


@pytest.mark.parametrize("user", ["leader", "cj03", "admin"])
def test_every_page_of_every_role_at_a_desk(server, browser, user):
    """The other roles' pages at 1440×900 (the screen they see; the 镇办人员's whole
    pages are below)."""
    visit = Visit(browser, server, user, DESK)
    try:
        visit.sign_in()
        for key in pages_of(user):
            visit.open(key)
            visit.check(key, server.registry_words)
            visit.shot(f"{key}-desk", whole=False)
        if user == "admin":  # the audit log: sign-ins, the sample's loads, in words
            visit.page.get_by_role("tab", name="审计日志").click()
            settle(visit.page)
            visit.check("admin", server.registry_words)
            visit.shot("audit-desk", whole=False)
    finally:
        visit.close()
    assert visit.problems == []
    assert visit.foreign == []


def test_every_page_of_the_town_office_at_a_desk_and_on_a_wall(server, browser):
    """镇办人员 (every analytics page and 数据上传) at 1440×900, then in the same session
    at 1920×1080; whole-page pictures at the desk."""
    visit = Visit(browser, server, "office", DESK)
    try:
        visit.sign_in()
        for key in pages_of("office"):
            visit.resize(DESK)
            visit.open(key)
            visit.check(key, server.registry_words)
            visit.shot(f"{key}-desk")
            visit.resize(WALL)
            visit.check(key, server.registry_words)
            visit.shot(f"{key}-wall", whole=False)
    finally:
        visit.close()
    assert visit.problems == []
    assert visit.foreign == []


def test_every_page_on_a_phone(server, browser):
    """镇办人员's pages at 390×844: the sidebar collapsed after sign-in; whole pages."""
    visit = Visit(browser, server, "office", PHONE)
    try:
        visit.sign_in()
        sidebar = visit.page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_attribute("data-collapsed") == "true"
        box = sidebar.bounding_box()
        assert box is None or box["x"] + box["width"] <= 0  # off the screen
        for key in pages_of("office"):
            visit.open(key)
            visit.check(key, server.registry_words)
            visit.shot(f"{key}-phone")
    finally:
        visit.close()
    assert visit.problems == []
    assert visit.foreign == []


def test_the_tv_screen_at_its_own_address_on_a_wall(server, browser):
    """What the meeting-room TV keeps as its home page: ``/?screen=tv``, no sidebar."""
    visit = Visit(browser, server, "leader", WALL)
    try:
        visit.sign_in()
        visit.open("tv", "/?screen=tv&seconds=600")
        assert not visit.page.locator('[data-testid="stSidebar"]').is_visible()
        visit.check("tv", server.registry_words)
        visit.page.screenshot(path=str(ARTIFACTS / "pages-leader-tv-screen.png"))
    finally:
        visit.close()
    assert visit.problems == []
    assert visit.foreign == []
