"""Hostile files: measured before any reader allocates, rejected in Chinese, nothing written.

The bytes are built here (tests/hostile_files.py). Each attack is tried three ways:
the reader alone (fast, and its memory high-water mark must not move), a validated
load into a copy of the sample database (rejected, the database unchanged), and the
CLI (exit 1, the report names the file). The isolated reading process is tested with
functions that misbehave as a reader might (allocate, hang, abort) and with a real
reader on a real file that needs more memory than the child may use.
"""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import polars as pl
import pytest

from etl.boundaries import BoundaryError, replace_boundaries
from etl.isolation import UnsafeInput, reading_here, run_isolated
from etl.limits import IsolationLimits, Limits, ReadLimits, default_limits, load_limits
from etl.load import UploadRejected, load_uploads, validate_uploads
from etl.prescan import LimitExceeded
from etl.reader import read_upload
from store.database import connect
from store.paths import REPO_ROOT
from tests.support import hostile_files as hostile
from tests.support import isolation_targets as targets
from tests.support.loading import content_hashes, copy_db, run_cli

ATTACKS = {
    "huge-dimension.xlsx": (hostile.huge_dimension_workbook, ["签到", "A1:XFC1048575", "上限"]),
    "far-cell.xlsx": (hostile.far_cell_workbook, ["签到", "ZZ", "256 列"]),
    "wide-row-no-refs.xlsx": (hostile.wide_row_without_references, ["签到", "20,000", "256 列"]),
    "zip-bomb.xlsx": (hostile.zip_bomb_workbook, ["sheet1.xml", "声明的大小"]),
    "wide-line.csv": (hostile.wide_line_csv, ["第 3 行", "1,024 KB"]),
    "many-columns.csv": (hostile.many_columns_csv, ["第 3 行", "300,000 列", "256 列"]),
    "long-field.csv": (hostile.long_field_ragged_csv, ["第 2 行", "100 KB"]),
    "nul-after-4k.csv": (hostile.control_character_csv, ["控制字符", "0x00", "行"]),
    "escape.csv": (lambda: hostile.control_character_csv(b"\x1b"), ["控制字符", "0x1B"]),
    "many-lines.csv": (hostile.many_lines_csv, ["2,000,002 行", "1,100,000"]),
}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture
def db(sample_db, tmp_path):
    """A private copy of the session's sample database."""
    return copy_db(sample_db, tmp_path / "grid.duckdb")


def test_the_workbook_builder_makes_workbooks_the_reader_accepts():
    (table,) = read_upload("ok.xlsx", hostile.normal_workbook())
    assert table.kind.name == "attendance" and table.text.height == 1
    assert table.problems == []


@pytest.mark.parametrize("name", ATTACKS)
def test_the_reader_rejects_each_shape_attack_before_allocating(name):
    build, words = ATTACKS[name]
    data = build()
    before = _peak_rss_mb()
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as caught:
        read_upload(name, data)
    message = str(caught.value)
    for word in words:
        assert word in message, message
    # Measured, not parsed: the process's memory high-water mark stays where it was
    # (a parse of these files asked for GBs), and the check takes a moment.
    assert _peak_rss_mb() - before < 100, f"{name}: peak RSS grew by {_peak_rss_mb() - before} MB"
    assert time.monotonic() - started < 30


def test_a_quoted_field_over_the_limit_is_a_row_error():
    big = '"' + "y," * 60_000 + '"'  # separators inside quotes: no run of bytes is long
    data = hostile.csv_text(
        [hostile.ATTENDANCE_HEADER, hostile.ATTENDANCE_ROW.replace("现场", big)]
    )
    (table,) = read_upload("q.csv", data)
    assert [(p.row, p.column) for p in table.problems] == [(2, "参与方式")]
    assert "100 KB" in table.problems[0].reason


def test_control_characters_in_workbook_cells_are_row_errors():
    cells = [(r, "CJ03_x0001_P0001" if r == "B2" else v) for r, v in hostile.data_cells(2)]
    sheet = hostile.sheet_xml([(1, hostile.header_cells(1)), (2, cells)], "A1:E2")
    (table,) = read_upload("c.xlsx", hostile.workbook(sheet))
    assert [(p.row, p.column, p.reason) for p in table.problems] == [
        (2, "人员编号", "单元格含有控制字符")
    ]


def test_limits_come_from_the_config_file(tmp_path):
    text = (REPO_ROOT / "data/config/limits.toml").read_text(encoding="utf-8")
    path = tmp_path / "limits.toml"
    path.write_text(text.replace("columns = 256", "columns = 4"), encoding="utf-8")
    limits = load_limits(path)
    assert limits.read.columns == 4 and default_limits().read.columns == 256
    with pytest.raises(LimitExceeded, match="4 列"):
        read_upload("x.csv", hostile.csv_text([hostile.ATTENDANCE_HEADER]), limits.read)
    path.write_text(text.replace("columns = 256", "colums = 256"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"limits\.toml.*colum"):
        load_limits(path)


@pytest.mark.parametrize("name", ["huge-dimension.xlsx", "wide-line.csv", "nul-after-4k.csv"])
def test_a_hostile_file_in_an_upload_rejects_it_whole_and_changes_nothing(db, name):
    build, words = ATTACKS[name]
    con = connect(db)
    before = content_hashes(con)
    good = ("good.csv", hostile.csv_text([hostile.ATTENDANCE_HEADER]))
    with pytest.raises(UploadRejected) as caught:
        load_uploads(con, [good, (name, build())], "test")
    errors = caught.value.result.errors
    assert errors.filter(pl.col("文件") == name).height == 1
    assert all(word in errors["原因"][0] for word in words[:1])
    assert content_hashes(con) == before
    con.close()


@pytest.mark.slow
def test_the_cli_rejects_a_hostile_file_with_exit_1(db, tmp_path):
    path = tmp_path / "十月签到.xlsx"
    path.write_bytes(hostile.huge_dimension_workbook())
    con = connect(db)
    before = content_hashes(con)
    con.close()
    run = run_cli("load", "--db", str(db), str(path), timeout=300)
    assert run.returncode == 1, run.stderr
    assert "十月签到.xlsx" in run.stdout and "A1:XFC1048575" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    con = connect(db)
    assert content_hashes(con) == before
    con.close()


def test_the_cli_measures_the_size_before_reading(db, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # a sparse file: 300 MB on paper, nothing on disk
        handle.truncate(300 * 2**20)
    run = run_cli("load", "--db", str(db), str(path), timeout=300)
    assert run.returncode == 1
    assert "huge.csv" in run.stderr and "256.0 MB" in run.stderr


# ---------------------------------------------------------------- isolation

TIGHT = IsolationLimits(memory_mb=400, timeout_seconds=3, workers=2)


def test_the_child_returns_results_and_frames():
    frame = pl.DataFrame({"a": list(range(200_000)), "b": [f"值{i}" for i in range(200_000)]})
    back = run_isolated(targets.echo, {"one": frame, "again": frame}, limits=TIGHT)
    assert back["one"].equals(frame) and back["again"] is back["one"]  # sent once
    with pytest.raises(ValueError, match="boom"):
        run_isolated(targets.fail, "boom", limits=TIGHT)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("function", "args", "reason"),
    [
        (targets.allocate, (2000,), "内存"),
        (targets.allocate_in_polars, (50_000_000,), "内存"),
        (targets.abort, (), "异常退出"),
        (targets.sleep, (60,), "3 秒"),
    ],
)
def test_a_misbehaving_reader_ends_its_child_not_this_process(function, args, reason):
    started = time.monotonic()
    with pytest.raises(UnsafeInput) as caught:
        run_isolated(function, *args, limits=TIGHT)
    assert reason in str(caught.value) and "无法安全读取" in str(caught.value)
    assert time.monotonic() - started < 60  # the timeout case ends at its limit
    assert run_isolated(targets.echo, 7, limits=TIGHT) == 7  # and the next job runs


# The command line reads in its own process under the same limits
# (docs/decisions/0018-the-command-line-reads-in-its-own-process.md).


def test_inside_reading_here_the_read_runs_in_this_process_and_the_limit_comes_back():
    before = resource.getrlimit(resource.RLIMIT_DATA)
    with reading_here():
        assert run_isolated(os.getpid, limits=TIGHT) == os.getpid()
        with pytest.raises(ValueError, match="boom"):  # the reader's own error, as before
            run_isolated(targets.fail, "boom", limits=TIGHT)
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    # Outside the block (and for every other caller) the read is in a child again.
    assert run_isolated(os.getpid, limits=TIGHT) != os.getpid()


def test_a_read_over_the_memory_limit_is_refused_in_this_process():
    with reading_here(), pytest.raises(UnsafeInput) as caught:
        run_isolated(targets.allocate, 2000, limits=TIGHT)
    assert "无法安全读取" in str(caught.value) and "400 MB" in str(caught.value)
    assert targets.allocate(500) == 500 * 2**20  # the limit was lifted after the read


@pytest.mark.slow
def test_a_read_over_the_time_limit_ends_the_command_with_its_reason():
    script = textwrap.dedent(
        """
        from etl.isolation import reading_here, run_isolated
        from etl.limits import IsolationLimits
        from tests.support import isolation_targets as targets
        with reading_here():
            run_isolated(targets.sleep, 60, limits=IsolationLimits(timeout_seconds=1))
        print("not reached")
        """
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert done.returncode == 1
    assert "无法安全读取" in done.stderr and "1 秒" in done.stderr
    assert "not reached" not in done.stdout and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30


@pytest.mark.slow
def test_a_real_file_that_needs_too_much_memory_is_rejected_safely(db):
    """The second wall, with a real reader: a legal but large sign-in file read in a
    child allowed far less memory than it needs."""
    rows = [hostile.ATTENDANCE_HEADER] + [
        f"HD-{i:07d},CJ03-P{i % 9000:04d},出席,现场,2026-10-05 09:{i % 60:02d}"
        for i in range(600_000)
    ]
    data = hostile.csv_text(rows)
    limits = Limits(ReadLimits(), replace(TIGHT, memory_mb=300, timeout_seconds=120))
    con = connect(db)
    before = content_hashes(con)
    result = validate_uploads(con, [("大文件.csv", data)], limits=limits)
    assert not result.ok
    ((name, reason),) = result.errors.select("文件", "原因").rows()
    assert name == "大文件.csv" and "无法安全读取" in reason and "300 MB" in reason
    assert content_hashes(con) == before
    # The same file within the configured limits reads (the rejection was the limit).
    assert validate_uploads(con, [("大文件.csv", data)]).files[0].rows == 600_000
    con.close()


# ------------------------------------------------------------------ GeoJSON


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: hostile.polygon_geojson(1_000_000), "MB"),  # 24 MB: over the size limit
        (lambda: hostile.polygon_geojson(60_000), "50,000"),  # under it, over the vertices
        (hostile.deeply_nested_geojson, "嵌套"),
    ],
)
def test_boundary_attacks_are_rejected_and_change_nothing(db, build, reason):
    con = connect(db)
    before = con.execute("SELECT count(*), sum(length(geometry)) FROM boundary").fetchall()
    with pytest.raises(BoundaryError, match=reason):
        replace_boundaries(con, build(), "attack.geojson", "test")
    after = con.execute("SELECT count(*), sum(length(geometry)) FROM boundary").fetchall()
    assert after == before
    con.close()


def test_an_ordinary_boundary_polygon_is_still_accepted(db):
    con = connect(db)
    loaded = replace_boundaries(con, hostile.polygon_geojson(2_000), "ok.geojson", "test")
    assert loaded.villages == 1
    con.close()


# -------------------------------------------------------------- file modes


def test_files_the_programs_create_are_private(tmp_path):
    db = tmp_path / "new.duckdb"
    run = subprocess.run(
        [sys.executable, "-m", "etl", "init", "--db", str(db), "--no-sample"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        preexec_fn=lambda: os.umask(0o022),  # a permissive shell
    )
    assert run.returncode == 0, run.stderr
    created = [db, *tmp_path.glob("new.duckdb.*")]
    for path in created:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
