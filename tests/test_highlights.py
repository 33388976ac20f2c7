"""本月要点 (metrics/highlights.py) and reading a scorecard (metrics/scorecard_reading.py):
sentences that follow the numbers, lights against the alert thresholds, rank reasons."""

from __future__ import annotations

import polars as pl
import pytest

from metrics.alert_rules import LevelRules, Rule
from metrics.alerts import alerts
from metrics.assessment import assessment
from metrics.filters import Filter
from metrics.highlights import change_words, highlights
from metrics.indices import fortress
from metrics.overview import kpis
from metrics.scorecard_reading import RANK_GAP, light, rank_reasons
from store.database import connect
from store.person_names import mask_name

MONTH = Filter.parse("2026-09", "2026-09")


@pytest.fixture(scope="module")
def con(sample_db):
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    yield con
    con.close()


def test_change_words_say_which_way_and_how_far():
    assert change_words("study_coverage", 0.021) == "提高 2.1 个百分点"
    assert change_words("fortress_index", -3.64) == "下降 3.6 分"
    assert change_words("fortress_index", 0.04) == "持平"
    assert change_words("fortress_index", None) == ""


def test_the_sentences_follow_the_numbers(con):
    points = highlights(con, MONTH)
    assert 3 <= len(points) <= 5
    town = kpis(con, MONTH)
    index = town.filter(pl.col("kpi") == "fortress_index").row(0, named=True)
    assert points[0].startswith("2026年9月漕泾镇")
    assert f"平均堡垒指数 {index['value']:.1f} 分" in points[0]
    assert change_words("fortress_index", index["change"]) in points[0]
    red = alerts(con, MONTH).filter(pl.col("level") == "红色")
    said = next(p for p in points if p.startswith("红色预警") or p.startswith("本期没有红色预警"))
    assert (f"红色预警 {red.height} 条" in said) if red.height else said == "本期没有红色预警。"
    # Owners are named, masked when asked.
    owners = [o for o in red["owner"].to_list() if o]
    masked = " ".join(highlights(con, MONTH, masked=True))
    assert not any(o in masked for o in owners if len(o) > 1)
    assert any(mask_name(o) in masked for o in owners)


def test_a_village_reads_its_own_subgrids(con):
    points = highlights(con, Filter.parse("2026-09", "2026-09", "village", "CJ03"))
    assert points[0].startswith("2026年9月营房村")
    assert not any("沙积村" in p for p in points)


def test_a_light_reads_the_value_against_the_thresholds():
    rules = LevelRules(
        2, (Rule("study_coverage", yellow=0.5, red=0.4), Rule("overdue_reports", yellow=5, red=10))
    )
    assert light(rules, "study_coverage", 0.39) == "红"
    assert light(rules, "study_coverage", 0.45) == "黄"
    assert light(rules, "study_coverage", 0.5) == "绿"
    assert light(rules, "overdue_reports", 11) == "红"
    assert light(rules, "study_coverage", None) is None
    assert light(rules, "fortress_index", 10.0) is None  # no rule, no light


def test_a_rank_far_from_the_index_order_says_why(con):
    f = Filter.parse("2026-06", "2026-11", "village")
    reasons = rank_reasons(con, f)
    scores = assessment(con, f)
    place = fortress(con, f).select(
        "unit_id", place=pl.col("fortress_index").rank("min", descending=True).cast(pl.Int64)
    )
    far = scores.join(place, on="unit_id").filter(
        (pl.col("rank") - pl.col("place")).abs() >= RANK_GAP
    )
    assert sorted(reasons["unit_id"]) == sorted(far["unit_id"])
    for r in reasons.join(far, on="unit_id").iter_rows(named=True):
        assert f"堡垒指数第 {r['place']} 位，考核第 {r['rank']} 位" in r["rank_reason"]
