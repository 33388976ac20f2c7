"""责任落实, 程序清单 and 阵地与志愿者 pages: through dashboard.py in AppTest (the numbers
are the metrics layer's, names masked for 镇领导, one village for a 村居书记), and in
a real browser at desk and phone width (screenshots under test-artifacts/)."""

from __future__ import annotations

import pytest

from auth.store import UserStore
from metrics.decision_procedure import decision_stages
from metrics.glossary import value_text
from metrics.places import place_usage
from metrics.posts import unassigned, vacancies
from metrics.team import level_chain, level_people
from store.months import parse_month
from tests.support.page_runs import (
    LEADER_USER,
    OFFICE_USER,
    computed,
    metrics_by_label,
    plotly_specs,
    run_page,
    secretary,
    table_with,
    texts,
)
from ui.filters import View, to_filter
from ui.privacy import mask_name

PARAMS = {"from": "2026-05", "to": "2026-10"}
VIEW = View(parse_month(PARAMS["from"]), parse_month(PARAMS["to"]), None)


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    """Sessions follow the users file: every user these tests sign in is in it."""
    store = UserStore.load(tmp_path_factory.mktemp("users") / "users.toml")
    for user in (LEADER_USER, OFFICE_USER, secretary("CJ03")):
        store.set_user(user.username, "page-password-1", user.role, user.village_id, "测试")
    return store.path


@pytest.fixture
def db(sample_db, users_file, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    monkeypatch.setenv("GRID_USERS", str(users_file))
    return sample_db


def test_cards_and_chain_are_the_metrics_layers(db):
    at = run_page(db, "responsibility", params=PARAMS)
    assert not at.exception
    scope = to_filter(VIEW)
    chain = computed(db, level_chain, scope)
    due, done = chain["duties_due"].sum(), chain["duties_done"].sum()
    shown = metrics_by_label(at)
    assert shown["履职率"][0] == value_text("fulfilment", done / due)
    assert shown["空缺岗位（个）"][0] == str(computed(db, vacancies, scope)["vacant"].sum())
    assert shown["未分配子网格（人）"][0] == str(computed(db, unassigned, scope).height)
    bars, heatmap = plotly_specs(at)
    assert bars["data"][0]["x"] == pytest.approx(chain["fulfilment"].to_list())
    assert [y.split(". ")[1] for y in bars["data"][0]["y"]] == chain["role"].to_list()
    assert len(heatmap["data"][0]["y"]) == 14  # the town: every village a row
    table = table_with(at, "网格角色", "空缺岗位（个）", "履职率（%）")
    assert table["空缺岗位（个）"].to_list() == chain["vacant"].to_list()


def test_a_leader_sees_masked_names_the_office_full_ones(db):
    scope = to_filter(VIEW)
    people = computed(db, level_people, scope, "督导员")
    leader = run_page(db, "responsibility", params=PARAMS)
    office = run_page(db, "responsibility", params=PARAMS, user=OFFICE_USER)
    shown_to_leader = set(table_with(leader, "姓名", "应履职（人·次）")["姓名"])
    shown_to_office = set(table_with(office, "姓名", "应履职（人·次）")["姓名"])
    assert shown_to_office == set(people["name"])
    assert shown_to_leader == {mask_name(n) for n in people["name"]}
    options = leader.selectbox(key="responsibility_person").options
    assert not [o for o in options for n in people["name"] if n in o]  # masked there too


def test_picking_a_level_and_a_person_lists_their_duties(db):
    at = run_page(db, "responsibility", params=PARAMS, user=OFFICE_USER)
    at.selectbox(key="responsibility_level").set_value("子网格长").run()
    assert not at.exception
    people = computed(db, level_people, to_filter(VIEW), "子网格长")
    table = table_with(at, "姓名", "应履职（人·次）")
    assert table["人员编号"].to_list() == people["person_id"].to_list()  # weakest first
    weakest = people["person_id"][0]
    at.selectbox(key="responsibility_person").set_value(weakest).run()
    duties = table_with(at, "职责编号", "履职情况")
    assert set(duties["职责编号"]) == {"D11", "D12", "D13", "D14", "D15", "D16"}
    assert set(duties["履职情况"]) <= {"已完成", "未完成", "本期无需"}


def test_a_secretary_sees_the_own_village_chain_only(db):
    at = run_page(db, "responsibility", params=PARAMS, user=secretary("CJ03"))
    assert not at.exception
    assert "营房村" in texts(at)
    assert len(plotly_specs(at)) == 1  # the chain; no villages' heat map
    chain = computed(db, level_chain, to_filter(View(VIEW.start, VIEW.end, "CJ03")))
    table = table_with(at, "网格角色", "空缺岗位（个）", "履职率（%）")
    assert table["应履职（人·次）"].to_list() == chain["duties_due"].to_list()


def test_procedures_and_places_pages_show_the_metrics_layers_numbers(db):
    at = run_page(db, "procedures", params=PARAMS)
    assert not at.exception
    stages = computed(db, decision_stages, to_filter(VIEW))
    shown = metrics_by_label(at)
    assert shown["重要事项（件）"][0] == str(stages.filter(stages["step"] == 2)["items"][0])
    assert "尚未公示的事项" in texts(at) and "尚未经例会讨论的事项" in texts(at)
    places = run_page(db, "places", params=PARAMS)
    assert not places.exception
    usage = computed(db, place_usage, to_filter(VIEW))
    assert metrics_by_label(places)["党群服务站点（个）"][0] == str(usage.height)
    table = table_with(places, "阵地名称", "闲置月数（月）")
    assert table["闲置月数（月）"].sum() == usage["idle_months"].sum()


# ------------------------------------------------------------------ the browser


@pytest.mark.browser
@pytest.mark.slow
def test_the_pages_at_desk_and_phone_width(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from auth.roles import OFFICE
    from harness.browser import CHROMIUM, CHROMIUM_ARGS, exceptions_on, sign_in, wait_until_idle
    from harness.server import ARTIFACTS, sample_database, streamlit_server, write_users

    work = tmp_path_factory.mktemp("lists-browser")
    db = sample_database(tmp_path_factory, work / "grid.duckdb")
    users = write_users(work / "users.toml", [("lists", "lists-password-1", OFFICE, "测试")])
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        streamlit_server(db, {"GRID_USERS": str(users)}) as url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, height in ((1440, 900), (390, 844)):
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    locale="zh-CN",
                    is_mobile=width < 500,
                )
                page = context.new_page()
                page.set_default_timeout(90_000)
                for key, title in (
                    ("responsibility", "责任落实"),
                    ("procedures", "程序清单"),
                    ("places", "阵地与志愿者"),
                ):
                    page.goto(f"{url}/{key}?from=2026-04&to=2026-09")  # a new session
                    sign_in(page, "lists", "lists-password-1")
                    wait_until_idle(page)
                    collapse = page.locator('[data-testid="stSidebarCollapseButton"] button')
                    if width < 500 and collapse.count():  # a phone shows the page, not the menu
                        collapse.first.click()
                    assert exceptions_on(page) == [], (key, width)
                    main = page.locator('[data-testid="stMain"]')
                    assert main.get_by_text(title).count(), (key, width)
                    assert page.locator(".js-plotly-plot").count() > 0, (key, width)
                    page.screenshot(
                        path=str(ARTIFACTS / f"lists-{key}-{width}.png"), full_page=True
                    )
                context.close()
        finally:
            browser.close()
