"""A real ``streamlit run`` on loopback and a headless Debian Chromium to drive it.

Chromium comes from Debian (``/usr/bin/chromium``, installed by
``scripts/install-system-deps``); Playwright never downloads a browser here.

Shared by ``tests/test_e2e_browser.py`` (sync Playwright, one page at a time) and
``tests/test_concurrency.py`` (async Playwright, many sessions at once): the server,
a sample database copy and a users file per test module, waiting for a script run,
signing in (when the form is shown: the tests pass with and without the sign-in gate).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from store.paths import REPO_ROOT

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
ARTIFACTS = REPO_ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerURL(str):
    """The URL of a running server; ``process`` is its ``streamlit run`` process."""

    process: subprocess.Popen


@contextmanager
def streamlit_server(db_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[ServerURL]:
    """Start the dashboard on a free loopback port; yield its URL; stop it afterwards.

    The file watcher is off: a source edited during a run would hold the page at
    Streamlit's "rerun?" prompt.
    """
    port = free_port()
    env = {**os.environ, "GRID_DB": str(db_path), **(extra_env or {})}
    log = open(db_path.with_suffix(".server.log"), "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO_ROOT / "dashboard.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = ServerURL(f"http://127.0.0.1:{port}")
    url.process = proc
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start: see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# The script has finished ("notRunning" on stApp) and nothing is loading.
_IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !!document.querySelector('[data-testid="stMain"]')
        && !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-testid="stSkeleton"]');
}"""


def wait_until_idle(page, timeout_s: float = 90) -> None:
    """Wait until Streamlit has finished running the script and rendered the page
    (script state "notRunning", no status widget, no skeletons) for a second."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        if not page.evaluate(_IDLE_JS):  # running, or the status widget/skeletons shown
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.2)
    raise TimeoutError("the page did not finish running")


def server_errors(log_path: Path) -> list[str]:
    """One line per traceback in the server log: the exception and the innermost frame
    in the project's own code (the server log is ``<db>.server.log``)."""
    text = log_path.read_text(encoding="utf-8", errors="replace")
    errors = []
    for block in text.split("Traceback (most recent call last):")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        ours = [
            line.strip()
            for line in lines
            if line.strip().startswith('File "') and str(REPO_ROOT) in line and ".venv" not in line
        ]
        last = next((line for line in lines if not line.startswith(" ")), lines[-1])
        errors.append(f"{last.strip()} (at {ours[-1] if ours else '?'})")
    return errors


def exceptions_on(page) -> list[str]:
    """Texts of Streamlit exception blocks on the page (should be none)."""
    return page.locator('[data-testid="stException"]').all_inner_texts()


# ------------------------------------------------------------------ shared set-up


_TEMPLATES: dict[tuple, Path] = {}


def sample_database(tmp_path_factory, dest: Path, months: int = 23, end=(2026, 9)) -> Path:
    """A fresh copy of a sample database at ``dest``.

    The sample is built once per test run (``etl.init_db.init_database``) and copied
    for every caller, so each browser test module gets a database of its own without
    paying for the build again.
    """
    from etl.init_db import init_database

    key = (months, tuple(end))
    template = _TEMPLATES.get(key)
    if template is None:
        folder = tmp_path_factory.mktemp("browser-sample")
        template = folder / "grid.duckdb"
        init_database(template, months=months, end=end)
        _TEMPLATES[key] = template
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, dest)
    wal = template.with_name(template.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, dest.with_name(dest.name + ".wal"))
    return dest


def write_users(path: Path, accounts: Iterable[tuple[str, str, str, str]]) -> Path:
    """A users file (``GRID_USERS``) with ``(username, password, role, display_name)``."""
    from auth.store import UserStore

    store = UserStore.load(path)
    for username, password, role, display_name in accounts:
        store.set_user(username, password, role, display_name=display_name)
    return store.path


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
    if page.get_by_label("用户名").count():
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_function(_SIGNED_IN_OR_REFUSED_JS, timeout=90_000, polling=200)
        wait_until_idle(page)
        refused = page.locator(_SIGN_IN_FORM).count()
        assert not refused, (
            f"sign-in as {username} failed: {page.locator(_ALERTS).all_inner_texts()}"
        )


def open_from_sidebar(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    wait_until_idle(page)


# ------------------------------------------------------------------ async helpers
#
# For many sessions at once (tests/test_concurrency.py): one asyncio loop drives every
# browser context of one Chromium.


async def async_wait_until_idle(page, timeout_s: float = 90, quiet_s: float = 1.0) -> None:
    """:func:`wait_until_idle` for the async API: finished and quiet for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        if await page.evaluate(_IDLE_JS):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_s:
                return
        else:
            quiet_since = None
        await page.wait_for_timeout(200)
    raise TimeoutError("the page did not finish running")


async def async_sign_in(page, username: str, password: str) -> None:
    """:func:`sign_in` for the async API (waits on the form rather than a quiet second)."""
    await page.wait_for_selector(f'{_SIGN_IN_FORM}, [data-testid="stSidebarNav"]')
    if await page.locator(_SIGN_IN_FORM).count():
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(password)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_function(_SIGNED_IN_OR_REFUSED_JS, timeout=90_000, polling=200)
    await async_wait_until_idle(page, quiet_s=0.5)
    if await page.locator(_SIGN_IN_FORM).count():
        alerts = await page.locator(_ALERTS).all_inner_texts()
        raise AssertionError(f"sign-in as {username} failed: {alerts}")


async def async_open_from_sidebar(page, title: str) -> None:
    nav = page.locator('[data-testid="stSidebarNav"]')
    await nav.get_by_role("link", name=title).click()
    await async_wait_until_idle(page)


class ScriptRuns:
    """Script runs of one page's session, as the server reports them on the websocket.

    Streamlit sends ``new_session`` when a run starts and ``script_finished`` when it
    ends (``ForwardMsg``). Counting these is exact, whereas the frontend's script
    state may skip a short run entirely when React batches its updates under load.
    """

    def __init__(self, page):
        self.started = self.finished = 0
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        if "/_stcore/stream" in ws.url:
            ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        if isinstance(payload, str):
            return
        msg = ForwardMsg.FromString(payload)
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


async def async_rerun(page, runs: ScriptRuns, timeout_s: float = 90) -> None:
    """Rerun the page's script in the same session (Streamlit's "R" shortcut), wait
    until the server has finished that run and the page shows its result."""
    started, finished = runs.started, runs.finished
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
