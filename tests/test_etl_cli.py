"""``python -m etl load/history/undo``: exit codes, messages, a busy database, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import polars as pl
import pytest

from etl.__main__ import main
from store.paths import REPO_ROOT
from tests.support.loading import (
    content_hashes,
    copy_db,
    data_hashes,
    last_batch,
    marks_of,
    month_files,
    read_text,
    registry_database,
    rollup_hashes,
    run_cli,
    start_killable_load,
    wait_for_mark,
)

LAST = "2026-10"


@pytest.fixture
def db(sample_db, tmp_path):
    return copy_db(sample_db, tmp_path / "g.duckdb")


@pytest.mark.slow
def test_load_history_undo_round_trip(db, sample_dir, capsys):
    assert main(["undo", "--db", str(db), "--user", "张三", str(last_batch(db))]) == 0
    assert "已撤销批次" in capsys.readouterr().out
    before = content_hashes(db)
    # The sample's month holds late paperwork of the month before: flagged rows that the
    # command line lists and loads, or refuses with --refuse-outside (docs/loading.md).
    strict = ["load", "--db", str(db), "--dry-run", "--refuse-outside", str(sample_dir / LAST)]
    assert main(strict) == 1
    assert "--refuse-outside" in capsys.readouterr().out
    assert content_hashes(db) == before
    dry = ["load", "--db", str(db), "--dry-run", str(sample_dir / LAST)]
    assert main(dry) == 0
    out = capsys.readouterr().out
    assert "试运行" in out and "请核对" in out
    assert content_hashes(db) == before
    load = ["load", "--db", str(db), "--user", "张三", str(sample_dir / LAST)]
    assert main(load) == 0
    out = capsys.readouterr().out
    assert out.count("✓") == len(month_files(sample_dir, LAST))
    activities = (
        len((sample_dir / LAST / "activity.csv").read_text(encoding="utf-8-sig").splitlines()) - 1
    )
    assert f"新增 {activities}，" in out and "已载入，批次" in out
    assert main(["load", "--db", str(db), str(sample_dir / LAST / "activity.csv")]) == 0
    assert "内容完全相同，跳过" in capsys.readouterr().out
    assert main(["history", "--db", str(db), "--limit", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["上传编号", "批次", "文件"]
    assert len(lines) == 2 + 4 and all("张三" in line for line in lines[2:])
    assert main(["undo", "--db", str(db), str(last_batch(db))]) == 0
    assert main(["undo", "--db", str(db), str(last_batch(db) + 99)]) == 1
    assert "没有编号为" in capsys.readouterr().err


def test_rejected_load_prints_the_error_table_and_exits_1(db, tmp_path, capsys):
    bad = tmp_path / "签到.csv"
    bad.write_text(
        "漕泾镇2026年11月签到记录,,,,\n活动编号,人员编号,出勤状态,参与方式,签到时间\n"
        "HD-NOWHERE,CJ01-P0004,出席,现场,2026-11-02 09:00\n",
        encoding="gbk",
    )
    before = content_hashes(db)
    assert main(["load", "--db", str(db), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "上传被拒绝" in out and "数据库未做任何修改" in out
    header, _, row = out.splitlines()[1:4]
    assert header.split() == ["文件", "行号", "列", "值", "原因"]
    assert row.split()[1:4] == ["3", "活动编号", "HD-NOWHERE"]
    assert content_hashes(db) == before


def test_usage_errors_exit_2(db, tmp_path, capsys):
    assert main(["load", "--db", str(db), str(tmp_path / "nope.csv")]) == 2
    assert "找不到文件" in capsys.readouterr().err
    assert main(["load", "--db", str(db), str(tmp_path)]) == 2  # an empty directory
    with pytest.raises(SystemExit) as exc:
        main(["load", "--db", str(db)])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["undo", "abc"])
    assert exc.value.code == 2


def test_missing_database_is_refused(tmp_path, sample_dir, capsys):
    missing = tmp_path / "none.duckdb"
    assert main(["load", "--db", str(missing), str(sample_dir / LAST)]) == 1
    assert "python -m etl init" in capsys.readouterr().err
    assert not missing.exists()


@pytest.mark.slow
def test_busy_database_waits_then_explains_without_traceback(db, sample_dir):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        before = time.monotonic()
        done = run_cli("load", "--db", str(db), "--wait", "1", str(sample_dir / LAST))
        waited = time.monotonic() - before
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    assert "正被另一个程序占用" in done.stderr and f"进程 {holder.pid}" in done.stderr
    assert "看板" in done.stderr and "没有写入任何数据" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert waited >= 1  # it did wait before giving up


@pytest.mark.slow
def test_sigkill_during_a_large_load_leaves_the_database_as_it_was(
    tmp_path_factory, sample_dir, tmp_path
):
    """Kill -9 inside the write transaction of a ~160k-row load: nothing of it remains.

    Each run is killed a chosen time after it reports that its transaction is open. The
    database must then be exactly as before (or, if the commit beat the signal, exactly
    as after a complete load) — never anything in between.
    """
    registry_db = registry_database(tmp_path_factory)
    months = sorted(p for p in sample_dir.iterdir() if p.name[:2] == "20")
    files = []
    for kind in ("activity", "attendance"):
        path = tmp_path / f"{kind}_24.csv"
        pl.concat([read_text(m / f"{kind}.csv") for m in months]).write_csv(path)
        files.append(str(path))
    db = copy_db(registry_db, tmp_path / "k.duckdb")
    before = content_hashes(db)

    # An undisturbed run on a copy: how long the transaction stays open, and the result.
    full = copy_db(registry_db, tmp_path / "full.duckdb")
    marks = marks_of(start_killable_load(full, files).communicate(timeout=300)[0])
    window = marks["done"] - marks["open"]
    after = data_hashes(full) | rollup_hashes(full)

    inside = 0
    for share in (0.1, 0.4, 0.7):
        process = start_killable_load(db, files)
        wait_for_mark(process, "open")
        time.sleep(window * share)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if content_hashes(db) == before:
            inside += 1
            continue
        # The commit won the race: then the load must be complete, not partial.
        assert data_hashes(db) | rollup_hashes(db) == after, f"partial load at {share:.0%}"
        db = copy_db(registry_db, db)
    assert inside >= 2
    # The database opens, is not locked, and the same load through the CLI then succeeds.
    assert run_cli("load", "--db", str(db), *files).returncode == 0
    assert data_hashes(db) == data_hashes(full)


def test_a_load_imports_neither_the_sample_generator_nor_the_boundaries(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        from etl.__main__ import main
        code = main(["load", "--db", {str(tmp_path / "none.duckdb")!r},
                     {str(tmp_path / "missing.csv")!r}])
        heavy = [m for m in ("etl.generate", "etl.boundaries", "etl.init_db", "shapely")
                 if m in sys.modules]
        print(code, heavy)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert done.stdout.split("\n")[0] == "2 []", done.stdout + done.stderr
