"""Pages in the browser: navigation-to-settled of every page against a minimal two-page app.

A real server (``harness.server.streamlit_server``: ``streamlit run serve.py`` on loopback,
its own copy of a town-scale database — one town × 24 months ending 2026-10 — and a
temporary users file) is driven by Debian's headless Chromium (Playwright). Signed in
through the form as 镇办人员 (who may open every page 镇领导 may, plus 数据上传), every
page is opened by clicking its link in the sidebar (on a phone the sidebar is expanded
first, untimed), at desk (1440×900) and phone (390×844) widths. The baseline is the
chart page of ``bench/minimal_app.py`` (a text page and ``bench/minimal_page.py``) on a
second server started the same way, reached the same way, in the same rounds.

A visit is timed from the click to *settled*: the script has finished (script state
"notRunning", no running indicator, no stale element, no skeleton), the page's title is
shown, every Plotly chart has drawn (``.main-svg``) and every deck.gl map has painted
(a WebGL draw call on its canvas, counted by a script added to every page). Round 0
warms the caches and is not counted; then ``--repeat`` rounds (default 5) visit every
subject in turn; the figure is the median. Targets: every page ≤ 2 × the minimal page
at the same width, 两个指数地图 ≤ 5 ×.

Payload: the bytes of the websocket frames (``ForwardMsg``) received during a visit,
split by element type, and the time from the click to the server's ``script_finished``
(``server_s``): the rest of the settle time is the browser's.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from harness.browser import ForwardMessages
from harness.server import ServerURL, app_server, streamlit_server, write_users
from store.paths import REPO_ROOT
from ui.tv import EXIT_LABEL

END = date(2026, 10, 1)
DESK = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDTHS = {"desk": DESK, "phone": PHONE}
PAGE_TARGET, MAP_TARGET = 2.0, 5.0  # × the minimal page at the same width
PASSWORD = "bench-password-1"
OFFICE = ("bench_office", PASSWORD, "镇办人员", "镇办人员（基准）")
LEADER = ("bench_leader", PASSWORD, "镇领导", "镇领导（基准）")
MINIMAL_APP = REPO_ROOT / "bench" / "minimal_app.py"
MINIMAL_TITLE, MINIMAL_HOME = "最小页面", "首页"
TV_KEY, TV_EXIT = "tv", EXIT_LABEL
OUT = REPO_ROOT / "bench" / "out"  # git-ignored: a screenshot if a page never settles

# Counts WebGL draw calls per canvas: a deck.gl map has "painted" once its canvas has one.
DRAW_COUNTER_JS = """(() => {
    for (const C of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
        if (!C) continue;
        for (const name of ['drawArrays', 'drawElements', 'drawArraysInstanced',
                            'drawElementsInstanced', 'drawRangeElements']) {
            const original = C.prototype[name];
            if (!original) continue;
            C.prototype[name] = function (...args) {
                try { this.canvas.__gridDraws = (this.canvas.__gridDraws || 0) + 1; } catch (e) {}
                return original.apply(this, args);
            };
        }
    }
})();"""

# Clicks a sidebar link by its text; returns performance.now() at the click.
CLICK_JS = """(title) => {
    const links = [...document.querySelectorAll('[data-testid="stSidebarNav"] a')];
    // A link's text is its icon's name, then its title.
    const link = links.find(a => a.textContent.trim().endsWith(title));
    if (!link) return null;
    const t = performance.now();
    link.click();
    return t;
}"""

# Clicks a link in the main area (会议室大屏's 退出大屏 has no sidebar to use).
CLICK_MAIN_JS = """(text) => {
    const links = [...document.querySelectorAll('[data-testid="stMain"] a')];
    const link = links.find(a => a.textContent.includes(text));
    if (!link) return null;
    const t = performance.now();
    link.click();
    return t;
}"""

# performance.now() once the page shows ``marker`` (a title, or a CSS selector when it
# starts with "."), finished and drawn; false before. ``charts``/``maps``: how many
# Plotly charts and deck.gl maps the page must show (what its warm-up visit showed), so
# that an element not mounted yet is never taken for one that is drawn.
SETTLED_JS = """(arg) => {
    const {marker, charts = 0, maps = 0} = typeof arg === 'string' ? {marker: arg} : arg;
    const app = document.querySelector('[data-testid="stApp"]');
    const main = document.querySelector('[data-testid="stMain"]');
    if (!app || !main || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')
        || main.querySelector('[data-stale="true"]')) return false;
    if (marker.startsWith('.')) {
        if (!main.querySelector(marker)) return false;
    } else if (![...main.querySelectorAll('h1')].some(h => h.textContent.trim() === marker)) {
        return false;
    }
    const plots = main.querySelectorAll('[data-testid="stPlotlyChart"]');
    const decks = main.querySelectorAll('[data-testid="stDeckGlJsonChart"]');
    if (plots.length < charts || decks.length < maps) return false;
    for (const chart of plots) {
        if (!chart.querySelector('.main-svg')) return false;
    }
    for (const map of decks) {
        if (![...map.querySelectorAll('canvas')].some(c => c.__gridDraws > 0)) return false;
    }
    return performance.now();
}"""

COUNT_JS = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    return [main.querySelectorAll('[data-testid="stPlotlyChart"]').length,
            main.querySelectorAll('[data-testid="stDeckGlJsonChart"]').length];
}"""

IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stStatusWidget"]');
}"""

EXPAND_SIDEBAR = '[data-testid="stExpandSidebarButton"]'


@dataclass
class Frame:
    """One websocket frame received: when (perf_counter), its size and what it held."""

    at: float
    size: int
    kind: str
    element: str | None = None


class FrameLog(ForwardMessages):
    """Every ``ForwardMsg`` frame one page receives on Streamlit's websocket."""

    def __init__(self, page) -> None:
        self.frames: list[Frame] = []
        super().__init__(page)

    def received(self, msg, size: int) -> None:
        kind = msg.WhichOneof("type") or "?"
        element = None
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element.WhichOneof("type")
        self.frames.append(Frame(time.perf_counter(), size, kind, element))

    def since(self, started: float) -> list[Frame]:
        """The frames received at or after ``started`` (perf_counter)."""
        return [f for f in self.frames if f.at >= started]


def payload_summary(frames: list[Frame]) -> dict:
    """Bytes and count of frames, and bytes by element type (largest first)."""
    by_element: Counter[str] = Counter()
    for f in frames:
        by_element[f.element or f.kind] += f.size
    return {
        "bytes": sum(f.size for f in frames),
        "frames": len(frames),
        "by_element": dict(by_element.most_common()),
    }


@dataclass
class Visit:
    """One timed navigation."""

    settle_s: float
    server_s: float | None
    payload: dict
    runs: int


@dataclass
class Subject:
    """A page reached by its link, with the visits measured at one width."""

    key: str
    title: str
    marker: str
    visits: list[Visit] = field(default_factory=list)
    charts: int = 0  # Plotly charts and deck.gl maps seen once settled (warm-up visit)
    maps: int = 0

    @property
    def median_s(self) -> float | None:
        if not self.visits:
            return None
        return round(statistics.median(v.settle_s for v in self.visits), 3)

    def figures(self) -> dict:
        """Median settle and server times, spread, payload of the last visit."""
        if not self.visits:
            return {"median_s": None}
        settles = [v.settle_s for v in self.visits]
        servers = [v.server_s for v in self.visits if v.server_s is not None]
        return {
            "median_s": self.median_s,
            "spread_s": [round(min(settles), 3), round(max(settles), 3)],
            "server_median_s": round(statistics.median(servers), 3) if servers else None,
            "payload": self.visits[-1].payload,
            "runs_per_visit": max(v.runs for v in self.visits),
            "plotly_charts": self.charts,
            "maps": self.maps,
        }


def marker_of(key: str, title: str) -> str:
    """What shows that page ``key`` is on screen: its title, or 大屏's own container."""
    return ".st-key-tv_screen" if key == TV_KEY else title


def _expand_sidebar(page) -> None:
    """On a phone the sidebar starts collapsed (and collapses after each navigation)."""
    button = page.locator(EXPAND_SIDEBAR)
    if button.count() and button.is_visible():
        button.click()
        page.locator('[data-testid="stSidebarNav"] a').first.wait_for(state="visible")
        time.sleep(0.3)  # the slide-in animation, so the click lands on the link


def wait_quiet(page, timeout_s: float, quiet_s: float = 0.6) -> None:
    """Wait until no script runs for ``quiet_s`` (untimed: between visits)."""
    deadline = time.monotonic() + timeout_s
    since = None
    while time.monotonic() < deadline:
        if page.evaluate(IDLE_JS):
            since = since or time.monotonic()
            if time.monotonic() - since >= quiet_s:
                return
        else:
            since = None
        time.sleep(0.1)


def navigate(page, log: FrameLog, subject: Subject, timeout_s: float, in_main: bool = False):
    """Click ``subject``'s link (in the sidebar, or in the main area when ``in_main``),
    wait until the page has settled; the :class:`Visit` measured."""
    if not in_main:
        _expand_sidebar(page)
    for f in page.query_selector_all('[data-testid="stDeckGlJsonChart"] canvas'):
        f.evaluate("c => { c.__gridDraws = 0; }")
    started = time.perf_counter()
    clicked = page.evaluate(
        CLICK_MAIN_JS if in_main else CLICK_JS, TV_EXIT if in_main else subject.title
    )
    if clicked is None:
        raise RuntimeError(f"no link to {subject.title}")
    try:
        want = {"marker": subject.marker, "charts": subject.charts, "maps": subject.maps}
        settled = page.wait_for_function(
            SETTLED_JS, arg=want, polling=50, timeout=timeout_s * 1000
        ).json_value()
    except Exception:
        OUT.mkdir(parents=True, exist_ok=True)
        shot = OUT / f"browser-timeout-{subject.key}.png"
        page.screenshot(path=str(shot), full_page=True)
        raise TimeoutError(f"{subject.key} did not settle: {shot}") from None
    settle_s = (settled - clicked) / 1000
    if subject.key != TV_KEY:  # 大屏's rotation reruns its fragment on a timer
        wait_quiet(page, timeout_s)
    if subject.key != TV_KEY:  # 大屏 rotates its views: what it shows depends on when
        charts, maps = page.evaluate(COUNT_JS)
        subject.charts, subject.maps = max(subject.charts, charts), max(subject.maps, maps)
    frames = log.since(started)
    finished = [f.at for f in frames if f.kind == "script_finished"]
    server_s = finished[0] - started if finished else None
    runs = sum(1 for f in frames if f.kind == "new_session")
    return Visit(round(settle_s, 3), server_s and round(server_s, 3), payload_summary(frames), runs)


def sign_in(page, username: str, password: str, timeout_s: float) -> None:
    """Fill the sign-in form and wait for the first page."""
    page.get_by_label("用户名").wait_for(timeout=timeout_s * 1000)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_function(
        """() => !document.querySelector('input[aria-label="用户名"]')
            && !!document.querySelector('[data-testid="stSidebarNav"]')""",
        polling=200,
        timeout=timeout_s * 1000,
    )
    wait_quiet(page, timeout_s, 1.0)


@contextmanager
def bench_app(script: Path, env: dict[str, str] | None = None) -> Iterator[ServerURL]:
    """``streamlit run <script>`` as :func:`harness.server.streamlit_server` starts the
    dashboard (a longer start allowed: the benchmark may run on a busy machine); its
    log is removed afterwards."""
    log_path = Path(tempfile.gettempdir()) / f"bench-{script.stem}-{os.getpid()}.log"
    try:
        with app_server(script, {**os.environ, **(env or {})}, log_path, 120) as url:
            yield url
    finally:
        log_path.unlink(missing_ok=True)


@contextmanager
def town_database() -> Iterator[tuple[Path, Path]]:
    """A town-scale database (one town × 24 months) and a users file with 镇办人员 and
    镇领导, in a temporary directory: (database, users file)."""
    from etl.init_db import init_database

    with tempfile.TemporaryDirectory(prefix="browser-bench-") as tmp:
        tmp = Path(tmp)
        built = tmp / "town.duckdb"
        init_database(built, end=END)
        db = tmp / "server.duckdb"
        shutil.copy(built, db)
        users = write_users(tmp / "users.toml", [OFFICE, LEADER])
        yield db, users


def dashboard_subjects(role: str = OFFICE[2]) -> list[Subject]:
    """Every page ``role`` may open, in navigation order."""
    from auth.roles import User
    from ui.navigation import pages_for

    user = User("bench", "bench", role)
    return [Subject(p.key, p.title, marker_of(p.key, p.title)) for p in pages_for(user)]


def ratio_entry(target: float, value: float | None, base: float | None) -> dict:
    """``{"target": "≤ 2× minimal", "value": ratio, "met": …}``."""
    ratio = round(value / base, 2) if value and base else None
    return {
        "target": f"≤ {target:g}× minimal",
        "value": ratio,
        "met": bool(ratio and ratio <= target),
    }


def measure(repeat: int, timeout_s: float = 300) -> dict:
    """Both servers, both widths, ``repeat`` counted rounds after a warm-up round."""
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS

    with (
        town_database() as (db, users),
        streamlit_server(db, {"GRID_USERS": str(users)}) as dash_url,
        bench_app(MINIMAL_APP) as minimal_url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        sessions = {}
        try:
            for width, viewport in WIDTHS.items():
                for app, url in (("dashboard", dash_url), ("minimal", minimal_url)):
                    context = browser.new_context(viewport=viewport, locale="zh-CN")
                    context.add_init_script(DRAW_COUNTER_JS)
                    page = context.new_page()
                    page.set_default_timeout(timeout_s * 1000)
                    log = FrameLog(page)
                    page.goto(url)
                    if app == "dashboard":
                        sign_in(page, OFFICE[0], OFFICE[1], timeout_s)
                        subjects = dashboard_subjects()
                    else:
                        page.get_by_role("heading", name=MINIMAL_HOME).wait_for()
                        subjects = [
                            Subject("home", MINIMAL_HOME, MINIMAL_HOME),
                            Subject("minimal", MINIMAL_TITLE, MINIMAL_TITLE),
                        ]
                    sessions[width, app] = (page, log, subjects)
            started = time.perf_counter()
            for round_ in range(repeat + 1):
                for width in WIDTHS:
                    for app in ("minimal", "dashboard"):
                        page, log, subjects = sessions[width, app]
                        # From the first page round to the last and back to the first:
                        # 大屏 hides the sidebar, so from it the way back is its own link.
                        back = subjects[-1].key == TV_KEY
                        for i, subject in enumerate([*subjects[1:], subjects[0]]):
                            last = i == len(subjects) - 1
                            visit = navigate(page, log, subject, timeout_s, in_main=last and back)
                            if round_:
                                subject.visits.append(visit)
            elapsed = time.perf_counter() - started
        finally:
            browser.close()
        cpu = server_cpu_s(dash_url.process.pid)
    out: dict = {"widths": {k: f"{v['width']}×{v['height']}" for k, v in WIDTHS.items()}}
    for width in WIDTHS:
        minimal = sessions[width, "minimal"][2][1]
        base = minimal.median_s
        pages = sessions[width, "dashboard"][2]
        out[width] = {
            "minimal_s": base,
            "minimal": minimal.figures(),
            "pages_s": {s.title: s.median_s for s in pages},
            "targets": {
                s.title: ratio_entry(
                    MAP_TARGET if s.key == "map" else PAGE_TARGET, s.median_s, base
                )
                for s in pages
            },
            "pages": {s.title: s.figures() for s in pages},
        }
    out["rounds_s"] = round(elapsed, 1)
    out["dashboard_server_cpu_s"] = cpu
    return out


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


def run(args) -> dict:
    """``python -m bench browser``: the figures as a JSON-able dict."""
    repeat = args.repeat or 5
    load_before = [round(x, 2) for x in os.getloadavg()]
    figures = measure(repeat)
    met = [t["met"] for w in WIDTHS for t in figures[w]["targets"].values()]
    return {
        "repeat": repeat,
        "target": f"page ≤ {PAGE_TARGET:g}× minimal, 两个指数地图 ≤ {MAP_TARGET:g}× (same width)",
        "targets_met": f"{sum(met)} of {len(met)}",
        **figures,
        "targets": [
            {**entry, "target": f"{width} {title}: settled {entry['target']}"}
            for width in WIDTHS
            for title, entry in figures[width]["targets"].items()
        ],
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "measured_on": date.today().isoformat(),
    }
