"""SIGKILL during a load at 20 random moments: all of the load or none of it.

The database holds the registry and the activities and sign-ins of the first 12 of 24
generated months. A subprocess loads a corrected re-upload of all 24 months (two files,
~160k rows: every activity's duration and every absence changed), so its one write
transaction updates the stored half (saving the prior rows for undo), inserts the
other half and rebuilds the rollups. An undisturbed run first measures the window W
from process start to the load's commit. Then 20 runs are each killed (SIGKILL) at a
random moment in [0, 1.2 W] from their start: one moment drawn uniformly in each
twentieth of that range (stratified, so that the moments cover the range evenly
whatever the seed: start-up, reading, the write transaction, the commit and the
checkpoint after it); if none of them landed inside the write transaction (a busy
machine stretches runs unevenly), up to 10 more are aimed at the undisturbed run's
transaction window. After every kill the database must open read-write and hold
exactly the state before the load (every table) or exactly the state after it (data,
rollups, meta and undo bookkeeping; the upload audit differs only in its timestamps)
— never anything in between.

``KILL_SEED=<n>`` replays a run's moments; the seed, each moment and the counts are
printed (``pytest -s``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from etl.init_db import init_database
from etl.load import load_paths
from store.database import connect
from store.paths import REPO_ROOT
from tests.support.loading import (
    content_hashes,
    copy_db,
    marks_of,
    read_text,
    start_killable_load,
)

pytestmark = pytest.mark.slow

KILLS = 20
SPAN = 1.2  # kill moments range over [0, SPAN × the undisturbed window]
EXTRA_KILLS = 10  # kills aimed inside the write transaction when none of the 20 landed there
# Tables whose rows carry the load's wall-clock time: equal in count only.
TIMESTAMPED = ("upload", "audit_log")

HALF = 12  # months already in the database before the load


@pytest.fixture(scope="module")
def months(sample_dir) -> list[Path]:
    return sorted(p for p in sample_dir.iterdir() if p.name[:2] == "20")


def concat(months: list[Path], kind: str) -> pl.DataFrame:
    return pl.concat([read_text(m / f"{kind}.csv") for m in months])


@pytest.fixture(scope="module")
def before_db(months, tmp_path_factory) -> Path:
    """The registry and the first HALF months' activities and sign-ins, as generated."""
    out = tmp_path_factory.mktemp("kill-before")
    files = []
    for kind in ("activity", "attendance"):
        concat(months[:HALF], kind).write_csv(out / f"{kind}.csv")
        files.append(out / f"{kind}.csv")
    db = out / "before.duckdb"
    init_database(db, sample=False)
    con = connect(db)
    try:
        load_paths(con, files, "setup")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return db


@pytest.fixture(scope="module")
def upload_files(months, tmp_path_factory) -> list[str]:
    """All months corrected: every duration and every 缺席/请假 changed (~160k rows)."""
    out = tmp_path_factory.mktemp("kill-files")
    minutes = pl.col("时长分钟").cast(pl.Int64)
    activities = concat(months, "activity").with_columns(
        (minutes % 600 + 1).cast(pl.String).alias("时长分钟")
    )
    status = pl.col("出勤状态")
    attendance = concat(months, "attendance").with_columns(
        pl.when(status == "缺席")
        .then(pl.lit("请假"))
        .when(status == "请假")
        .then(pl.lit("缺席"))
        .otherwise(status)
        .alias("出勤状态")
    )
    files = [out / "activity_fixed.csv", out / "attendance_fixed.csv"]
    activities.write_csv(files[0])
    attendance.write_csv(files[1])
    return [str(f) for f in files]


def marks(output: str, t0: float) -> dict[str, float]:
    """The phase marks a run printed, in seconds from its start."""
    return {name: clock - t0 for name, clock in marks_of(output).items()}


def phase(seen: dict[str, float]) -> str:
    if "done" in seen:
        return "after commit"
    if "commit" in seen:
        return "at commit"
    if "open" in seen:
        return "in transaction"
    return "before transaction"


def open_and_hash(db: Path) -> dict[str, str]:
    """Open read-write (replaying the WAL), prove it writable, hash every table."""
    con = connect(db)
    try:
        con.execute("CHECKPOINT")
        return content_hashes(con)
    finally:
        con.close()


def comparable(hashes: dict[str, str]) -> dict[str, str]:
    """Every table's hash, but only the row count of the timestamped ones."""
    return {t: h.split(":")[0] if t in TIMESTAMPED else h for t, h in hashes.items()}


def test_sigkill_at_20_random_moments_leaves_before_or_after(before_db, upload_files, tmp_path):
    before = open_and_hash(copy_db(before_db, tmp_path / "before.duckdb"))

    # Two undisturbed runs: the window to kill in (from process start to the load's
    # commit; the shorter run's: a busy machine only ever stretches a run), and the
    # state after the load (the same for both). Imports are warmed first: a cold start
    # takes a second longer than the runs to kill.
    subprocess.run([sys.executable, "-c", "import etl.load"], cwd=REPO_ROOT, check=True)
    runs = []
    for n in range(2):
        full = copy_db(before_db, tmp_path / f"full{n}.duckdb")
        t0 = time.monotonic()
        process = start_killable_load(full, upload_files)
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0
        runs.append((marks(output, t0), open_and_hash(full)))
    undisturbed, after = min(runs, key=lambda r: r[0]["done"])
    window = undisturbed["done"]  # process start → load committed
    assert comparable(runs[0][1]) == comparable(runs[1][1])
    assert comparable(after) != comparable(before)

    seed = int(os.environ.get("KILL_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    step = SPAN * window / KILLS
    moments = [(i + rng.random()) * step for i in range(KILLS)]
    print(
        f"\nkill seed {seed}; window {window:.2f} s from process start to commit "
        f"(transaction from {undisturbed['open']:.2f} s); "
        f"killing in [0, {SPAN * window:.2f}] s"
    )

    def kill_at(i: int, moment: float) -> tuple[float, str, str]:
        db = copy_db(before_db, tmp_path / f"kill{i}.duckdb")
        t0 = time.monotonic()
        process = start_killable_load(db, upload_files)
        time.sleep(max(0.0, t0 + moment - time.monotonic()))
        process.send_signal(signal.SIGKILL)  # (a no-op if it has exited already)
        output = process.communicate(timeout=60)[0]
        where = phase(marks(output, t0))
        hashes = open_and_hash(db)
        if hashes == before:
            state = "before"
        else:
            changed = sorted(t for t in hashes if comparable(hashes)[t] != comparable(after)[t])
            assert not changed, f"kill {i} at {moment:.2f} s ({where}): partial load {changed}"
            state = "after"
        print(f"  kill {i:2d} at {moment:5.2f} s ({moment / window:4.0%}): {where:18s} → {state}")
        for leftover in (db, db.with_name(db.name + ".wal")):
            leftover.unlink(missing_ok=True)
        return moment, where, state

    outcomes = [kill_at(i, moment) for i, moment in enumerate(moments)]
    # On a busy machine runs vary so much that a draw may miss the write transaction:
    # then aim further kills inside the undisturbed run's transaction window.
    for extra in range(EXTRA_KILLS):
        if any(o[1] in ("in transaction", "at commit") for o in outcomes):
            break
        outcomes.append(kill_at(KILLS + extra, rng.uniform(undisturbed["open"], window)))

    counts = {s: sum(o[2] == s for o in outcomes) for s in ("before", "after")}
    inside = sum(o[1] in ("in transaction", "at commit") for o in outcomes)
    print(
        f"kills: {len(outcomes)}, before: {counts['before']}, after: {counts['after']} "
        f"({inside} inside the write transaction)"
    )
    assert counts["before"] + counts["after"] == len(outcomes)
    # What a run had not begun cannot have happened; what it reported committed stays.
    assert all(s == "before" for _, w, s in outcomes if w == "before transaction")
    assert all(s == "after" for _, w, s in outcomes if w == "after commit")
    assert counts["before"] >= 1  # the first moments fall into Python's start-up
    # The load is big enough that kills land inside its write transaction (4–12 of 20
    # on a quiet machine; a busy one makes runs vary so much that as few as 2 did).
    assert inside >= 1, "no kill landed inside the write transaction"
