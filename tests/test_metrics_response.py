"""响应时效: durations, on-time rates, backlog and the 督办清单, worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from metrics.config import default_config
from metrics.filters import Filter
from metrics.response import (
    backlog,
    duration_distribution,
    funnel,
    overdue,
    report_durations,
    response_by_month,
    response_summary,
)
from tests.support.small_grids import GridBuilder, both_paths, row

MARCH = Filter.parse("2026-03", "2026-03", "town")
APRIL = Filter.parse("2026-04", "2026-04", "town")


@pytest.fixture
def con(tmp_path):
    """One sub-grid; data months March and April, so 'now' (as-of) is 2026-05-01 00:00.

    R1 环境卫生 reported 03-30 10:00, accepted +2 h, verified, resolved 04-02 10:00
       (+72 h): opened in March, resolved in April, on time both ways.
    R2 安全稳定 reported 03-10 08:00, accepted +30 h (late), resolved +84 h (> 48 h: late).
    R3 环境卫生 reported 03-20 09:00, never accepted: late both ways, open, overdue.
    R4 社情民意 reported 03-05 09:00, refused (不予受理) at +6 h: accepted on time; left
       out of 按期办结率; closed.
    R5 环境卫生 reported 04-29 20:00, not accepted: 28 h old at as-of, so late for
       受理; its 7-day 办结 limit has not passed, so not yet decided.
    """
    g = GridBuilder(tmp_path / "grid.duckdb")
    g.village("V1")
    g.subgrid("S1", "V1")
    g.activity("2026-03-01", "V1", "S1", "主题党日")
    g.activity("2026-04-01", "V1", "S1", "主题党日")
    g.report(
        "R1",
        "S1",
        "2026-03-30 10:00",
        accepted="2026-03-30 12:00",
        verified="2026-03-31 10:00",
        resolved="2026-04-02 10:00",
        satisfaction=5,
    )
    g.report(
        "R2",
        "S1",
        "2026-03-10 08:00",
        category="安全稳定",
        accepted="2026-03-11 14:00",
        resolved="2026-03-13 20:00",
        satisfaction=3,
    )
    g.report("R3", "S1", "2026-03-20 09:00")
    g.report(
        "R4",
        "S1",
        "2026-03-05 09:00",
        category="社情民意",
        accepted="2026-03-05 15:00",
        status="不予受理",
    )
    g.report("R5", "S1", "2026-04-29 20:00")
    yield g.finish()
    g.con.close()


def test_march_statistics(con):
    out = both_paths(response_summary, con, MARCH)
    total = row(out, unit_id="T", category="全部")
    assert (total["reports"], total["resolved"], total["accepted"], total["refused"]) == (
        4,
        2,
        2,
        1,
    )
    # 受理时长 of R1, R4, R2: 2, 6, 30 h → median 6, p90 = 6 + 0.8 × 24 (linear).
    assert total["accept_median_h"] == pytest.approx(6.0)
    assert total["accept_p90_h"] == pytest.approx(25.2)
    # 办结时长 of R1, R2: 72, 84 h.
    assert total["resolve_median_h"] == pytest.approx(78.0)
    assert total["resolve_p90_h"] == pytest.approx(82.8)
    assert total["on_time_accept_rate"] == pytest.approx(2 / 4)  # R1 R4 of R1 R2 R3 R4
    assert total["on_time_resolve_rate"] == pytest.approx(1 / 3)  # R1 of R1 R2 R3
    assert total["open_at_end"] == 2  # R1 (resolved in April) and R3
    assert total["satisfaction_mean"] == pytest.approx(4.0)
    safety = row(out, category="安全稳定")
    assert (safety["reports"], safety["on_time_resolve_rate"]) == (1, 0.0)
    assert out["category"].to_list() == ["全部", "社情民意", "安全稳定", "环境卫生"]


def test_april_undecided_report_is_left_out(con):
    out = both_paths(response_summary, con, APRIL)
    total = row(out, unit_id="T", category="全部")
    assert total["reports"] == 1  # R5
    assert total["on_time_accept_rate"] == 0.0
    assert total["on_time_resolve_rate"] is None  # not decided yet
    assert total["open_at_end"] == 2  # R3 and R5; R1 was resolved in April


def test_monthly_trend(con):
    out = both_paths(response_by_month, con, Filter.parse("2026-03", "2026-04", "town"))
    assert out["reports"].to_list() == [4, 1]
    assert out["resolve_median_h"].to_list()[0] == pytest.approx(78.0)


def test_durations_per_report(con):
    out = both_paths(report_durations, con, MARCH)
    assert out["report_id"].to_list() == ["R4", "R2", "R3", "R1"]  # by 上报时间
    r1 = row(out, report_id="R1")
    assert (r1["accept_h"], r1["resolve_h"], r1["limit_h"]) == (2.0, 72.0, 168.0)
    assert r1["on_time_resolve"] is True
    assert row(out, report_id="R2")["limit_h"] == 48.0
    assert row(out, report_id="R3")["on_time_accept"] is False
    assert row(out, report_id="R4")["on_time_resolve"] is None


def test_funnel(con):
    out = both_paths(funnel, con, MARCH)
    assert out["stage"].to_list() == ["上报", "受理", "核实", "办结"]
    assert out["reports"].to_list() == [4, 2, 1, 2]  # refused R4 is not 受理


def test_backlog_by_age_at_the_end_of_the_range(con):
    out = both_paths(backlog, con, MARCH)
    counts = dict(zip(out["age_bucket"], out["reports"], strict=True))
    # At 04-01 00:00, R1 is 1.6 days old and R3 11.6 days.
    assert counts == {"<1天": 0, "1–3天": 1, "3–7天": 0, "7–30天": 1, "≥30天": 0}


def test_overdue_list_oldest_first(con):
    march = both_paths(overdue, con, MARCH)
    assert march["report_id"].to_list() == ["R3"]
    r3 = row(march, report_id="R3")
    assert r3["overdue_reason"] == "超期未办结"
    assert r3["overdue_h"] == pytest.approx(279 - 168)  # 11 days 15 h old at 04-01
    april = both_paths(overdue, con, APRIL)
    assert april["report_id"].to_list() == ["R3", "R5"]
    assert row(april, report_id="R5")["overdue_reason"] == "超时未受理"
    assert row(april, report_id="R5")["overdue_h"] == pytest.approx(4.0)
    assert row(april, report_id="R5")["reported_at"] == datetime(2026, 4, 29, 20, 0)


def test_limits_come_from_the_config(con):
    config = default_config()
    strict = replace(config, response=replace(config.response, accept_limit_hours=3.0))
    total = row(response_summary(con, MARCH, config=strict), category="全部")
    assert total["on_time_accept_rate"] == pytest.approx(1 / 4)  # only R1 (2 h)


def test_duration_distribution(con):
    out = both_paths(duration_distribution, con, MARCH)
    cells = set(out.select("category", "measure", "bin_label", "reports").iter_rows())
    # 受理: R1 2 h and R4 6 h (<24h), R2 30 h; R3 never accepted. 办结: R1 72 h (a bin
    # includes its lower edge), R2 84 h.
    assert cells == {
        ("环境卫生", "accept", "<24h", 1),
        ("社情民意", "accept", "<24h", 1),
        ("安全稳定", "accept", "24–48h", 1),
        ("环境卫生", "resolve", "72–168h", 1),
        ("安全稳定", "resolve", "72–168h", 1),
    }
