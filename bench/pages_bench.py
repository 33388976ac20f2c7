"""Warm page runs (AppTest) against a minimal one-chart page, and server memory, at town scale.

Town scale: one town × 24 months ending 2026-10, built with
:func:`etl.init_db.init_database` in a temporary directory (about 10 s).

Speed. Every page of the dashboard is opened in its own :class:`AppTest` session of
``dashboard.py`` (sign-in gate, navigation, sidebar filters), signed in by setting the
session as ``harness.apptest.sign_in`` does (镇领导; 镇办人员 for 数据上传; a sign-in
form, if shown anyway, is filled in), run once (``first_ms``, for information: the
caches are shared with the sessions opened before it) and then re-run ``--repeat``
times (default 7) with the caches hot: the median is the page's warm time. 村居详情 is
measured twice: as opened from the navigation (no village: the picker only) and with
``?village=CJ03``. The baseline is ``bench/minimal_page.py`` (a title and one Plotly
bar chart of a small Polars frame) run the same way in the same process, standalone —
the headline ratio — and, for information, as a page of the dashboard's own navigation
(``ui.navigation`` patched in this process only), which adds the entry point's fixed cost.
The warm runs go round-robin over all sessions, so that a busy spell on the shared
machine touches every subject alike. ``compile_ms`` is what AppTest pays on every run
but a server only once: reading and compiling the entry point and the page (AppTest
makes a new ScriptCache per run). ``cpu_ms`` is the median process CPU time of the same
runs (all threads), steadier than wall time when the machine is shared. Target: page
median ≤ 1.5 × the standalone minimal page's.

Memory. A real ``streamlit run dashboard.py`` on loopback (its own copy of the
database, a temporary users file in ``GRID_USERS``, no file watcher) is driven by
Debian's headless Chromium through Playwright: sign in as 镇办人员 if the form is shown,
open every page from the sidebar, wait until it has finished running
(``harness.browser.wait_until_idle``) and read the server's VmRSS (the process
and any children, ``/proc/<pid>/status``) after start, after each page, after a second
round over all pages and with a second session (管理员 on 用户与审计) open beside the
first; VmHWM is the server's peak. Target: ≤ 400 MB RSS after visiting every page.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path

from auth.roles import ADMIN, LEADER, OFFICE, User
from auth.store import UserStore
from bench.common import median_of
from etl.init_db import init_database
from store.paths import REPO_ROOT
from ui.tv import EXIT_LABEL

END = date(2026, 10, 1)
RATIO_TARGET = 1.5
RSS_TARGET_MB = 400
DASHBOARD = REPO_ROOT / "dashboard.py"
MINIMAL = REPO_ROOT / "bench" / "minimal_page.py"
OUT = REPO_ROOT / "bench" / "out"  # git-ignored: a screenshot if a page never finishes
MINIMAL_IN_NAV = "bench/minimal_page.py"  # relative to dashboard.py, as st.Page wants
PASSWORD = "bench-password-1"
LEADER_USER = User("bench_leader", "镇领导（基准）", LEADER)
OFFICE_USER = User("bench_office", "镇办人员（基准）", OFFICE)
ADMIN_USER = User("bench_admin", "管理员（基准）", ADMIN)
PAGE_USER = {"upload": OFFICE_USER}  # every other page: LEADER_USER
VILLAGE = {"village": "CJ03"}  # 村居详情 is also measured with a village chosen


def _users_file(directory: Path) -> Path:
    store = UserStore.load(directory / "users.toml")
    for user in (LEADER_USER, OFFICE_USER, ADMIN_USER):
        store.set_user(user.username, PASSWORD, user.role, display_name=user.display_name)
    return store.path


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# -- speed: AppTest ---------------------------------------------------------------------


@contextmanager
def _minimal_in_navigation() -> Iterator[None]:
    """Add the minimal page to the dashboard's navigation (this process only)."""
    import ui.navigation

    saved = ui.navigation.PAGES
    extra = ui.navigation.PageInfo(
        "bench_minimal", MINIMAL_IN_NAV, "最小页面", ":material/bar_chart:", "bench-minimal"
    )
    ui.navigation.PAGES = (*saved, extra)
    pages_for = getattr(ui.navigation, "pages_for", None)  # the pages a user's role may open
    if pages_for is not None:
        ui.navigation.pages_for = lambda user: [*pages_for(user), extra]
    try:
        yield
    finally:
        ui.navigation.PAGES = saved
        if pages_for is not None:
            ui.navigation.pages_for = pages_for


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class Subject:
    """One AppTest session showing one page, re-run for the warm figure."""

    def __init__(self, name, script, page, title, user, patch=None, params=None):
        self.name, self.script, self.page, self.title = name, script, page, title
        self.user, self.patch, self.params = user, patch or _nothing, params or {}
        self.at = None
        self.first_ms: float | None = None
        self.samples: list[float] = []
        self.cpu_samples: list[float] = []  # process CPU time: steadier on a shared machine
        self.error: str | None = None
        self.signed_in_by_form = False

    def _run(self) -> tuple[float, float]:
        with self.patch():
            cpu, started = time.process_time(), time.perf_counter()
            self.at.run()
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu) * 1000
        self._check()
        return elapsed, cpu

    def _check(self) -> None:
        if self.at.exception:
            raise RuntimeError(f"{self.name}: {self.at.exception[0].value}")
        titles = [t.value for t in self.at.title]
        if self.title not in titles:
            raise RuntimeError(f"{self.name}: expected the title {self.title!r}, got {titles}")

    def _sign_in_form(self) -> bool:
        """Fill the sign-in form if the gate shows it; True if it was shown."""
        names = [w for w in self.at.text_input if w.label == "用户名"]
        if not names:
            return False
        names[0].input(self.user.username)
        next(w for w in self.at.text_input if w.label == "密码").input(PASSWORD)
        next(b for b in self.at.button if b.label == "登录").click().run()
        return True

    def open(self) -> None:
        from streamlit.testing.v1 import AppTest

        from harness.apptest import sign_in

        self.at = AppTest.from_file(str(self.script), default_timeout=300)
        started = time.perf_counter()
        with self.patch():
            if self.user is not None:
                sign_in(self.at, self.user)
            for key, value in self.params.items():
                self.at.query_params[key] = value
            self.at.run()
            if self.user is not None and self._sign_in_form():
                self.signed_in_by_form = True
                self.at.run()
            if self.page:
                self.at.switch_page(self.page).run()
        self.first_ms = round((time.perf_counter() - started) * 1000, 1)
        self._check()

    def sample(self) -> None:
        if self.error is None:
            try:
                elapsed, cpu = self._run()
                self.samples.append(elapsed)
                self.cpu_samples.append(cpu)
            except Exception as exc:  # reported, not fatal: the other figures still count
                self.error = str(exc)

    @property
    def scripts(self) -> list[Path]:
        """The files a run executes: the entry point and the page."""
        page = [REPO_ROOT / self.page] if self.page else []
        if self.script == DASHBOARD and not self.page:
            page = [REPO_ROOT / "app_pages" / "overview.py"]  # the default page
        return [self.script, *page]

    @property
    def median(self) -> float | None:
        if self.error or not self.samples:
            return None
        return round(statistics.median(self.samples), 1)

    @property
    def cpu_median(self) -> float | None:
        if self.error or not self.cpu_samples:
            return None
        return round(statistics.median(self.cpu_samples), 1)


def _subjects() -> list[Subject]:
    from ui.navigation import PAGES

    subjects = [
        Subject("minimal", MINIMAL, None, "最小页面", None),
        Subject(
            "minimal_in_navigation",
            DASHBOARD,
            MINIMAL_IN_NAV,
            "最小页面",
            LEADER_USER,
            _minimal_in_navigation,
        ),
    ]
    for info in PAGES:
        page = None if info.key == "overview" else info.path  # overview is the default page
        user = PAGE_USER.get(info.key, LEADER_USER)
        subjects.append(Subject(info.key, DASHBOARD, page, info.title, user))
        if info.key == "village":  # without a village it shows only the picker
            subjects.append(
                Subject("village_CJ03", DASHBOARD, page, info.title, user, params=VILLAGE)
            )
    return subjects


def compile_ms(scripts: list[Path], repeat: int) -> float:
    """What AppTest pays on every run and a server once: reading and compiling the
    scripts (AppTest makes a new ScriptCache per run; a server keeps one)."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    def once():
        cache = ScriptCache()
        for script in scripts:
            cache.get_bytecode(str(script))

    return round(median_of(once, repeat)[0] * 1000, 1)


def measure_apptest(db: Path, users: Path, repeat: int) -> dict:
    import logging

    # Setting up a session outside a script run logs "missing ScriptRunContext" (a
    # filter, since the project's config resets Streamlit's log levels on every run).
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage()
    )
    with _env(GRID_DB=str(db), GRID_USERS=str(users)):
        subjects = _subjects()
        for s in subjects:
            try:
                s.open()
            except Exception as exc:
                s.error = f"first run: {exc}"
        for _ in range(repeat):
            for s in subjects:
                s.sample()
    by_name = {s.name: s for s in subjects}
    minimal_subject = by_name.pop("minimal")
    minimal = minimal_subject.median
    in_nav = by_name.pop("minimal_in_navigation")
    pages = by_name.values()
    nav = in_nav.median

    def ratio(value, base):
        return round(value / base, 1) if value is not None and base else None

    return {
        "minimal_ms": minimal,
        "minimal_in_navigation_ms": nav,
        "minimal_in_navigation_error": in_nav.error,
        "page_ms": {s.name: s.median for s in pages},
        "ratio": {s.name: ratio(s.median, minimal) for s in pages},
        "ratio_met": {
            s.name: bool(s.median and minimal and s.median <= RATIO_TARGET * minimal) for s in pages
        },
        "ratio_in_navigation": {s.name: ratio(s.median, nav) for s in pages},
        "cpu_ms": {s.name: s.cpu_median for s in (*pages, in_nav, minimal_subject)},
        "cpu_ratio": {s.name: ratio(s.cpu_median, minimal_subject.cpu_median) for s in pages},
        "first_ms": {s.name: s.first_ms for s in (*pages, in_nav)},
        "compile_ms": {
            s.name: compile_ms(s.scripts, repeat) for s in (*pages, in_nav, minimal_subject)
        },
        "spread_ms": {
            s.name: [round(min(s.samples), 1), round(max(s.samples), 1)]
            for s in (*pages, in_nav)
            if s.samples
        },
        "errors": {s.name: s.error for s in pages if s.error},
        "signed_in_by_form": sorted(s.name for s in (*pages, in_nav) if s.signed_in_by_form),
    }


# -- memory: a real server and a browser ------------------------------------------------


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    """VmRSS of the process and its descendants, in MB (MiB)."""
    return round(sum(_status_kb(p, "VmRSS") for p in _descendants(pid)) / 1024, 1)


def _browser_sign_in(page, user: User, wait) -> bool:
    """Fill the sign-in form if it is shown; True if it was."""
    wait(page, 120)
    if not page.get_by_label("用户名").count():
        return False
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    wait(page, 120)
    return True


def measure_memory(db: Path, users: Path) -> dict:
    from playwright.sync_api import sync_playwright

    import ui.navigation
    from harness.browser import CHROMIUM, CHROMIUM_ARGS, exceptions_on, wait_until_idle
    from harness.server import streamlit_server

    pages = ui.navigation.PAGES
    admin_page = getattr(ui.navigation, "ADMIN_PAGE", None)  # 管理员 only, none of the above
    log = db.with_suffix(".server.log")
    with streamlit_server(db, {"GRID_USERS": str(users)}) as url, sync_playwright() as p:
        proc = url.process
        after: dict[str, float] = {"start": rss_mb(proc.pid)}
        peaks: dict[str, float] = {}

        def peak_mb() -> float:
            return round(_status_kb(proc.pid, "VmHWM") / 1024, 1)

        errors: dict[str, list[str]] = {}
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def new_page():
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(url)
            return page

        def visit(page, info) -> None:
            nav = page.locator('[data-testid="stSidebarNav"]')
            if nav.count() and not nav.is_visible():
                # 会议室大屏 hides the sidebar: leave it by its own link, as a user would.
                page.locator('[data-testid="stMain"] a', has_text=EXIT_LABEL).click()
                wait_until_idle(page, 120)
            if nav.count():  # a single allowed page has no navigation to click
                nav.get_by_role("link", name=info.title).click()
            try:
                wait_until_idle(page, 120)
            except TimeoutError:
                OUT.mkdir(parents=True, exist_ok=True)
                shot = OUT / f"pages-timeout-{info.key}.png"
                page.screenshot(path=str(shot), full_page=True)
                raise TimeoutError(f"{info.key} did not finish running: {shot}") from None
            found = exceptions_on(page)
            if found:
                errors[info.key] = [t[:200] for t in found]

        try:
            page = new_page()
            by_form = _browser_sign_in(page, OFFICE_USER, wait_until_idle)  # every page
            after["landing"] = rss_mb(proc.pid)
            peaks["landing"] = peak_mb()
            for info in pages:
                visit(page, info)
                after[info.key] = rss_mb(proc.pid)
                peaks[info.key] = peak_mb()
            for info in pages:
                visit(page, info)
            second_round = rss_mb(proc.pid)
            peaks["second_round"] = peak_mb()
            admin = None
            if admin_page is not None and by_form:
                # A second session, kept open beside the first, as 管理员.
                other = new_page()
                _browser_sign_in(other, ADMIN_USER, wait_until_idle)
                visit(other, admin_page)
                admin = rss_mb(proc.pid)
                peaks["admin_session"] = peak_mb()
            peaks["end"] = peak_mb()
        finally:
            browser.close()
    text = log.read_text(encoding="utf-8", errors="replace")
    every_page = after[pages[-1].key]
    return {
        "rss_mb": after,
        "rss_after_every_page_mb": every_page,
        "rss_max_mb": max(after.values()),
        "rss_after_second_round_mb": second_round,
        "rss_with_admin_session_mb": admin,
        "server_peak_vmhwm_mb": peaks,
        "target_mb": RSS_TARGET_MB,
        "met": max(after.values()) <= RSS_TARGET_MB and second_round <= RSS_TARGET_MB,
        "signed_in_by_form": by_form,
        "exceptions": errors,
        "tracebacks_in_server_log": text.count("Traceback"),
    }


def run(args) -> dict:
    repeat = args.repeat or 7
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="pages-bench-") as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        db = tmp / "town.duckdb"
        init_database(db, end=END)
        build_s = round(time.perf_counter() - started, 1)
        server_db = tmp / "server.duckdb"  # DuckDB locks a file to one process
        shutil.copy(db, server_db)
        users = _users_file(tmp)
        speed = measure_apptest(db, users, repeat)
        memory = measure_memory(server_db, users)
    targets = [
        {
            "target": f"AppTest {name}: warm run ≤ {RATIO_TARGET} × minimal page",
            "value": speed["ratio"][name],
            "met": speed["ratio_met"][name],
        }
        for name in speed["ratio"]
    ]
    targets.append(
        {
            "target": f"server RSS after every page ≤ {RSS_TARGET_MB} MB",
            "value": memory.get("rss_max_mb"),
            "met": bool(memory.get("met")),
        }
    )
    return {
        "repeat": repeat,
        "target": f"page ≤ {RATIO_TARGET} × minimal; RSS ≤ {RSS_TARGET_MB} MB",
        **speed,
        "targets": targets,
        "memory": memory,
        "build_s": build_s,
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "measured_on": date.today().isoformat(),
    }
