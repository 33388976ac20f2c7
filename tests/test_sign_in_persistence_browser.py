"""A sign-in survives a reload and a pasted link, and ends where it must: a real
``streamlit run serve.py`` (as ``make run``) driven by Debian's headless Chromium.

The user signs in through the form; the page hands the HttpOnly cookie over; a reload
(F5) and a deep link pasted into a new tab of the same browser open signed in; no
request leaves the server's origin. Signing out clears the cookie, a reload asks for
sign-in again, and the other tab is signed out at its next interaction. An account
removed from the users file, and one whose sign-ins ``python -m auth revoke-sessions``
revoked while the server runs, are asked to sign in again on reload, with the reason.
Behind the shipped nginx (https) the cookie is Secure and a reload still works.
(The token store and the route alone: test_sign_in_tokens.py, test_session_cookie_route.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from playwright.sync_api import sync_playwright

from auth.roles import LEADER, OFFICE, SECRETARY
from auth.session_tokens import REVOKED, SIGNED_OUT, SessionTokens, digest, sessions_file
from auth.sign_in import REMOVED
from auth.store import UserStore
from harness.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    exceptions_on,
    session_cookie,
    sign_in,
    wait_until_idle,
)
from harness.server import ARTIFACTS, sample_database, server_errors, streamlit_server
from store.paths import REPO_ROOT
from tests.support.nginx import needs_nginx, running_nginx, self_signed_certificate

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "keep-password-1"
FORM = 'input[aria-label="用户名"]'
DESKTOP, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("keep-signed-in")
    db = sample_database(tmp_path_factory, work / "grid.duckdb")
    users = UserStore.load(work / "users.toml")
    users.set_user("keep_leader", PASSWORD, LEADER, display_name="保持领导")
    users.set_user("keep_cj03", PASSWORD, SECRETARY, village_id="CJ03", display_name="保持书记")
    users.set_user("keep_office", PASSWORD, OFFICE, display_name="保持镇办")
    with streamlit_server(db, {"GRID_USERS": str(users.path)}) as url:
        yield {"url": url, "db": db, "users": users.path}
    assert server_errors(db.with_suffix(".server.log")) == []


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def context(browser, server):
    """A browser profile (its cookies shared by its tabs) that records every request."""
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    ctx.requests = []
    ctx.on("request", lambda request: ctx.requests.append(request.url))
    yield ctx
    ctx.close()
    own = (server["url"] + "/", f"blob:{server['url']}/", "data:")
    assert [u for u in ctx.requests if not u.startswith(own)] == []


def new_page(context, url: str):
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(url)
    wait_until_idle(page)
    return page


def on_form(page) -> bool:
    return page.locator(FORM).count() > 0


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for size, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        wait_until_idle(page)
        page.screenshot(path=str(ARTIFACTS / f"keep-signed-in-{name}-{label}.png"))
    page.set_viewport_size(DESKTOP)


def reload(page) -> None:
    page.reload()
    wait_until_idle(page)


def test_a_reload_and_a_pasted_link_keep_the_user_signed_in_until_sign_out(server, context):
    url = server["url"]
    page = new_page(context, url)
    sign_in(page, "keep_leader", PASSWORD)
    cookie = session_cookie(context)
    # HttpOnly, same-site only, whole site, not Secure over plain http; for
    # session_max_hours (8 h, the users file's default) from now.
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/")
    assert cookie["secure"] is False
    assert 8 * 3600 - 600 < cookie["expires"] - time.time() <= 8 * 3600 + 5
    # Page scripts cannot read it, and nothing of the password reaches the browser.
    assert "grid_session" not in page.evaluate("document.cookie")
    assert PASSWORD not in json.dumps(context.storage_state())
    # The server keeps the token's digest only.
    store = sessions_file(server["db"])
    assert SessionTokens(store).get(digest(cookie["value"])).username == "keep_leader"
    assert cookie["value"].encode() not in store.read_bytes()

    reload(page)
    assert not on_form(page)
    assert page.get_by_text("当前用户：保持领导").count() == 1
    assert exceptions_on(page) == []
    shot(page, "after-reload")

    linked = new_page(context, f"{url}/coverage?from=2026-03&to=2026-06")
    assert not on_form(linked)
    main = linked.locator('[data-testid="stMain"]')
    assert main.locator("h1").first.inner_text().strip() == "网格覆盖"
    assert "from=2026-03" in linked.url and "to=2026-06" in linked.url
    assert exceptions_on(linked) == []
    shot(linked, "pasted-link")

    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="退出登录").click()
    page.wait_for_selector(FORM)
    wait_until_idle(page)
    assert session_cookie(context, present=False) is None
    reload(page)
    assert on_form(page)

    # The tab opened from the link held the same sign-in: its next interaction ends it.
    linked.locator("body").press("r")
    linked.wait_for_selector(FORM)
    wait_until_idle(linked)
    assert linked.get_by_text(SIGNED_OUT).count() == 1
    shot(linked, "signed-out-elsewhere")


def test_a_removed_user_and_revoked_sign_ins_are_asked_to_sign_in_on_reload(server, context):
    url = server["url"]
    page = new_page(context, url)
    sign_in(page, "keep_cj03", PASSWORD)
    session_cookie(context)
    reload(page)
    assert not on_form(page)

    UserStore.load(server["users"]).remove("keep_cj03")  # what python -m auth remove does
    reload(page)
    assert on_form(page)
    assert page.get_by_text(REMOVED).count() == 1
    assert session_cookie(context, present=False) is None
    shot(page, "removed")

    sign_in(page, "keep_office", PASSWORD)
    session_cookie(context)
    # While the server holds the database, the command line still revokes.
    done = subprocess.run(
        [sys.executable, "-m", "auth", "revoke-sessions", "keep_office", "--db", str(server["db"])],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "已撤销 keep_office 的 1 个登录" in done.stdout
    reload(page)
    assert on_form(page)
    assert page.get_by_text(REVOKED).count() == 1
    assert exceptions_on(page) == []


@needs_nginx
def test_behind_the_shipped_nginx_the_cookie_is_secure(server, browser, tmp_path_factory):
    tls = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    upstream = int(server["url"].rsplit(":", 1)[1])
    with running_nginx(tmp_path_factory.mktemp("nginx"), tls, upstream) as proxy:
        context = browser.new_context(ignore_https_errors=True, viewport=DESKTOP, locale="zh-CN")
        try:
            page = new_page(context, proxy.url)
            sign_in(page, "keep_leader", PASSWORD)
            cookie = session_cookie(context)
            assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (
                True,
                True,
                "Strict",
            )
            reload(page)
            assert not on_form(page)
            assert page.get_by_text("当前用户：保持领导").count() == 1
        finally:
            context.close()
