"""``etl init``: builds the schema, loads exactly the generated rows, refuses to clobber."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date

import polars as pl
import pytest

from etl.__main__ import main
from etl.canonical_csv import read_canonical_csv
from etl.init_db import init_database
from store.contracts import KINDS
from store.database import connect
from store.paths import REPO_ROOT
from tests.conftest import SAMPLE_END, SAMPLE_MONTHS


def _count(db, table: str) -> int:
    con = connect(db)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def _file_rows(sample_dir, kind: str) -> pl.DataFrame:
    frames = [
        read_canonical_csv(p, KINDS[kind])[1]
        for p in sorted(sample_dir.glob(f"20??-??/{kind}.csv"))
    ]
    return pl.concat(frames)


def test_init_loads_exactly_the_generated_rows(sample_db, sample_dir):
    for kind in ("activity", "attendance", "evaluation", "deduction"):
        assert _count(sample_db, kind) == _file_rows(sample_dir, kind).height, kind
    # a report filed again in a later month updates the same row: counted once
    reports = _file_rows(sample_dir, "report")
    assert reports.height > reports["report_id"].n_unique()
    assert _count(sample_db, "report") == reports["report_id"].n_unique()
    for kind in ("village", "subgrid", "service_point", "person"):
        rows = read_canonical_csv(sample_dir / "registry" / f"{kind}.csv", KINDS[kind])[1]
        if kind == "person":  # the sample's roster update adds newcomers (etl.generate.lists)
            updates = list(sample_dir.glob("20??-??/person.csv"))
            ids = pl.concat([rows["person_id"], _file_rows(sample_dir, "person")["person_id"]])
            assert updates and _count(sample_db, kind) == ids.n_unique(), kind
            continue
        assert _count(sample_db, kind) == rows.height, kind


def test_reports_hold_their_latest_state(sample_db, sample_dir):
    reports = _file_rows(sample_dir, "report")
    latest = reports.group_by("report_id", maintain_order=True).last()
    con = connect(sample_db)
    try:
        loaded = con.sql("SELECT report_id, status, resolved_at FROM report").pl()
    finally:
        con.close()
    both = latest.join(loaded, on="report_id", suffix="_db")
    assert both.height == latest.height
    assert (both["status"] == both["status_db"]).all()


def test_init_refuses_existing_database_without_force(tmp_path, capsys):
    db = tmp_path / "g.duckdb"
    assert main(["init", "--db", str(db), "--no-sample"]) == 0
    assert _count(db, "village") == 14
    assert _count(db, "activity") == 0
    assert main(["init", "--db", str(db), "--no-sample"]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["init", "--db", str(db), "--months", "2", "--end", "2026-10", "--force"]) == 0
    assert _count(db, "activity") > 0
    assert not (tmp_path / "g.duckdb.building").exists()


def test_init_uses_grid_db_environment_variable(tmp_path, monkeypatch):
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("GRID_DB", str(db))
    assert main(["init", "--no-sample"]) == 0
    assert db.exists()


def test_cli_usage_errors_exit_2(tmp_path):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["init", "--end", "2026-13"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_sample_covers_24_months(sample_db):
    con = connect(sample_db)
    try:
        months = con.execute(
            "SELECT count(DISTINCT date_trunc('month', activity_date)), max(activity_date) "
            "FROM activity"
        ).fetchone()
    finally:
        con.close()
    assert months[0] == SAMPLE_MONTHS
    assert (months[1].year, months[1].month) == (SAMPLE_END.year, SAMPLE_END.month)


@pytest.mark.slow
def test_a_build_started_meanwhile_waits_for_the_running_one_and_uses_it(tmp_path):
    db = tmp_path / "grid.duckdb"
    first = subprocess.Popen(
        [sys.executable, "-m", "etl", "init", "--db", str(db), "--months", "2"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    building = db.with_name(db.name + ".building")
    deadline = time.monotonic() + 60
    while not building.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert building.exists(), first.communicate()
    result = init_database(db, months=2, end=date(2026, 10, 1))  # waits, builds nothing
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert db.exists() and not building.exists()
    assert len(result.months) == 2 and result.rows["activity"] > 0
    assert f"activity {result.rows['activity']}" in out  # the counts of the one build
