"""Incremental rollup refreshes equal a full rebuild; both query grains agree.

The loads go through the real loader (``etl.load``) with real generated files, and
every rollup table is compared, row for row, with a copy of the same database whose
rollups were rebuilt from scratch.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import metrics.query_context
from etl.init_db import init_database
from etl.load import load_uploads, undo_upload
from etl.rollups import refresh
from metrics import Filter, batch
from metrics.assessment import assessment, rank_change
from metrics.config import Threshold
from metrics.coverage import coverage_by_month, coverage_matrix
from metrics.formulas import label_for
from metrics.indices import indices, indices_by_month, vanguard_members
from metrics.overview import kpi_trend, kpis, scorecard
from metrics.response import (
    duration_distribution,
    funnel,
    response_by_month,
    response_summary,
)
from metrics.study import not_reached, study_summary
from store.database import connect
from store.rollup_layout import TABLES, TYPE_LIMIT
from tests.support.loading import copy_db, map_column, month_files, read_text, sources, table_hash
from tests.support.small_grids import GridBuilder


def rollup_tables(con) -> dict[str, str]:
    return {t: table_hash(con, t) for t in TABLES}


def assert_same_as_full_rebuild(db: Path, tmp_path: Path) -> None:
    """The rollups of ``db`` equal those a full refresh of a copy computes."""
    fresh = copy_db(db, tmp_path / "fresh.duckdb")
    con = connect(fresh)
    try:
        con.execute("BEGIN")
        refresh(con)
        con.execute("COMMIT")
        expected = rollup_tables(con)
    finally:
        con.close()
    con = connect(db)
    try:
        assert rollup_tables(con) == expected
    finally:
        con.close()


def load(db: Path, files) -> int:
    con = connect(db)
    try:
        return load_uploads(con, files, "tester").records[0].batch_id
    finally:
        con.close()


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("registry") / "r.duckdb"
    init_database(path, sample=False)
    return path


@pytest.mark.slow
def test_loads_corrections_and_undo_refresh_only_what_changed(registry_db, sample_dir, tmp_path):
    db = copy_db(registry_db, tmp_path / "g.duckdb")
    load(db, sources(month_files(sample_dir, "2025-09")))
    assert_same_as_full_rebuild(db, tmp_path)
    # A later month, then the month in between (its rows sort before the last one's),
    # which is then undone: the rollups are exactly what they were.
    load(db, sources(month_files(sample_dir, "2025-11")))
    con = connect(db)
    try:
        before = rollup_tables(con)
    finally:
        con.close()
    october = load(db, sources(month_files(sample_dir, "2025-10")))
    assert_same_as_full_rebuild(db, tmp_path)
    con = connect(db)
    try:
        assert rollup_tables(con) != before
        undo_upload(con, october, "tester")
        assert rollup_tables(con) == before
    finally:
        con.close()
    # A late correction of September's sign-ins: 出席 becomes 请假 for some members.
    september = read_text(sample_dir / "2025-09" / "attendance.csv")
    fixed = map_column(september.head(400), "出勤状态", lambda s: "请假" if s == "出席" else s)
    load(db, [("2025-09/attendance.csv", fixed.vstack(september.slice(400)).write_csv().encode())])
    con = connect(db)
    try:
        assert rollup_tables(con) != before
    finally:
        con.close()
    assert_same_as_full_rebuild(db, tmp_path)


def test_refresh_by_kind_touches_only_those_kinds(sample_db, tmp_path):
    db = copy_db(sample_db, tmp_path / "g.duckdb")
    con = connect(db)
    try:
        # Sign-ins of one month change, and a deduction is recorded in another.
        con.execute(
            "DELETE FROM attendance WHERE activity_id IN (SELECT activity_id FROM activity "
            "WHERE activity_date >= DATE '2026-03-01' AND activity_date < DATE '2026-04-01' "
            "AND subgrid_id = 'CJ02-01')"
        )
        con.execute("INSERT INTO deduction VALUES (DATE '2026-05-20', 'CJ02-01', '迟报', 2.5)")
        before = rollup_tables(con)
        # A report load names many months: nothing monthly is recomputed.
        con.execute("BEGIN")
        refresh(con, {"report": [date(2026, m, 1) for m in range(1, 11)]})
        con.execute("COMMIT")
        assert rollup_tables(con) == before
        con.execute("BEGIN")
        refresh(con, {"attendance": [date(2026, 3, 1)], "deduction": [date(2026, 5, 1)]})
        con.execute("COMMIT")
    finally:
        con.close()
    assert_same_as_full_rebuild(db, tmp_path)


def test_plain_months_rebuild_the_small_tables_when_they_changed(sample_db, tmp_path):
    db = copy_db(sample_db, tmp_path / "g.duckdb")
    con = connect(db)
    try:
        con.execute("INSERT INTO deduction VALUES (DATE '2026-05-20', 'CJ02-01', '迟报', 2.5)")
        con.execute("UPDATE evaluation SET score = score - 1 WHERE unit_id = 'CJ02-01'")
        con.execute("BEGIN")
        refresh(con, [])
        con.execute("COMMIT")
    finally:
        con.close()
    assert_same_as_full_rebuild(db, tmp_path)


def test_counts_beyond_the_packed_fields_are_refused(tmp_path):
    g = GridBuilder(tmp_path / "grid.duckdb")
    g.village("V1")
    g.subgrid("S1", "V1")
    g.person("P1", "S1", "V1")
    g.con.execute(
        "INSERT INTO activity SELECT 'A' || range, DATE '2026-03-01', 'V1', 'S1', '网格长巡查', "
        "'主题', NULL, NULL, 60 FROM range(?)",
        [TYPE_LIMIT],
    )
    with pytest.raises(ValueError, match="汇总表无法计数"):
        refresh(g.con)
    g.con.close()


def test_villages_are_contiguous_key_ranges(sample_db):
    con = connect(sample_db)
    try:
        rows = con.execute(
            "SELECT village_id, min(subgrid_key), max(subgrid_key), count(*) "
            "FROM ru_subgrid GROUP BY 1"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 14
    assert all(last - first + 1 == n for _, first, last, n in rows)


# Both query grains: per-month rows in Polars (small scopes) and per-bucket sums in SQL,
# with the 先锋指数 summed linearly for a city (large scopes). The sample is small, so
# the large-scope path is forced by lowering the limit.
GRAIN_CALLS = (
    coverage_by_month,
    coverage_matrix,
    study_summary,
    not_reached,
    response_summary,
    response_by_month,
    duration_distribution,
    funnel,
    indices,
    indices_by_month,
    vanguard_members,
    assessment,
    rank_change,
    kpis,
    kpi_trend,
    scorecard,
)
GRAIN_FILTERS = (
    Filter.parse("2026-05", "2026-10", "village"),
    Filter.parse("2025-12", "2026-02", "subgrid", "CJ05"),
    Filter.parse("2024-11", "2025-01", "town"),
)


def all_calls(con) -> dict[tuple, pl.DataFrame]:
    with batch():
        return {(fn.__name__, f): fn(con, f) for f in GRAIN_FILTERS for fn in GRAIN_CALLS}


@pytest.mark.slow
def test_small_and_large_scope_paths_agree(sample_db, monkeypatch):
    con = connect(sample_db)
    try:
        small = all_calls(con)
        monkeypatch.setattr(metrics.query_context, "SMALL_SCOPE_LIMIT", -1)
        large = all_calls(con)
    finally:
        con.close()
    for key, frame in small.items():
        assert frame.height > 0 or key[0] in ("not_reached",), key
        assert_frame_equal(frame, large[key], check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def test_the_same_data_give_the_same_digits(sample_db):
    # A float sum depends on the order of its terms; a sub-grid's 先锋指数 sums its
    # members, whose rows the joins leave in no fixed order.
    f = Filter.parse("2025-11", "2026-10", "subgrid")
    con = connect(sample_db)
    try:
        first = indices(con, f)
        again = [indices(con, f) for _ in range(4)]
    finally:
        con.close()
    assert first.height > 50
    for frame in again:
        assert_frame_equal(frame, first, check_exact=True)


def test_a_mean_on_a_threshold_reaches_it():
    thresholds = (Threshold(60.0, "合格"), Threshold(0.0, "需提升"))
    frame = pl.DataFrame({"v": [60.0, 60.0 - 1e-12, 59.99, None]})
    labels = frame.select(label_for(thresholds, "v"))["literal"].to_list()
    assert labels == ["合格", "合格", "需提升", None]
