"""考核排名 (app_pages/ranking.py) through the real entry point, with AppTest."""

from __future__ import annotations

import json
from datetime import date

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from metrics import Filter
from metrics.assessment import assessment, rank_change
from tests.support.page_runs import (
    computed,
    copy_with_august_emptied,
    plotly_specs,
    run_page,
    texts,
)
from ui.format import rank_change_text

DEFAULT = (date(2026, 10, 1), date(2026, 10, 1))  # the latest complete sample month
AREAS = {
    "daily_ops": "网格日常运行（25分）",
    "org_life": "党内组织生活（25分）",
    "public_opinion": "收集反馈民情民意（25分）",
    "governance": "参与社会治理和联系服务群众（25分）",
}


@pytest.fixture(scope="module")
def gap_db(sample_db, tmp_path_factory):
    return copy_with_august_emptied(
        sample_db, tmp_path_factory.mktemp("ranking_gap") / "grid.duckdb"
    )


def assert_table_equals(table, expected, moves=None):
    """The page's table holds the assessment rows, rounded to two decimals, in rank order."""
    assert table["编号"].tolist() == expected["unit_id"].to_list()
    assert table["考核排名"].tolist() == expected["rank"].to_list()

    # Shown with two decimals: within half a hundredth of the exact value.
    def shown(values):
        return pytest.approx(values.to_list(), abs=0.005 + 1e-9)

    assert table["考核总分"].tolist() == shown(expected["total"])
    assert table["反向扣分"].tolist() == shown(expected["deductions"])
    for key, header in AREAS.items():
        assert table[header].tolist() == shown(expected[key])
    if moves is not None:
        change = dict(moves.select("unit_id", "rank_change").iter_rows())
        assert table["排名变化"].tolist() == [
            rank_change_text(change.get(u)) for u in expected["unit_id"]
        ]


def test_village_ranking_equals_the_assessment(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "ranking")
    assert not at.exception
    f = Filter(*DEFAULT, "village")
    expected = computed(sample_db, assessment, f)
    moves = computed(sample_db, rank_change, f)
    table = at.dataframe[0].value
    assert len(table) == 14
    assert_table_equals(table, expected, moves)
    assert any(text != "—" for text in table["排名变化"])  # the range before has data

    # The bar chart: four areas, deductions below zero and the total, best first.
    traces = plotly_specs(at)[0]["data"]
    assert [t["name"] for t in traces] == [
        "网格日常运行",
        "党内组织生活",
        "收集反馈民情民意",
        "参与社会治理和联系服务群众",
        "反向扣分",
        "考核总分",
    ]
    assert traces[0]["y"] == expected["unit_name"].to_list()
    assert traces[-1]["x"] == pytest.approx([round(v, 2) for v in expected["total"]])
    assert all(x <= 0 for x in traces[4]["x"])
    assert any("口径说明" in e.label for e in at.expander)
    assert "考核清单按四个方面计分" in texts(at)


def test_subgrid_ranking_town_wide(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "ranking")
    at.radio(key="ranking_level").set_value("subgrid").run()
    assert not at.exception
    f = Filter(*DEFAULT, "subgrid")
    table = at.dataframe[0].value
    assert len(table) == 89
    assert_table_equals(
        table, computed(sample_db, assessment, f), computed(sample_db, rank_change, f)
    )


def test_one_village_ranks_its_subgrids_and_marks_itself(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "ranking", {"village": "CJ03"})
    assert not at.exception
    # Villages: still the whole town, the view's village marked.
    table = at.dataframe[0].value
    assert len(table) == 14
    assert [n for n in table["村居"] if n.startswith("▶")] == ["▶ 营房村"]

    at.radio(key="ranking_level").set_value("subgrid").run()
    assert not at.exception
    expected = computed(sample_db, assessment, Filter(*DEFAULT, "subgrid", "CJ03"))
    table = at.dataframe[0].value
    assert_table_equals(table, expected)
    assert set(table["所属村居"]) == {"营房村"}
    town = computed(sample_db, assessment, Filter(*DEFAULT, "subgrid"))
    town_rank = dict(town.select("unit_id", "rank").iter_rows())
    assert table["全镇排名"].tolist() == [town_rank[u] for u in expected["unit_id"]]


def test_a_click_on_a_row_opens_the_village_or_subgrid(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "ranking")
    at.radio(key="ranking_level").set_value("subgrid").run()
    table = at.dataframe[0].value
    row = 5
    subgrid = table["编号"][row]
    element = at.dataframe[0]
    assert element.proto.id.endswith("ranking_table_subgrid")
    selection = {"selection": {"rows": [row], "columns": [], "cells": []}}
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=element.proto.id, string_value=json.dumps(selection)))
    at = at._run(states)
    assert not at.exception
    assert "子网格详情" in [t.value for t in at.title]
    assert at.query_params["village"] == subgrid[:4]
    assert at.query_params["subgrid"] == subgrid


def test_an_empty_month_shows_a_notice(gap_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(gap_db))
    at = run_page(gap_db, "ranking", {"from": "2026-08", "to": "2026-08"})
    assert not at.exception
    assert "没有考核数据" in " ".join(i.value for i in at.info)
    assert not at.dataframe and not plotly_specs(at)


def test_bad_query_parameters_fall_back_with_a_notice(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db, "ranking")
    at.query_params.update({"from": "2026-13", "village": "XX"})
    at.run()
    assert not at.exception
    page = texts(at)
    assert "2026-13" in page and "XX" in page
    assert_table_equals(
        at.dataframe[0].value, computed(sample_db, assessment, Filter(*DEFAULT, "village"))
    )
