"""Registry text (names of villages, sub-grids, service places, people) reaches the
screen as the characters it is, never as Markdown, HTML, LaTeX or a link.

A copy of the sample database gets hostile names (DuckDB SQL: test set-up only, as an
upload of the registry or the 人员名册 could set them). The pages run through the real
entry point with AppTest, and the Markdown they send must carry the names escaped by
``ui.text.plain``; Plotly text is escaped by ``ui.text.html_text``. The map tooltip's
fields stay raw: Streamlit's deck.gl component HTML-escapes every value it substitutes
into the tooltip template, which the browser test below checks on a real hover, along
with the rendered DOM of a page that shows the hostile village name.
"""

from __future__ import annotations

import html
import re
import shutil

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from auth.roles import OFFICE
from harness import browser as browser_support
from harness.browser import CHROMIUM, CHROMIUM_ARGS, exceptions_on, open_from_sidebar
from harness.server import streamlit_server, write_users
from store.database import connect
from tests.support.page_runs import OFFICE_USER, deck_specs, plotly_specs, run_page, texts
from ui.map import LABEL_LAYER_ID, POINT_LAYER_ID, POLYGON_LAYER_ID
from ui.text import html_text, plain

VILLAGE, SUBGRID, PLACE, PERSON = "CJ03", "CJ03-01", "CJ03-S", "CJ03-P0005"
HOSTILE_VILLAGE = "**营房村** [点我](http://x.example) :red[假] $x^2$ <b>粗</b>"
HOSTILE_SUBGRID = "_第1网格_ [链](http://y.example) :material/home: <i>斜</i> www.y.cn"
HOSTILE_PLACE = "<img src=x onerror=alert(1)>服务站 **粗体**"
HOSTILE_PERSON = "**张三** [p](http://z.example) a->b"
# Pieces of the names that would be syntax if they reached Markdown/HTML unescaped.
MARKDOWN_FRAGMENTS = (
    "**营房村**",
    "[点我](",
    ":red[",
    "$x^2$",
    "<b>粗",
    "_第1网格_",
    "[链](",
    ":material/home:",
    "<i>斜",
    "<img",
    "**粗体**",
    "**张三**",
    "[p](",
)
HTML_FRAGMENTS = ("<b>粗", "<i>斜", "<img")
WORD_JOINER = "\u2060"


def unescaped(fragment: str, text: str) -> bool:
    """Whether ``fragment`` occurs in Markdown ``text`` without a backslash before it."""
    return re.search(r"(?<!\\)" + re.escape(fragment), text) is not None


def make_hostile(source, target):
    """A copy of ``source`` in which one village, sub-grid, service station and person
    carry hostile names."""
    shutil.copy(source, target)
    con = connect(target)
    try:
        for table, key, unit, name in (
            ("village", "village_id", VILLAGE, HOSTILE_VILLAGE),
            ("subgrid", "subgrid_id", SUBGRID, HOSTILE_SUBGRID),
            ("service_point", "place_id", PLACE, HOSTILE_PLACE),
            ("person", "person_id", PERSON, HOSTILE_PERSON),
        ):
            con.execute(f"UPDATE {table} SET name = ? WHERE {key} = ?", [name, unit])
            assert con.execute(f"SELECT name FROM {table} WHERE {key} = ?", [unit]).fetchall() == [
                (name,)
            ]
    finally:
        con.close()
    return target


@pytest.fixture(scope="module")
def hostile_db(sample_db, tmp_path_factory):
    return make_hostile(sample_db, tmp_path_factory.mktemp("hostile") / "grid.duckdb")


@pytest.fixture
def open_page(hostile_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(hostile_db))

    def run(page, params=None, user=OFFICE_USER):
        at = run_page(hostile_db, page, params, user=user)
        assert not at.exception, at.exception
        return at

    return run


def markdown_sources(at) -> list[str]:
    """Every text of the page Streamlit renders as Markdown: bodies, labels, options."""
    sources = texts(at).split("\n")
    sources += [m.label for m in at.metric]
    sources += [t.label for t in at.tabs] + [e.label for e in at.expander]
    sources += [option for radio in at.radio for option in radio.options]
    return sources


def assert_no_raw_markdown(at) -> None:
    for source in markdown_sources(at):
        for fragment in MARKDOWN_FRAGMENTS:
            assert not unescaped(fragment, source), (fragment, source)


def plotly_strings(at) -> list[str]:
    """The category and text values of every Plotly trace on the page."""
    out = []
    for spec in plotly_specs(at):
        for trace in spec["data"]:
            for key in ("x", "y", "text"):
                values = trace.get(key)
                if isinstance(values, list):
                    out += [v for v in values if isinstance(v, str)]
    return out


def assert_no_raw_html_in_charts(at) -> None:
    for text in plotly_strings(at):
        for fragment in HTML_FRAGMENTS:
            assert fragment not in text, (fragment, text)


def test_plain_and_html_text_escape_without_losing_a_character():
    for name in (HOSTILE_VILLAGE, HOSTILE_SUBGRID, HOSTILE_PLACE, HOSTILE_PERSON, "a\\b -- c"):
        escaped = plain(name)
        # Every piece of syntax is escaped ...
        for fragment in MARKDOWN_FRAGMENTS:
            assert not unescaped(fragment, escaped)
        # ... and dropping the escapes and the invisible joiners gives the name back.
        assert re.sub(r"\\(.)", r"\1", escaped.replace(WORD_JOINER, "")) == name
        assert "<" not in html_text(name) and html.unescape(html_text(name)) == name
    assert plain(None) == html_text(None) == ""
    assert plain("第1行\n第2行") == "第1行 第2行"  # a line break would start a new block
    # Block markers are escaped where the value starts a line, and only there.
    for start in ("- 项", "+ 项", "# 项", "> 项", "=", "12) 项"):
        assert re.match(r"\d*\\", plain(start)), plain(start)
    assert plain("1. 列表").replace(WORD_JOINER, "") == "1\\. 列表"
    assert plain("    缩进") == " 缩进"  # four spaces would open a code block
    assert plain("2026-13 第1网格") == "2026-13 第1网格"  # ordinary text stays readable


@pytest.mark.parametrize(
    "page", ["overview", "coverage", "study", "response", "map", "village", "ranking"]
)
def test_every_page_shows_the_village_name_escaped(open_page, page):
    at = open_page(page, {"village": VILLAGE})
    # The scope under the title names the village, escaped.
    assert any(plain(HOSTILE_VILLAGE) in c.value for c in at.caption), [c.value for c in at.caption]
    assert_no_raw_markdown(at)
    assert_no_raw_html_in_charts(at)


def test_overview_subheader_and_link_notices_are_escaped(open_page):
    at = open_page("overview", {"village": VILLAGE})
    assert any(plain(HOSTILE_VILLAGE) in s.value for s in at.subheader)

    # A link anyone can send: its values are quoted in the notices, escaped.
    bad = "[点我](http://x.example) **粗**"
    at = open_page("overview", {"village": bad, "from": ":red[假]"})
    warnings = [w.value for w in at.sidebar.warning]
    assert any(plain(bad) in w for w in warnings), warnings
    assert any(plain(":red[假]") in w for w in warnings), warnings
    toasts = [t.value for t in at.toast]
    assert any(plain(bad) in t for t in toasts), toasts
    for source in markdown_sources(at):
        assert bad not in source and ":red[假]" not in source


def test_village_page_escapes_names_in_markdown_and_charts(open_page):
    at = open_page("village", {"village": VILLAGE})
    assert any(s.value.startswith(f"{plain(HOSTILE_VILLAGE)} · ") for s in at.subheader)
    # The sub-grids' small multiples name the hostile sub-grid, HTML-escaped for Plotly.
    assert html_text(HOSTILE_SUBGRID) in plotly_strings(at)
    assert_no_raw_html_in_charts(at)
    # Tables are not Markdown: there the names stay as they are (full names for 镇办人员).
    cells = {v for frame in at.dataframe for col in frame.value for v in frame.value[col]}
    assert HOSTILE_SUBGRID in cells and HOSTILE_PERSON in cells
    assert_no_raw_markdown(at)


def test_map_keeps_raw_names_for_tooltips_and_labels(open_page):
    # Sub-grids of the hostile village: polygon, marker and label records.
    at = open_page("map", {"village": VILLAGE})
    (deck,) = deck_specs(at)
    layers = {layer["id"]: layer["data"] for layer in deck["layers"]}
    names = {r["unit_id"]: r["name"] for r in layers[POLYGON_LAYER_ID]}
    # Raw, not pre-escaped: the tooltip escapes each substituted value itself, so an
    # escaped name would show "&lt;b&gt;" to the reader.
    assert names[SUBGRID] == HOSTILE_VILLAGE + HOSTILE_SUBGRID
    places = {r["unit_id"]: r for r in layers[POINT_LAYER_ID]}
    assert places[PLACE]["name"] == HOSTILE_VILLAGE + HOSTILE_PLACE
    assert places[PLACE]["hint"] == f"点击查看{HOSTILE_VILLAGE}详情"
    assert HOSTILE_SUBGRID in {r["text"] for r in layers[LABEL_LAYER_ID]}
    tooltip = at.get("deck_gl_json_chart")[0].proto.tooltip
    assert "{name}" in tooltip and "{metric_text}" in tooltip
    # The members table of the village lists the hostile person as is (a table).
    cells = {v for frame in at.dataframe for col in frame.value for v in frame.value[col]}
    assert HOSTILE_PERSON in cells
    assert_no_raw_markdown(at)

    # The town map: the village polygon and its label carry the raw name too.
    at = open_page("map")
    (deck,) = deck_specs(at)
    layers = {layer["id"]: layer["data"] for layer in deck["layers"]}
    assert {r["unit_id"]: r["name"] for r in layers[POLYGON_LAYER_ID]}[VILLAGE] == HOSTILE_VILLAGE
    assert HOSTILE_VILLAGE in {r["text"] for r in layers[LABEL_LAYER_ID]}


def test_ranking_escapes_captions_and_bar_labels(open_page):
    at = open_page("ranking", {"village": VILLAGE})
    assert any(f"；{plain(HOSTILE_VILLAGE)}以 ▶ 标出" in c.value for c in at.caption)
    assert html_text(HOSTILE_VILLAGE) in plotly_strings(at)
    assert_no_raw_html_in_charts(at)

    at.radio(key="ranking_level").set_value("subgrid").run()
    assert not at.exception
    assert any(f"子网格排名：{plain(HOSTILE_VILLAGE)}内" in c.value for c in at.caption)
    assert html_text(HOSTILE_SUBGRID) in plotly_strings(at)
    assert_no_raw_html_in_charts(at)
    assert_no_raw_markdown(at)


def test_town_charts_escape_unit_names(open_page):
    at = open_page("coverage")
    strings = plotly_strings(at)
    assert html_text(HOSTILE_VILLAGE) in strings  # the villages compared
    assert html_text(f"{HOSTILE_VILLAGE} {HOSTILE_SUBGRID}") in strings  # the heat map rows
    assert_no_raw_html_in_charts(at)
    assert_no_raw_markdown(at)

    at = open_page("study")
    (bars,) = [s for s in plotly_specs(at) if s["data"][0]["type"] == "bar"][:1]
    categories = bars["data"][0]["x"]
    assert html_text(HOSTILE_VILLAGE) in categories
    # The coverage figures on top of the bars sit on the same (escaped) categories.
    totals = [t for t in bars["data"] if t["type"] == "scatter"]
    assert totals and totals[0]["x"] == categories
    assert_no_raw_html_in_charts(at)


# ------------------------------------------------------------------ in a real browser

USER, PASSWORD = "registry_text_office", "registry-text-1"


@pytest.fixture(scope="module")
def server(sample_db, tmp_path_factory):
    work = tmp_path_factory.mktemp("registry_text_server")
    db = make_hostile(sample_db, work / "grid.duckdb")
    users = write_users(work / "users.toml", [(USER, PASSWORD, OFFICE, "注入测试")])
    with streamlit_server(db, {"GRID_USERS": str(users)}) as url:
        yield url


def _tooltip_after_hovering(page, canvas) -> str | None:
    """Hover points of the map from its centre outwards until deck.gl shows a tooltip;
    its inner HTML, or None."""
    box = canvas.bounding_box()
    for fx, fy in ((0.5, 0.5), (0.45, 0.5), (0.55, 0.5), (0.5, 0.42), (0.5, 0.58), (0.4, 0.4)):
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        try:
            page.wait_for_function(
                "() => { const t = document.querySelector('.deck-tooltip');"
                " return !!t && t.style.display !== 'none' && t.textContent.length > 0; }",
                timeout=10_000,
                polling=200,
            )
        except PlaywrightTimeout:  # no polygon under this point: try the next
            continue
        return page.locator(".deck-tooltip").first.inner_html()
    return None


@pytest.mark.browser
def test_hostile_names_render_as_literal_text_in_the_browser(server):
    dialogs = []
    with sync_playwright() as p:
        # No --disable-gpu: deck.gl needs WebGL (software-rendered) to draw and pick.
        args = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + ["--use-angle=swiftshader"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            page.set_default_timeout(90_000)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            page.goto(f"{server}/village?village={VILLAGE}")
            browser_support.sign_in(page, USER, PASSWORD)
            assert exceptions_on(page) == []
            main = page.locator('[data-testid="stMain"]')
            text = main.inner_text().replace(WORD_JOINER, "")
            # The literal characters, in the caption under the title and the subheader.
            assert text.count(HOSTILE_VILLAGE) >= 2, text[:500]
            for selector in (
                'a[href^="http://x.example"]',
                'a[href^="http://y.example"]',
                ".katex",
                ".stMarkdownColoredText",
                '[role="img"][aria-label="home icon"]',
            ):
                assert page.locator(selector).count() == 0, selector
            assert main.locator("strong", has_text="营房村").count() == 0
            assert main.locator("b", has_text="粗").count() == 0

            # The map's tooltip over a sub-grid of the village: the raw record fields
            # arrive escaped by Streamlit's component, so the name shows as it is.
            open_from_sidebar(page, "两个指数地图")  # the same session: still CJ03
            assert f"village={VILLAGE}" in page.url
            canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
            canvas.scroll_into_view_if_needed()
            tooltip = _tooltip_after_hovering(page, canvas)
            assert tooltip is not None, "no tooltip: deck.gl drew nothing under the pointer"
            tip = page.locator(".deck-tooltip").first
            assert HOSTILE_VILLAGE in tip.text_content()
            assert tip.locator("b").count() == 1  # the template's own, nothing from the name
            assert tip.locator("a, img, i").count() == 0, tooltip
        finally:
            browser.close()
    assert dialogs == []
