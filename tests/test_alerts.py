"""预警 (metrics/alerts.py): levels from the rules, positions in the town, owners from
the roster, the sentence; and 同比 on the KPIs. Checked against an independent
judgement of the KPI values in Python."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from metrics.alert_rules import LevelRules, Rule
from metrics.alerts import alerts
from metrics.config import default_config
from metrics.filters import Filter
from metrics.overview import kpis
from store.database import connect
from tests.support.small_grids import GridBuilder

MONTH = Filter.parse("2026-09", "2026-09", "village")


@pytest.fixture(scope="module")
def con(sample_db):
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    yield con
    con.close()


def expected_level(rule: Rule, worst: int, value, change, position) -> str | None:
    """The rule of docs/metrics.md (预警), written out plainly."""
    below = (lambda v, t: v > t) if rule.more_is_worse else (lambda v, t: v < t)
    fell = lambda limit: limit is not None and change is not None and change <= -limit  # noqa: E731
    if rule.red is not None and below(value, rule.red) and position <= worst:
        return "红色"
    if fell(rule.red_drop):
        return "红色"
    if (rule.yellow is not None and below(value, rule.yellow)) or fell(rule.yellow_drop):
        return "黄色"
    return None


def test_village_alerts_follow_the_rules_and_the_town_positions(con):
    config = default_config()
    rules = config.alerts.village
    values = kpis(con, MONTH)  # every village of the town, as the alerts judge them
    raised = alerts(con, MONTH).filter(
        pl.col("subgrid_id").is_null(), pl.col("kpi") != "overdue_reports"
    )
    got = {(r["village_id"], r["kpi"]): r["level"] for r in raised.iter_rows(named=True)}
    want = {}
    for rule in rules.rules:
        if rule.kpi == "overdue_reports":
            continue
        rows = values.filter(pl.col("kpi") == rule.kpi, pl.col("value").is_not_null())
        for r in rows.iter_rows(named=True):
            position = 1 + sum(1 for v in rows["value"] if v < r["value"])
            level = expected_level(rule, rules.worst, r["value"], r["change"], position)
            if level:
                want[(r["unit_id"], rule.kpi)] = level
    assert got == want
    assert "红色" in got.values() and "黄色" in got.values()  # the sample month has both
    # Red first, then by village.
    order = raised["level"].to_list()
    assert order == sorted(order, key=["红色", "黄色"].index)


def test_an_alert_names_the_owner_from_the_roster_and_says_why(con):
    raised = alerts(con, MONTH)
    assert not raised.is_empty()
    holders = con.execute(
        "SELECT CASE role WHEN '总网格长' THEN village_id ELSE subgrid_id END, role, "
        "person_id, name FROM person WHERE role IN ('总网格长', '子网格长') "
        "AND active_from <= DATE '2026-09-30' "
        "AND (active_to IS NULL OR active_to >= DATE '2026-09-01')"
    ).fetchall()
    # The first holder by id when a post changed hands within the month.
    posts = {(unit, role): (pid, name) for unit, role, pid, name in sorted(holders, reverse=True)}
    for r in raised.iter_rows(named=True):
        unit = r["subgrid_id"] or r["village_id"]
        assert r["owner_role"] == ("子网格长" if r["subgrid_id"] else "总网格长")
        assert (r["owner_id"], r["owner"]) == posts[(unit, r["owner_role"])]
        # One sentence: whose, what, how much, why, who acts.
        assert r["message"].startswith(r["village_name"])
        assert r["label"] in r["message"] and r["message"].endswith(
            f"请{r['owner_role']}督促整改。"
        )


def test_a_village_view_keeps_the_town_positions(con):
    town = alerts(con, MONTH)
    one = alerts(con, replace(MONTH, village_id="CJ04"))
    assert one.equals(town.filter(pl.col("village_id") == "CJ04"))


def test_thresholds_and_worst_come_from_the_config(con):
    config = default_config()
    strict = replace(
        config,
        alerts=replace(
            config.alerts,
            village=LevelRules(1, (Rule("study_coverage", yellow=1.0, red=1.0),)),
            subgrid=LevelRules(1, ()),
        ),
    )
    raised = alerts(con, MONTH, config=strict)
    # Every village is under 100 %: all alerted, only the worst one red.
    assert raised.height == 14 and set(raised["kpi"]) == {"study_coverage"}
    assert raised["level"].to_list().count("红色") == 1
    worst = kpis(con, MONTH).filter(pl.col("kpi") == "study_coverage").sort("value")["unit_id"][0]
    assert raised.filter(pl.col("level") == "红色")["village_id"].to_list() == [worst]
    none = replace(
        config, alerts=replace(config.alerts, village=LevelRules(1, ()), subgrid=LevelRules(1, ()))
    )
    assert alerts(con, MONTH, config=none).is_empty()


def test_a_vacant_post_has_no_owner_and_a_fall_is_red(tmp_path):
    g = GridBuilder(tmp_path / "grid.duckdb")
    for v in ("V1", "V2"):
        g.village(v)
        g.subgrid(f"{v}-S1", v)
        g.person(f"{v}-P1", f"{v}-S1", v)
    g.person("V2-B", None, "V2", role="总网格长", name="李四")
    # September: both villages study; October: V1's member stays away.
    for month, who in (("2026-09-10", ("V1", "V2")), ("2026-10-10", ("V2",))):
        for v in ("V1", "V2"):
            a = g.activity(month, v, f"{v}-S1", "学习教育")
            g.attend(a, f"{v}-P1", "出席" if v in who else "缺席")
            g.zero_report(v, month[:7], "report")  # no reports: said so
    con = g.finish()
    config = default_config()
    rules = replace(
        config.alerts,
        village=LevelRules(5, (Rule("study_coverage", red_drop=0.5),)),
        subgrid=LevelRules(1, ()),
    )
    raised = alerts(
        con, Filter.parse("2026-10", "2026-10", "village"), config=replace(config, alerts=rules)
    )
    assert raised["village_id"].to_list() == ["V1"]
    (alert,) = raised.iter_rows(named=True)
    assert alert["level"] == "红色" and alert["owner"] is None
    assert "比上期下降 100.0 个百分点" in alert["message"]
    con.close()


def test_kpis_compare_with_the_same_months_a_year_before(con):
    now = kpis(con, Filter.parse("2026-09", "2026-10"))
    year_ago = kpis(con, Filter.parse("2025-09", "2025-10"))
    before = dict(zip(year_ago["kpi"], year_ago["value"], strict=True))
    for r in now.iter_rows(named=True):
        assert r["year_ago"] == pytest.approx(before[r["kpi"]])
        assert r["change_year"] == pytest.approx(r["value"] - before[r["kpi"]])
    # No data two years back: no 同比.
    early = kpis(con, Filter.parse("2025-01", "2025-01"))
    assert early["year_ago"].is_null().all() and early["change_year"].is_null().all()
