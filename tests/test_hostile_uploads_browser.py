"""Hostile uploads through the real page: the server stays up and serves everybody else.

A real ``streamlit run`` (its reading child allowed only 300 MB, so that a legal but
large file crosses the second wall too) and headless Chromium. The office user uploads
each hostile file through 数据上传; the page shows the Chinese rejection; the server
process is still running, its resident memory (sampled every 0.2 s throughout) stays
under :data:`RSS_BOUND_MB`, and a second user then signs in and reads 总览.
"""

from __future__ import annotations

import threading
import time

import psutil
import pytest
from playwright.sync_api import sync_playwright

from auth.roles import LEADER, OFFICE
from harness.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    exceptions_on,
    open_from_sidebar,
    sign_in,
    wait_until_idle,
)
from harness.server import ARTIFACTS, sample_database, streamlit_server, write_users
from store.paths import REPO_ROOT
from tests.support import hostile_files as hostile

pytestmark = pytest.mark.browser

RSS_BOUND_MB = 1024  # the dashboard process, while every hostile file is handled
OFFICE_USER, LEADER_USER, PASSWORD = "hostile_office", "hostile_leader", "hostile-pass-1"


def _large_sign_ins() -> bytes:
    """A legal sign-in file (under every reading limit) that needs more than 300 MB."""
    rows = [hostile.ATTENDANCE_HEADER] + [
        f"HD-{i:07d},CJ03-P{i % 9000:04d},出席,现场,2026-10-05 09:{i % 60:02d}"
        for i in range(700_000)
    ]
    return hostile.csv_text(rows)


UPLOADS = {
    "十月签到.xlsx": (hostile.huge_dimension_workbook, "A1:XFC1048575"),
    "宽行.csv": (hostile.wide_line_csv, "1,024 KB"),
    "控制字符.csv": (hostile.control_character_csv, "控制字符"),
    "压缩炸弹.xlsx": (hostile.zip_bomb_workbook, "声明的大小"),
    "大文件.csv": (_large_sign_ins, "无法安全读取"),
}


class RssSampler:
    """The resident memory of a process, sampled on a thread until stopped."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self.process.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                return
            self.peak_mb = max(self.peak_mb, rss)
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    db = sample_database(tmp_path_factory, work / "grid.duckdb")
    users = write_users(
        work / "users.toml",
        [
            (OFFICE_USER, PASSWORD, OFFICE, "镇办（测试）"),
            (LEADER_USER, PASSWORD, LEADER, "镇领导（测试）"),
        ],
    )
    limits = (REPO_ROOT / "data/config/limits.toml").read_text(encoding="utf-8")
    tight = work / "limits.toml"
    tight.write_text(limits.replace("memory_mb = 2048", "memory_mb = 300"), encoding="utf-8")
    env = {"GRID_USERS": str(users), "GRID_LIMITS": str(tight)}
    with streamlit_server(db, env) as url:
        yield url


def test_hostile_uploads_do_not_take_the_server_down(server, tmp_path):
    files = {}
    for name, (build, _) in UPLOADS.items():
        files[name] = tmp_path / name
        files[name].write_bytes(build())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(server)
        sign_in(page, OFFICE_USER, PASSWORD)
        open_from_sidebar(page, "数据上传")
        ARTIFACTS.mkdir(exist_ok=True)
        with RssSampler(server.process.pid) as rss:
            for number, (name, (_, reason)) in enumerate(UPLOADS.items(), start=1):
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
                    str(files[name])
                )
                wait_until_idle(page, timeout_s=240)
                text = page.locator('[data-testid="stMain"]').inner_text()
                errors = text.replace("\u2060", "")  # the word joiners of ui.text.plain
                assert "整批文件均未载入" in errors, (name, errors[:500])
                assert reason in errors, (name, errors[:2000])
                assert exceptions_on(page) == []
                assert server.process.poll() is None, f"the server died on {name}"
                shot = ARTIFACTS / f"hostile-upload-{number}.png"
                page.screenshot(path=str(shot), full_page=True)
                page.locator('[data-testid="stFileChipDeleteBtn"]').first.click()
                wait_until_idle(page)
        assert rss.peak_mb < RSS_BOUND_MB, f"server RSS peaked at {rss.peak_mb:.0f} MB"

        # Another user, another session: the dashboard still serves.
        other = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        other.goto(server)
        sign_in(other, LEADER_USER, PASSWORD)
        wait_until_idle(other)
        assert other.locator('[data-testid="stMetric"]').count() > 0
        assert exceptions_on(other) == []
        browser.close()
    assert server.process.poll() is None
    print(f"\nserver RSS peak during the hostile uploads: {rss.peak_mb:.0f} MB")
