"""Cross-check over the generated sample: an independent Polars computation.

Study coverage and the p90 办结时长 are recomputed here straight from the base
tables (person, activity, attendance, report, subgrid) with Polars, following the
words of docs/metrics.md rather than the metrics code, and compared with the metrics.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from metrics.filters import Filter
from metrics.response import response_summary
from metrics.study import study_by_month, study_summary
from store.database import connect


@pytest.fixture(scope="module")
def tables(sample_db):
    con = connect(sample_db)
    try:
        names = ("person", "activity", "attendance", "report", "subgrid")
        yield {name: con.sql(f"SELECT * FROM {name}").pl() for name in names}, con
    finally:
        con.close()


def month_end(first: date) -> date:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def independent_study_by_month(t: dict, f: Filter) -> pl.DataFrame:
    """Members, reached and coverage per village and month, from the base tables."""
    subgrids = t["subgrid"].select("subgrid_id", "village_id")
    expected = []
    for first in f.months:
        last = month_end(first)
        members = (
            t["person"]
            .filter(
                pl.col("is_party_member"),
                pl.col("subgrid_id").is_not_null(),
                pl.col("active_from") <= last,
                pl.col("active_to").is_null() | (pl.col("active_to") >= first),
            )
            .join(subgrids, on="subgrid_id")
            .select("person_id", "village_id")
        )
        studies = t["activity"].filter(
            pl.col("activity_type") == "学习教育",
            pl.col("activity_date").is_between(first, last),
        )
        present = (
            t["attendance"]
            .filter(pl.col("status") == "出席")
            .join(studies.select("activity_id"), on="activity_id")
        )
        reached = present.select("person_id").unique()
        home = present.filter(pl.col("mode") == "送学上门").select("person_id").unique()
        expected.append(
            members.with_columns(
                reached=pl.col("person_id").is_in(reached["person_id"].implode()),
                home=pl.col("person_id").is_in(home["person_id"].implode()),
            )
            .group_by("village_id")
            .agg(
                members=pl.len(),
                reached=pl.col("reached").sum(),
                reached_home=pl.col("home").sum(),
            )
            .with_columns(month=pl.lit(first))
        )
    return (
        pl.concat(expected)
        .with_columns(coverage=pl.col("reached") / pl.col("members"))
        .sort("village_id", "month")
    )


def test_study_coverage_per_village_and_month(tables):
    t, con = tables
    f = Filter.parse("2026-02", "2026-06", "village")
    mine = independent_study_by_month(t, f)
    got = study_by_month(con, f).sort("unit_id", "month")
    assert got.height == mine.height == 14 * 5
    assert got["unit_id"].to_list() == mine["village_id"].to_list()
    for column in ("members", "reached", "reached_home"):
        assert got[column].to_list() == mine[column].cast(pl.Int64).to_list(), column
    assert got["coverage"].to_list() == pytest.approx(mine["coverage"].to_list())
    assert 0.3 < got["coverage"].mean() < 1.0  # a realistic sample, not all zeros


def test_a_range_is_the_mean_of_its_months(tables):
    """docs/metrics.md: a range's 学习覆盖率 is the mean of the monthly coverages (the card
    equals the mean of the points of its chart), while counts add up."""
    t, con = tables
    f = Filter.parse("2026-02", "2026-06", "village")
    mine = (
        independent_study_by_month(t, f)
        .group_by("village_id")
        .agg(pl.col("coverage").mean(), pl.col("members").sum(), pl.col("reached").sum())
        .sort("village_id")
    )
    got = study_summary(con, f).sort("unit_id")
    assert got["unit_id"].to_list() == mine["village_id"].to_list()
    assert got["coverage"].to_list() == pytest.approx(mine["coverage"].to_list())
    assert got["member_months"].to_list() == mine["members"].cast(pl.Int64).to_list()
    assert got["reached"].to_list() == mine["reached"].cast(pl.Int64).to_list()


def test_resolve_p90_per_village(tables):
    t, con = tables
    f = Filter.parse("2025-07", "2025-12", "village")
    reports = (
        t["report"]
        .filter(
            pl.col("reported_at") >= pl.datetime(2025, 7, 1),
            pl.col("reported_at") < pl.datetime(2026, 1, 1),
        )
        .join(t["subgrid"].select("subgrid_id", "village_id"), on="subgrid_id")
        .with_columns(
            hours=(pl.col("resolved_at") - pl.col("reported_at")).dt.total_seconds() / 3600
        )
    )
    mine = (
        reports.group_by("village_id")
        .agg(
            reports=pl.len(),
            p90=pl.col("hours").quantile(0.9, interpolation="linear"),
            median=pl.col("hours").median(),
        )
        .sort("village_id")
    )
    got = response_summary(con, f).filter(pl.col("category") == "全部").sort("unit_id")
    assert got["unit_id"].to_list() == mine["village_id"].to_list()
    assert got["reports"].to_list() == mine["reports"].cast(pl.Int64).to_list()
    assert got["resolve_p90_h"].to_list() == pytest.approx(mine["p90"].to_list())
    assert got["resolve_median_h"].to_list() == pytest.approx(mine["median"].to_list())
