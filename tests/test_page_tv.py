"""会议室大屏 (app_pages/tv.py) through the real entry point, with AppTest: the rotation
shows every view with the metrics layer's numbers, ``?screen=tv`` opens it and hides the
sidebar, names are masked for 镇领导, a 村居书记 sees their village."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest

from auth.roles import ADMIN, User
from auth.store import UserStore
from metrics import Filter
from metrics.alerts import alerts
from metrics.glossary import value_text
from metrics.overview import kpis, scorecard
from metrics.scorecard_reading import lights
from tests.support.page_runs import LEADER_USER, OFFICE_USER, computed, run_page, secretary
from ui.tv import STYLE

MONTH = date(2026, 10, 1)
LINK = {"screen": "tv", "from": "2026-10", "to": "2026-10"}
VIEWS = {"关键指标", "各村居成绩单", "预警", "平均堡垒指数地图"}
SIDEBAR_HIDDEN = '[data-testid="stSidebar"]'


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    """Sessions follow the users file: every user these tests sign in is in it."""
    store = UserStore.load(tmp_path_factory.mktemp("users") / "users.toml")
    for user in (LEADER_USER, OFFICE_USER, secretary("CJ03"), User("adm", "管理员", ADMIN)):
        store.set_user(
            user.username, "tv-password-1", user.role, user.village_id, user.display_name
        )
    return store.path


@pytest.fixture
def app(sample_db, users_file, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    monkeypatch.setenv("GRID_USERS", str(users_file))
    return sample_db


def html_bodies(at) -> list[str]:
    return [el.proto.body for el in at.get("html")]


def shown_view(at) -> str:
    """The title of the view on screen."""
    (title,) = [
        unescape(m.group(1))
        for body in html_bodies(at)
        for m in re.finditer(r"class='tv-view'>([^<]*)<", body)
    ]
    return title


def cells(body: str) -> list[list[str]]:
    """The rows of an HTML table drawn by ui.tv (cell texts, unescaped)."""
    rows = re.findall(r"<tr>(.*?)</tr>", body)
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r)]
        for r in rows
    ]


def table_body(at) -> str:
    (body,) = [b for b in html_bodies(at) if "<table" in b]
    return body


def rotate_to(at, title: str, limit: int = 6):
    """Rerun until the view ``title`` is on screen (each run shows the next view)."""
    for _ in range(limit):
        if shown_view(at) == title:
            return at
        at.run()
        assert not at.exception
    raise AssertionError(f"{title} never shown")


def test_the_views_rotate_with_the_metrics_numbers(app):
    at = run_page(app, "tv", LINK, user=OFFICE_USER)
    assert not at.exception
    seen = []
    for _ in range(len(VIEWS)):
        seen.append(shown_view(at))
        at.run()
        assert not at.exception
    assert set(seen) == VIEWS and len(seen) == len(set(seen))

    # 关键指标: the town's KPIs, each with its 环比 and 同比.
    rotate_to(at, "关键指标")
    frame = computed(app, kpis, Filter(MONTH, MONTH))
    body = next(b for b in html_bodies(at) if "<div class='tv-cards'>" in b)
    values = [unescape(v) for v in re.findall(r"tv-card-value'>([^<]*)<", body)]
    rows = {r["kpi"]: r for r in frame.iter_rows(named=True)}
    keys = ("compliant_share", "study_coverage", "on_time_resolve_rate", "fortress_index")
    assert values == [value_text(k, rows[k]["value"]) for k in keys]
    assert body.count("tv-change") == 8  # 环比 and 同比 under each card
    assert any("本月要点" in b for b in html_bodies(at))

    # 成绩单: the villages worst first, as metrics.scorecard_reading orders them.
    rotate_to(at, "各村居成绩单")
    table = cells(table_body(at))
    ordered = lights(computed(app, scorecard, Filter(MONTH, MONTH, "village")), "village")
    assert [r[0] for r in table[1:]] == ordered["unit_name"].to_list()
    assert table[0][3] == "学习覆盖率"
    assert [r[3] for r in table[1:]] == [
        value_text("study_coverage", v) for v in ordered["study_coverage"]
    ]
    # As many red and amber cells as the lights say.
    light_columns = [c for c in ordered.columns if c.endswith("_light")]
    for light, css in (("红", "tv-red"), ("黄", "tv-amber")):
        count = sum((ordered[c] == light).sum() for c in light_columns)
        assert table_body(at).count(css) == count, light

    # 预警: red first, as many as fit, the rest counted.
    rotate_to(at, "预警")
    raised = computed(app, alerts, Filter(MONTH, MONTH))
    table = cells(table_body(at))
    assert len(table) - 1 == min(raised.height, 9)
    assert [r[0] for r in table[1:]] == raised["level"].head(9).to_list()
    assert [r[4] for r in table[1:]] == raised["message"].head(9).to_list()

    # The map: every village coloured.
    rotate_to(at, "平均堡垒指数地图")
    (deck,) = at.get("deck_gl_json_chart")
    assert '"CJ14"' in deck.proto.json and '"CJ01"' in deck.proto.json


def test_screen_tv_opens_the_screen_and_hides_the_sidebar(app):
    # "/?screen=tv": the screen is the page at "/" (no switch_page).
    at = run_page(app, None, LINK, user=LEADER_USER)
    assert not at.exception
    assert shown_view(at) in VIEWS
    assert STYLE in html_bodies(at)
    assert f"{SIDEBAR_HIDDEN}, " in STYLE and "display: none" in STYLE
    assert at.query_params["screen"] == "tv"
    # Without it, "/" is 总览 and nothing hides the sidebar.
    at = run_page(app, None, {"from": "2026-10", "to": "2026-10"}, user=LEADER_USER)
    assert not [b for b in html_bodies(at) if SIDEBAR_HIDDEN in b]
    assert "总览" in [t.value for t in at.title]


def test_owners_are_masked_for_a_leader(app):
    raised = computed(app, alerts, Filter(MONTH, MONTH)).head(9)
    owners = {o for o in raised["owner"].to_list() if o}
    assert owners
    leader = rotate_to(run_page(app, "tv", LINK, user=LEADER_USER), "预警")
    shown = " ".join(r[3] for r in cells(table_body(leader))[1:])
    assert "*" in shown and not any(name in shown for name in owners)
    office = rotate_to(run_page(app, "tv", LINK, user=OFFICE_USER), "预警")
    shown = " ".join(r[3] for r in cells(table_body(office))[1:])
    assert all(name in shown for name in owners)


def test_a_secretary_sees_the_own_village_and_its_subgrids(app):
    at = run_page(app, "tv", LINK, user=secretary("CJ03"))
    assert not at.exception
    assert any("营房村 · 2026年10月" in b for b in html_bodies(at))
    at = rotate_to(at, "各子网格成绩单")
    names = [r[0] for r in cells(table_body(at))[1:]]
    expected = computed(app, scorecard, Filter(MONTH, MONTH, "subgrid", "CJ03"))
    assert sorted(names) == sorted(expected["unit_name"].to_list())


def test_the_seconds_per_view_come_from_the_link(app):
    at = run_page(app, "tv", {**LINK, "seconds": "30"}, user=OFFICE_USER)
    assert "每 30 秒切换" in " ".join(c.value for c in at.caption)
    at = run_page(app, "tv", {**LINK, "seconds": "1"}, user=OFFICE_USER)
    captions = " ".join(c.value for c in at.caption)
    assert "切换间隔“1”无效" in captions and "每 15 秒切换" in captions


def test_an_administrator_has_no_screen(app):
    at = run_page(app, None, LINK, user=User("adm", "管理员", ADMIN))
    assert not at.exception
    assert not [b for b in html_bodies(at) if "tv-view" in b]
    with pytest.raises(ValueError):
        at.switch_page("app_pages/tv.py")
