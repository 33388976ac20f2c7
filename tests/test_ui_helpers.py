"""Pure helpers of the UI: formatting, exports, URL filters, map records."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from ui.export import csv_bytes, neutralise, xlsx_bytes
from ui.filters import View, to_params, view_from_params
from ui.format import hours, mask_name, pct
from ui.map import bins, colour, polygon_records

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
    assert parsed == View(date(2026, 5, 1), date(2026, 10, 1), None)
    assert len(notices) == 3
    parsed, notices = view_from_params({"from": "2026-09", "to": "2026-02"}, MONTHS, VILLAGES)
    assert (parsed.start, parsed.end) == (date(2026, 5, 1), date(2026, 10, 1))
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
