"""子网格详情 (app_pages/subgrid.py) through the real entry point, with AppTest: the numbers
equal the metrics layer's, the deep link and the links from the other pages, a village
secretary refused another village's sub-grid, names masked for 镇领导."""

from __future__ import annotations

import inspect
import json
from datetime import date

import polars as pl
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from auth.store import UserStore
from metrics import Filter, coverage, subgrid_detail
from metrics.glossary import value_text
from metrics.overview import kpis, scorecard
from metrics.posts import holders
from metrics.registry import subgrids
from metrics.response import overdue
from metrics.scope import restricted_to
from metrics.study import not_reached
from store.database import connect
from tests.support.page_runs import (
    LEADER_USER,
    OFFICE_USER,
    computed,
    run_page,
    secretary,
    table_with,
    texts,
)

MONTH = date(2026, 10, 1)  # the sample's last month
RANGE = {"from": "2026-10", "to": "2026-10"}
VILLAGE = "CJ07"


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    """Sessions follow the users file: every user these tests sign in is in it."""
    store = UserStore.load(tmp_path_factory.mktemp("users") / "users.toml")
    for user in (LEADER_USER, OFFICE_USER, secretary("CJ03"), secretary(VILLAGE)):
        store.set_user(
            user.username, "subgrid-password-1", user.role, user.village_id, user.display_name
        )
    return store.path


@pytest.fixture
def app(sample_db, users_file, monkeypatch):
    """The database and the users file the app runs with."""
    monkeypatch.setenv("GRID_DB", str(sample_db))
    monkeypatch.setenv("GRID_USERS", str(users_file))
    return sample_db


@pytest.fixture(scope="module")
def busy_subgrid(sample_db) -> str:
    """The sub-grid of CJ07 with the most open reports at the end of the month, among
    those with members not reached by study (so that every section has rows)."""
    f = Filter(MONTH, MONTH, "subgrid", VILLAGE)
    unreached = set(computed(sample_db, not_reached, f)["subgrid_id"])
    cards = computed(sample_db, scorecard, f).filter(pl.col("unit_id").is_in(unreached))
    best = cards.sort("open_at_end", "overdue_at_end", descending=True).row(0, named=True)
    assert best["open_at_end"] > 0
    return best["unit_id"]


def link(subgrid_id: str, village: str | None = VILLAGE) -> dict[str, str]:
    return {**RANGE, "subgrid": subgrid_id, **({"village": village} if village else {})}


def selected(at, element, value: dict):
    """Rerun as if the browser had sent ``value`` as ``element``'s selection."""
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=element.proto.id, string_value=json.dumps(value)))
    return at._run(states)


def test_deep_link_shows_the_metrics_numbers_and_keeps_the_url(app, busy_subgrid):
    at = run_page(app, "subgrid", link(busy_subgrid), user=OFFICE_USER)
    assert not at.exception
    assert "子网格详情" in [t.value for t in at.title]
    grid = computed(app, subgrids, VILLAGE).filter(pl.col("subgrid_id") == busy_subgrid)
    name, village_name = grid["name"][0], grid["village_name"][0]
    assert f"{village_name} {name}（{busy_subgrid}）" in texts(at)
    assert at.query_params["subgrid"] == busy_subgrid
    assert (at.query_params["from"], at.query_params["to"]) == ("2026-10", "2026-10")

    f = Filter(MONTH, MONTH, "subgrid", VILLAGE)
    # KPI cards: the sub-grid's row of metrics.overview.kpis.
    rows = computed(app, kpis, f).filter(pl.col("unit_id") == busy_subgrid)
    values = dict(rows.select("kpi", "value").iter_rows())
    cards = {m.label: m.value for m in at.metric}
    for key, card in (
        ("compliant_share", "制度落实率"),
        ("study_coverage", "学习覆盖率"),
        ("on_time_resolve_rate", "按期办结率"),
        ("fortress_index", "平均堡垒指数"),
    ):
        assert cards[card] == value_text(key, values[key]), card
    card = computed(app, scorecard, f).filter(pl.col("unit_id") == busy_subgrid)
    assert cards["期末积压（件）"] == str(card["open_at_end"][0])
    assert cards["在册党员（人）"] == str(card["members"][0])

    # Requirements of the month: the 网格覆盖 heat map's row of this sub-grid.
    matrix = computed(app, coverage.coverage_matrix, f).filter(
        (pl.col("level") == "subgrid") & (pl.col("unit_id") == busy_subgrid)
    )
    (listed,) = [m.value for m in at.markdown if "已开展" in m.value]
    met = [m >= n > 0 for m, n in zip(matrix["months_met"], matrix["months"], strict=True)]
    expected = [
        f"- {':green[已达标]' if ok else ':red[未达标]'} **{r['label']}**："
        f"已开展 {r['held']} 次，应开展 ≥{r['min_count']} 次"
        for r, ok in zip(matrix.iter_rows(named=True), met, strict=True)
    ]
    assert listed.splitlines() == expected
    if all(met):
        assert f"制度清单 {matrix.height} 项要求全部达到。" in texts(at)
    else:
        assert f"未达到 {met.count(False)} 项" in texts(at)

    # Members not reached: metrics.study.not_reached of the sub-grid, full names for 镇办.
    missing = computed(app, not_reached, f).filter(pl.col("subgrid_id") == busy_subgrid)
    unreached = table_with(at, "连续未参学（月）")
    assert unreached["人员编号"].to_list() == missing["person_id"].to_list()
    assert unreached["姓名"].to_list() == missing["name"].to_list()

    # Open reports: as many as the scorecard counts, the 督办清单's first.
    reports = table_with(at, "期末状态")
    assert reports.height == card["open_at_end"][0]
    late = computed(app, overdue, f).filter(pl.col("subgrid_id") == busy_subgrid)
    assert set(reports["事项编号"].head(late.height)) == set(late["report_id"])
    reasons = dict(late.select("report_id", "overdue_reason").iter_rows())
    for report, reason in reports.select("事项编号", "超期原因").iter_rows():
        assert reason == reasons.get(report, "未超期")

    # The team: as many per role as metrics.posts counts on the roll.
    team = table_with(at, "身份")
    held = computed(app, holders, f).filter(pl.col("subgrid_id") == busy_subgrid)
    for role in ("子网格长", "网格员", "网格志愿者"):
        expected = held.filter(pl.col("role") == role)["held"].sum()
        assert team.filter(pl.col("网格角色") == role).height == expected, role
    assert all(team["姓名"].str.len_chars() > 0)

    # The trend: one point per month of the 12 up to the view's last.
    assert "月度趋势（近 12 个月）" in texts(at)


def test_a_leader_sees_masked_names(app, busy_subgrid):
    at = run_page(app, "subgrid", link(busy_subgrid), user=LEADER_USER)
    assert not at.exception
    f = Filter(MONTH, MONTH, "subgrid", VILLAGE)
    real = set(computed(app, not_reached, f)["name"])
    unreached = table_with(at, "连续未参学（月）")
    team = table_with(at, "身份")
    for shown in (unreached["姓名"], team["姓名"]):
        assert shown.len() > 0
        assert all("*" in n for n in shown)
        assert not real & set(shown)


def test_a_secretary_is_refused_another_villages_subgrid(app, busy_subgrid):
    at = run_page(app, "subgrid", link(busy_subgrid), user=secretary("CJ03"))
    assert not at.exception
    refusal = " ".join(e.value for e in at.error)
    assert "当前账号只能查看本村居" in refusal and busy_subgrid in refusal
    assert not at.dataframe and not at.metric
    assert "subgrid" not in at.query_params
    # The picker offers the secretary's own sub-grids only.
    own = computed(app, subgrids, "CJ03").select("subgrid_id", "name").rows()
    assert at.selectbox(key="subgrid_pick").options == [f"营房村 {n}（{s}）" for s, n in own]

    # The secretary of that village opens it.
    at = run_page(app, "subgrid", link(busy_subgrid), user=secretary(VILLAGE))
    assert not at.exception and not at.error
    assert at.query_params["subgrid"] == busy_subgrid
    assert table_with(at, "身份").height > 0


def test_an_unknown_or_mismatched_subgrid_leaves_a_notice_and_the_picker(app):
    at = run_page(app, "subgrid", link("ZZ99-01", None))
    assert not at.exception
    assert "子网格编号“ZZ99-01”不存在" in " ".join(e.value for e in at.error)
    assert len(at.selectbox(key="subgrid_pick").options) == 89

    # A sub-grid of another village than the sidebar's: asked to choose again.
    at = run_page(app, "subgrid", {**link("CJ07-02", "CJ03")})
    assert not at.exception
    assert "不属于左侧所选的营房村" in texts(at)
    assert "subgrid" not in at.query_params
    assert len(at.selectbox(key="subgrid_pick").options) == computed(app, subgrids, "CJ03").height


def test_the_picker_opens_a_subgrid(app):
    at = run_page(app, "subgrid", {**RANGE, "village": "CJ03"})
    assert not at.exception
    assert "请选择一个子网格" in texts(at)
    at.selectbox(key="subgrid_pick").set_value("CJ03-02").run()
    assert not at.exception
    assert at.query_params["subgrid"] == "CJ03-02"
    assert at.query_params["village"] == "CJ03"
    assert "营房村 第2网格（CJ03-02）" in texts(at)


def test_a_heat_map_cell_opens_its_subgrid(app):
    at = run_page(app, "coverage", {**RANGE, "village": "CJ03"})
    (heat_map,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith("coverage_heatmap_0")]
    markers = next(t for t in json.loads(heat_map.proto.spec)["data"] if t["type"] == "scatter")
    picked = next(i for i, c in enumerate(markers["customdata"]) if c[-1] == "CJ03-04")
    point = {"customdata": markers["customdata"][picked], "point_index": picked}
    at = selected(at, heat_map, {"selection": {"points": [point], "point_indices": [picked]}})
    assert not at.exception
    assert "子网格详情" in [t.value for t in at.title]
    assert at.query_params["subgrid"] == "CJ03-04"
    assert (at.query_params["from"], at.query_params["village"]) == ("2026-10", "CJ03")


def test_a_row_of_the_villages_subgrid_table_opens_that_subgrid(app):
    at = run_page(app, "village", {**RANGE, "village": "CJ03"})
    table = next(d for d in at.dataframe if d.proto.id.endswith("village_subgrids"))
    second = table.value["编号"].tolist()[1]
    at = selected(at, table, {"selection": {"rows": [1], "columns": [], "cells": []}})
    assert not at.exception
    assert "子网格详情" in [t.value for t in at.title]
    assert at.query_params["subgrid"] == second


def test_the_subgrid_functions_are_scoped_and_find_nothing_outside_the_scope(sample_db):
    public = [
        value
        for attr, value in vars(subgrid_detail).items()
        if inspect.isfunction(value)
        and not attr.startswith("_")
        and value.__module__ == subgrid_detail.__name__
    ]
    assert len(public) >= 8
    assert all(getattr(fn, "__scoped__", False) for fn in public)
    con = connect(sample_db)
    f = Filter(MONTH, MONTH, "subgrid", None)
    try:
        assert subgrid_detail.find_subgrid(con, "CJ07-02")["village_name"]
        assert not subgrid_detail.subgrid_team(con, f.at_level("subgrid"), "CJ07-02").is_empty()
        with restricted_to("CJ03"):
            assert subgrid_detail.find_subgrid(con, "CJ07-02") is None
            assert subgrid_detail.subgrid_team(con, f, "CJ07-02").is_empty()
            assert subgrid_detail.subgrid_kpis(con, f, "CJ07-02").is_empty()
    finally:
        con.close()
