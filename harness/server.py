"""A real ``streamlit run serve.py`` (as ``make run`` starts the dashboard) on loopback,
with its own database and users file: what the browser tests, the concurrency test and
the benchmarks drive.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from harness.browser import patience
from harness.shared_builds import built_once, private_copy
from store.paths import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerURL(str):
    """The URL of a running server; ``process`` is its ``streamlit run`` process."""

    process: subprocess.Popen


@contextmanager
def streamlit_server(db_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[ServerURL]:
    """Start the dashboard on a free loopback port on ``db_path``; yield its URL; stop it
    afterwards. Its output goes to ``<db>.server.log`` (:func:`server_errors`)."""
    env = {**os.environ, "GRID_DB": str(db_path), **(extra_env or {})}
    with app_server(REPO_ROOT / "serve.py", env, db_path.with_suffix(".server.log")) as url:
        yield url


START_S = 60.0


@contextmanager
def app_server(
    script: Path, env: dict[str, str], log_path: Path, start_timeout_s: float | None = None
) -> Iterator[ServerURL]:
    """``streamlit run <script>`` with ``env`` on a free loopback port (the repository's
    configuration), its output in ``log_path``; yield its URL once healthy; stop it
    afterwards. The file watcher is off: a source edited during a run would hold the
    page at Streamlit's "rerun?" prompt. The start may take ``start_timeout_s``
    (default :data:`START_S` × the machine's :func:`~harness.browser.patience`: a
    fixed minute failed a start while four test workers shared two cores)."""
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(script),
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = ServerURL(f"http://127.0.0.1:{port}")
    url.process = proc
    try:
        deadline = time.monotonic() + (start_timeout_s or START_S * patience())
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start: see {log_path}")
            time.sleep(0.3)
        yield url
    finally:
        stop(proc, timeout=15)
        log.close()


def stop(process: subprocess.Popen, timeout: float) -> None:
    """Ask a server process to end (SIGTERM); kill it if it has not after ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_errors(log_path: Path) -> list[str]:
    """One line per traceback in the server log: the exception and the innermost frame
    in the project's own code (the server log is ``<db>.server.log``)."""
    text = log_path.read_text(encoding="utf-8", errors="replace")
    errors = []
    for block in text.split("Traceback (most recent call last):")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        ours = [
            line.strip()
            for line in lines
            if line.strip().startswith('File "') and str(REPO_ROOT) in line and ".venv" not in line
        ]
        last = next((line for line in lines if not line.startswith(" ")), lines[-1])
        errors.append(f"{last.strip()} (at {ours[-1] if ours else '?'})")
    return errors


# ------------------------------------------------------------------ shared set-up


SAMPLE_END = date(2026, 9, 1)  # the browser tests upload October on top of it


def sample_database(tmp_path_factory, dest: Path, months: int = 23, end: date = SAMPLE_END) -> Path:
    """A fresh copy of a sample database at ``dest``.

    The sample is built once per test run (``etl.init_db.init_database``; once for all
    pytest-xdist workers, see :mod:`harness.shared_builds`) and copied for every caller,
    so each browser test module gets a database of its own without paying for the
    build again.
    """
    from etl.init_db import init_database

    def build(folder: Path) -> None:
        folder.mkdir()
        init_database(folder / "grid.duckdb", months=months, end=end)

    name = f"browser-sample-{months}-{end:%Y-%m}"
    return private_copy(built_once(tmp_path_factory, name, build) / "grid.duckdb", dest)


def write_users(path: Path, accounts: Iterable[tuple[str, str, str, str]]) -> Path:
    """A users file (``GRID_USERS``) with ``(username, password, role, display_name)``."""
    from auth.store import UserStore

    store = UserStore.load(path)
    for username, password, role, display_name in accounts:
        store.set_user(username, password, role, display_name=display_name)
    return store.path
