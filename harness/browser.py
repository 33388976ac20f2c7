"""Headless Debian Chromium driving the dashboard (Playwright, never a downloaded
browser): launch flags, waiting for a script run to settle, signing in through the
form and for its cookie, counting script runs on the websocket; sync and async.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from auth.session_cookie import COOKIE_NAME

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_WHY_BUSY_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return {
        script: app ? app.getAttribute('data-test-script-state') : 'no app',
        main: !!document.querySelector('[data-testid="stMain"]'),
        statusWidget: !!document.querySelector('[data-testid="stStatusWidget"]'),
        skeletons: [...document.querySelectorAll('[data-testid="stSkeleton"]')].map(
            (el) => (el.closest('[data-testid="stElementContainer"]') || el).className
                + ' after ' + ((el.closest('[data-testid="stElementContainer"]') || el)
                    .previousElementSibling?.innerText || '').slice(0, 40)),
        connection: app ? app.getAttribute('data-test-connection-state') : null,
    };
}"""

# Finished running and shown; with ``drawn`` also every lazily loaded chart and table
# drawn (no skeletons left).
_IDLE_JS = """(drawn) => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !!document.querySelector('[data-testid="stMain"]')
        && !document.querySelector('[data-testid="stStatusWidget"]')
        && (!drawn || !document.querySelector('[data-testid="stSkeleton"]'));
}"""


# How long a wait may last is not a fixed number: on a busy two-core machine a run that
# takes 2 s when quiet takes 20. Waits are multiples of WAIT_S scaled by the machine's
# measured slowness (see patience()), so a test fails for a page that never settles,
# not for a machine that is busy.
WAIT_S = 90.0
QUIET_S = 0.4  # see quiet_window_s()
_REFERENCE_S = 0.08  # the probe below on this project's quiet development machine


_measured: list[tuple[float, float]] = []  # (when, factor) of the last measurement


def patience() -> float:
    """How much slower than usual this machine runs now (≥ 1; ``GRID_TEST_PATIENCE``
    multiplies it). A fixed single-threaded hashing workload, timed against what it
    takes on a quiet machine; measured at most every 30 s."""
    if _measured and time.monotonic() - _measured[0][0] < 30:
        return _measured[0][1]
    started = time.perf_counter()
    block = b"x" * 2**20
    for _ in range(120):
        hashlib.sha256(block).digest()
    slowness = (time.perf_counter() - started) / _REFERENCE_S
    factor = max(1.0, min(slowness, 10.0)) * float(os.environ.get("GRID_TEST_PATIENCE", "1"))
    _measured[:] = [(time.monotonic(), factor)]
    return factor


def quiet_window_s() -> float:
    """How long a page must stay finished before a test reads it: long enough for a
    rerun the page asks for itself (a query parameter, a component's value) to have
    started. The frontend asks within tens of milliseconds; on a busy machine later, so
    the window grows with :func:`patience` (0.4 s quiet, at most 2 s). It was a fixed
    second, which the browser tests paid some 300 times per run."""
    return min(QUIET_S * patience(), 5 * QUIET_S)


def wait_until_idle(page, timeout_s: float | None = None) -> None:
    """Wait until Streamlit has finished running the script and rendered the page
    (script state "notRunning", no status widget, no skeletons) for
    :func:`quiet_window_s`.

    The default timeout is :data:`WAIT_S` × :func:`patience`."""
    timeout_s = timeout_s or WAIT_S * patience()
    quiet_s = quiet_window_s()
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        if not page.evaluate(_IDLE_JS, True):  # running, or the status widget/skeletons shown
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the page did not finish running: {page.evaluate(_WHY_BUSY_JS)}")


def exceptions_on(page) -> list[str]:
    """Texts of Streamlit exception blocks on the page (should be none)."""
    return page.locator('[data-testid="stException"]').all_inner_texts()


# ------------------------------------------------------------------ sync helpers

_SIGN_IN_FORM = 'input[aria-label="用户名"]'
_ALERTS = '[data-testid="stAlert"]'
# After 登录 is clicked: the form has gone (signed in) or an alert says why not. Under
# load the rerun may start well after the click, so "idle" alone proves nothing yet.
_SIGNED_IN_OR_REFUSED_JS = f"""() => !document.querySelector('{_SIGN_IN_FORM}')
    || !!document.querySelector('[data-testid="stAlertContentError"]')"""


def sign_in(page, username: str, password: str) -> None:
    """Fill the sign-in form if it is shown (it is not before sign-in is wired in)."""
    wait_until_idle(page)
    timeout_s = WAIT_S * patience()
    if page.get_by_label("用户名").count():
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_function(_SIGNED_IN_OR_REFUSED_JS, timeout=timeout_s * 1000, polling=200)
        wait_until_idle(page)
        refused = page.locator(_SIGN_IN_FORM).count()
        assert not refused, (
            f"sign-in as {username} failed: {page.locator(_ALERTS).all_inner_texts()}"
        )


def session_cookie(context, present: bool = True, timeout_s: float | None = None) -> dict | None:
    """The remembered sign-in's cookie (``auth.session_cookie``) once the page has
    handed it over (``present``), or None once it is cleared (not ``present``). The
    hand-off is a request the page makes after the run that signed in, so poll."""
    deadline = time.monotonic() + (timeout_s or WAIT_S * patience())
    while True:
        cookie = next((c for c in context.cookies() if c["name"] == COOKIE_NAME), None)
        if (cookie is not None) == present:
            return cookie
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sign-in cookie was {'not set' if present else 'not cleared'}")
        time.sleep(0.2)


def open_from_sidebar(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    wait_until_idle(page)


# ------------------------------------------------------------------ async helpers
#
# For many sessions at once (tests/test_concurrency.py): one asyncio loop drives every
# browser context of one Chromium.


async def async_wait_until_idle(
    page, timeout_s: float | None = None, quiet_s: float | None = None, drawn: bool = True
) -> None:
    """:func:`wait_until_idle` for the async API: finished and quiet for ``quiet_s``
    (default :func:`quiet_window_s`).

    ``drawn=False`` does not wait for lazily loaded charts and tables (their skeletons):
    for a test that reads texts while many sessions share one browser's CPU."""
    deadline = time.monotonic() + (timeout_s or WAIT_S * patience())
    quiet_s = quiet_window_s() if quiet_s is None else quiet_s
    quiet_since = None
    while time.monotonic() < deadline:
        if await page.evaluate(_IDLE_JS, drawn):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_s:
                return
        else:
            quiet_since = None
        await page.wait_for_timeout(100)
    raise TimeoutError(f"the page did not finish running: {await page.evaluate(_WHY_BUSY_JS)}")


async def async_sign_in(
    page, username: str, password: str, timeout_s: float | None = None, drawn: bool = True
) -> None:
    """:func:`sign_in` for the async API (waits on the form rather than a quiet window).

    ``timeout_s`` (default :data:`WAIT_S` × :func:`patience`) bounds each wait: many
    sessions signing in at once share the machine, so their caller scales it."""
    timeout_s = timeout_s or WAIT_S * patience()
    await page.wait_for_selector(
        f'{_SIGN_IN_FORM}, [data-testid="stSidebarNav"]', timeout=timeout_s * 1000
    )
    if await page.locator(_SIGN_IN_FORM).count():
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(password)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_function(
            _SIGNED_IN_OR_REFUSED_JS, timeout=timeout_s * 1000, polling=200
        )
    await async_wait_until_idle(page, timeout_s=timeout_s, quiet_s=0.5, drawn=drawn)
    if await page.locator(_SIGN_IN_FORM).count():
        alerts = await page.locator(_ALERTS).all_inner_texts()
        raise AssertionError(f"sign-in as {username} failed: {alerts}")


async def async_open_from_sidebar(page, title: str) -> None:
    nav = page.locator('[data-testid="stSidebarNav"]')
    await nav.get_by_role("link", name=title).click()
    await async_wait_until_idle(page)


class ForwardMessages:
    """Every ``ForwardMsg`` one page receives on Streamlit's websocket, handed to
    :meth:`received` with its size in bytes (subclasses say what they keep)."""

    def __init__(self, page):
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        if "/_stcore/stream" in ws.url:
            ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        if not isinstance(payload, str):
            self.received(ForwardMsg.FromString(payload), len(payload))

    def received(self, msg: ForwardMsg, size: int) -> None:
        raise NotImplementedError


class ScriptRuns(ForwardMessages):
    """Script runs of one page's session, as the server reports them on the websocket.

    Streamlit sends ``new_session`` when a run starts and ``script_finished`` when it
    ends (``ForwardMsg``). Counting these is exact, whereas the frontend's script
    state may skip a short run entirely when React batches its updates under load.
    """

    def __init__(self, page):
        self.started = self.finished = 0
        super().__init__(page)

    def received(self, msg: ForwardMsg, size: int) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
        elif kind == "script_finished":
            self.finished += 1


# The page's side of a run: the script state on ``stApp`` leaves "notRunning" when the
# rerun is asked for (the key press renders "rerunRequested" at once) and comes back
# once the page shows the finished run. (Under load React may batch "running" away,
# so only the return counts.)
_WATCH_JS = """() => {
    window.__gridLeftIdle = false;
    if (window.__gridWatcher) return;
    const app = document.querySelector('[data-testid="stApp"]');
    window.__gridWatcher = new MutationObserver(records => {
        for (const r of records) {
            if (r.oldValue !== 'notRunning'
                || app.getAttribute('data-test-script-state') !== 'notRunning') {
                window.__gridLeftIdle = true;
            }
        }
    });
    window.__gridWatcher.observe(app, {
        attributes: true, attributeOldValue: true,
        attributeFilter: ['data-test-script-state'],
    });
}"""

_FINISHED_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return window.__gridLeftIdle
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stMain"] [data-stale="true"]');
}"""


async def async_rerun(page, runs: ScriptRuns, timeout_s: float | None = None) -> None:
    """Rerun the page's script in the same session (Streamlit's "R" shortcut), wait
    until the server has finished that run and the page shows its result."""
    started, finished = runs.started, runs.finished
    timeout_s = timeout_s or WAIT_S * patience()
    deadline = time.monotonic() + timeout_s
    await page.evaluate(_WATCH_JS)
    await page.locator("body").press("r")
    pressed = time.monotonic()
    while runs.finished <= finished or runs.started <= started:
        if time.monotonic() > deadline:
            state = await page.evaluate(
                "() => document.querySelector('[data-testid=\"stApp\"]')"
                ".getAttribute('data-test-script-state')"
            )
            raise TimeoutError(
                f"rerun not finished after {timeout_s} s: runs started {started}→"
                f"{runs.started}, finished {finished}→{runs.finished}, frontend {state}"
            )
        if runs.started == started and time.monotonic() - pressed > 15:
            await page.locator("body").press("r")  # the key was lost: ask again
            pressed = time.monotonic()
        await asyncio.sleep(0.05)
    await page.wait_for_function(_FINISHED_JS, timeout=timeout_s * 1000, polling=50)
