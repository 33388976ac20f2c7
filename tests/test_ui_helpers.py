"""Pure helpers of the UI: formatting, exports, URL filters, map records."""

from __future__ import annotations

import io
from datetime import date

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics import Filter
from store.paths import REPO_ROOT
from ui.charts.look import data_array
from ui.exports import csv_bytes, neutralise, xlsx_bytes
from ui.filters import View, parts_filter, to_filter, to_params, view_from_params
from ui.format import hours, pct
from ui.map import bins, colour, polygon_records
from ui.privacy import display_name, mask_columns, mask_name

MONTHS = [date(2026, m, 1) for m in range(1, 11)]
VILLAGES = ["CJ01", "CJ02", "CJ03"]


def test_percent_and_hours_follow_chinese_conventions():
    assert pct(0.85321) == "85.3%"
    assert pct(None) == "—"
    assert hours(5.26) == "5.3 小时"
    assert hours(72) == "3.0 天"


def test_names_are_masked():
    assert mask_name("张小明") == "张*明"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧**明"


def test_csv_export_has_bom_and_neutralises_formulas():
    frame = pl.DataFrame({"名称": ["=HYPERLINK(1)", "正常", "+1", "@a", "-x", None], "v": range(6)})
    data = csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pl.read_csv(io.BytesIO(data))
    assert back["名称"].to_list() == ["'=HYPERLINK(1)", "正常", "'+1", "'@a", "'-x", None]
    assert back["v"].to_list() == list(range(6))


def test_xlsx_export_round_trips_as_text():
    frame = pl.DataFrame({"名称": ["=1+1", "村"], "得分": [-3.5, 90.0]})
    back = pl.read_excel(io.BytesIO(xlsx_bytes(frame)))
    assert back["名称"].to_list() == ["'=1+1", "村"]
    assert back["得分"].to_list() == [-3.5, 90.0]


@given(st.text(max_size=20))
def test_neutralised_text_never_starts_a_formula(text):
    out = neutralise(pl.DataFrame({"t": [text]}))["t"][0]
    assert not out.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))


def test_url_params_round_trip():
    view = View(date(2026, 3, 1), date(2026, 8, 1), "CJ02")
    parsed, notices = view_from_params(to_params(view), MONTHS, VILLAGES)
    assert parsed == view and notices == []


def test_bad_url_params_fall_back_with_notices():
    parsed, notices = view_from_params(
        {"from": "2026-13", "to": "abc", "village": "XX99"}, MONTHS, VILLAGES
    )
    latest = date(2026, 10, 1)  # the latest complete data month
    assert parsed == View(latest, latest, None)
    assert len(notices) == 3
    parsed, notices = view_from_params({"from": "2026-09", "to": "2026-02"}, MONTHS, VILLAGES)
    assert (parsed.start, parsed.end) == (latest, latest)
    assert notices


def test_map_colours_follow_values():
    edges = bins([10, 20, 70])
    assert edges[0] == 10 and edges[-1] == 70
    assert colour(10, edges) != colour(70, edges)
    assert colour(None, edges)[:3] == [200, 200, 200]
    feature = {
        "properties": {"unit_id": "CJ01", "name": "建龙社区"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    }
    records, _ = polygon_records([feature], {"CJ01": 50.0}, {"CJ01": {"value_text": "50"}})
    assert records[0]["unit_id"] == "CJ01" and records[0]["value_text"] == "50"


def test_a_view_becomes_a_filter_in_one_place():
    town = View(date(2026, 5, 1), date(2026, 10, 1), None)
    village = View(date(2026, 5, 1), date(2026, 10, 1), "CJ03")
    assert to_filter(town) == Filter(town.start, town.end, "town", None)
    assert to_filter(village) == Filter(village.start, village.end, "village", "CJ03")
    assert parts_filter(town) == Filter(town.start, town.end, "village", None)
    assert parts_filter(village) == Filter(village.start, village.end, "subgrid", "CJ03")
    one_month = to_filter(village, start=date(2026, 7, 1))
    assert (one_month.start, one_month.end) == (date(2026, 7, 1), date(2026, 7, 1))
    assert to_filter(village, "subgrid", village_id=None) == Filter(
        village.start, village.end, "subgrid", None
    )


def test_only_the_session_module_touches_session_state():
    """ui.session owns the session's keys and the signed-in user: no page, helper or
    the entry point reads st.session_state (e.g. ["user"]) behind its back."""
    sources = [REPO_ROOT / "dashboard.py", *REPO_ROOT.glob("app_pages/*.py")]
    sources += [p for p in REPO_ROOT.glob("ui/**/*.py") if p.name != "session.py"]
    for path in sources:
        code = [line for line in path.read_text(encoding="utf-8").splitlines() if "``" not in line]
        assert not any("session_state" in line for line in code), path.name


def test_names_are_masked_for_who_may_not_see_them():
    frame = pl.DataFrame({"name": ["张小明", None, "欧阳小明"], "n": [1, 2, 3]})
    # No signed-in user (a bare run): names are masked, empty names stay empty.
    assert mask_columns(frame, "name", "absent")["name"].to_list() == ["张*明", None, "欧**明"]
    assert display_name("张三") == "张*"


def test_empty_cells_are_a_dash_on_screen_and_numbers_keep_their_digits():
    from datetime import datetime

    from ui.sparse_tables import dash_missing

    frame = pl.DataFrame(
        {
            "文字": ["甲", None],
            "比率（%）": [85.3, None],
            "件数": [3, 4],
            "时间": [datetime(2026, 9, 1, 8, 5), None],
        }
    )
    shown, configs = dash_missing(frame, {"比率（%）": {"help": "说明"}})
    assert shown["文字"].to_list() == ["甲", "—"]
    assert shown["比率（%）"].to_list() == ["85.3", "—"]
    assert shown["时间"].to_list() == ["2026-09-01 08:05", "—"]
    assert shown["件数"].to_list() == [3, 4]  # no gap: still a number column
    assert configs["比率（%）"]["help"] == "说明"  # the hover survives the text column
    assert "件数" not in configs and "文字" not in configs
    untouched, same = dash_missing(frame.drop_nulls())
    assert untouched.equals(frame.drop_nulls()) and same == {}
    # A number column with a gap keeps the decimals its setting gave it (70.0 next to
    # 59.5, not 70), as the glossary's column settings say.
    totals = pl.DataFrame({"考核总分": [85.18, 18.1, None, 70.0]})
    import streamlit as st

    fixed = {"考核总分": st.column_config.NumberColumn(format="%.2f", help="总分")}
    shown, configs = dash_missing(totals, fixed)
    assert shown["考核总分"].to_list() == ["85.18", "18.10", "—", "70.00"]
    assert configs["考核总分"]["help"] == "总分"


def test_the_systems_own_values_are_shown_in_words():
    from ui.tables import in_words

    frame = pl.DataFrame(
        {
            "用户": ["init", "张三", "local"],
            "内容": ["local（演示密码，demo = false）", "init 之后", None],
        }
    )
    shown = in_words(frame)
    assert shown["用户"].to_list() == ["系统初始化", "张三", "本机"]
    # Whole values only, but a sign-in's detail starts with its client.
    assert shown["内容"].to_list() == ["本机（演示密码，已关闭演示模式）", "init 之后", None]


def test_a_page_in_hours_writes_its_day_labels_in_hours():
    from metrics.glossary import hours_text
    from ui.format import days_in_hours

    assert [days_in_hours(x) for x in ("<1天", "1–3天", "≥30天", "其他")] == [
        "<24小时",
        "24–72小时",
        "≥720小时",
        "其他",
    ]
    assert hours_text(72) == "72.0 小时"  # never switches to days
    assert hours_text(None) == "—"


def test_places_are_named_with_their_id():
    from ui.names import place_labels

    places = pl.DataFrame({"place_id": ["CJ03-S"], "name": ["营房村党群服务站"]})
    assert place_labels(["CJ03-S", "CJ09-X", None], places) == [
        "营房村党群服务站（CJ03-S）",
        "CJ09-X",
        None,
    ]


# ------------------------------------------------------------------ chart data arrays

# A heat map's cells as the builders make them: numbers with gaps, texts, and per-cell
# lists of mixed values (a count, a count, a word, an id).
CELL_VALUES = st.one_of(st.none(), st.integers(-5, 99), st.floats(0, 1), st.text(max_size=4))


@settings(deadline=None, max_examples=60)  # a first Plotly figure imports its validators
@given(
    st.integers(1, 6).flatmap(
        lambda width: st.lists(st.lists(CELL_VALUES, min_size=width, max_size=width), min_size=1)
    ),
    st.lists(st.tuples(st.integers(0, 9), st.text(max_size=3), st.text(max_size=5)), min_size=1),
)
def test_a_figure_from_data_arrays_is_written_as_the_same_json(cells, picks):
    def figure(wrap):
        built = go.Figure(
            go.Heatmap(z=wrap(cells), text=wrap([[str(c) for c in row] for row in cells]))
        )
        picks_as_lists = [list(p) for p in picks]
        built.add_scatter(x=wrap([p[1] for p in picks]), customdata=wrap(picks_as_lists))
        return built

    assert pio.to_json(figure(data_array)) == pio.to_json(figure(list))
