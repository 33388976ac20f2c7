"""Scheduled commands while another process holds the database (store.handover).

A child process opens a copy of the sample exactly as the dashboard does — the
project's ``connect`` and :func:`ui.job_handover.start`, which ``ui.db`` calls when it
opens its connection — and keeps it open. ``python -m supervise``, ``python -m
briefing`` and ``python -m notify`` are then run as real commands: they cannot open the
file (DuckDB's lock), hand their work over through the socket and report what the
holder did. A holder that does not take hand-overs gets a clear refusal. (The browser
test of the 督办 page does the same against a real ``streamlit run``.)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.browser import patience
from store.handover import hand_over, socket_path
from store.paths import REPO_ROOT

pytestmark = pytest.mark.slow

HOLDER = """
import sys, time
from store.database import connect
con = connect(sys.argv[1])
if sys.argv[2] == "dashboard":
    from ui import job_handover
    job_handover.start(sys.argv[1], con)
print("ready", flush=True)
sys.stdin.read()  # hold the file until the test closes our stdin
"""


def command(*argv: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """``python -m argv`` run from ``cwd`` (the project importable from anywhere)."""
    return subprocess.run(
        [sys.executable, "-m", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=600 * patience(),
    )


def hold(db: Path, kind: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), kind],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def release(process: subprocess.Popen) -> None:
    process.stdin.close()
    process.wait(timeout=60)


@pytest.fixture
def db(sample_db, tmp_path) -> Path:
    path = tmp_path / "grid.duckdb"
    shutil.copy(sample_db, path)
    return path


def test_the_commands_hand_their_work_to_the_holder(db, tmp_path):
    holder = hold(db, "dashboard")
    try:
        assert socket_path(db).exists()
        swept = command("supervise", "sweep", "--db", str(db))
        assert swept.returncode == 0, swept.stderr
        assert "新立项" in swept.stdout and "新立项 0 件" not in swept.stdout
        again = command("supervise", "sweep", "--db", str(db))
        assert "新立项 0 件" in again.stdout  # the holder's database got the items
        listed = command("supervise", "list", "--db", str(db), "--village", "CJ03")
        assert listed.returncode == 0 and {r["village_id"] for r in json.loads(listed.stdout)} == {
            "CJ03"
        }
        out = tmp_path / "brief.pdf"  # relative to the command's own directory
        made = command(
            "briefing", "--period", "2026-10", "--out", "brief.pdf", "--db", str(db), cwd=tmp_path
        )
        assert made.returncode == 0, made.stderr
        assert out.read_bytes().startswith(b"%PDF-")
        dry = command("notify", "--due", "--dry-run", "--db", str(db))
        assert dry.returncode == 0 and "试运行" in dry.stdout
        usage = command("supervise", "list", "--db", str(db), "--village", "CJ99")
        assert usage.returncode == 2 and "CJ99" in usage.stderr
        # Only the three commands are run for another process.
        refused = hand_over(db, "etl", ["init", "--force"])
        assert refused.code == 2 and "不执行" in refused.err
        # A garbled request is dropped and the holder keeps serving.
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(socket_path(db)))
            sock.sendall(b"\x00\x00\x00\x00\x00\x00\x00\x05{oops")
            assert sock.recv(10) == b""
        assert hand_over(db, "supervise", ["list", "--status", "已办结"]).code == 0
    finally:
        release(holder)
    # Once the holder has gone, the command opens the file itself.
    deadline = time.monotonic() + 30 * patience()
    while True:
        alone = command("supervise", "sweep", "--db", str(db))
        if alone.returncode == 0 or time.monotonic() > deadline:
            break
    assert alone.returncode == 0 and "新立项 0 件" in alone.stdout


def test_a_holder_that_takes_no_hand_over_is_named_and_nothing_changes(db):
    holder = hold(db, "plain")
    try:
        refused = command("supervise", "sweep", "--db", str(db))
        assert refused.returncode == 1
        assert "正被另一个程序占用" in refused.stderr and "没有做任何改动" in refused.stderr
    finally:
        release(holder)
    listed = command("supervise", "list", "--db", str(db))
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
