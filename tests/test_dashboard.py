"""The dashboard starts on a database and shows numbers read from it (AppTest)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from metrics.overview import town_summary
from store.database import connect
from store.paths import REPO_ROOT
from tests.support.page_runs import LEADER_USER, run_page, sign_in, texts


def test_overview_shows_the_database_numbers(sample_db, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(sample_db))
    at = run_page(sample_db)
    assert not at.exception
    con = connect(sample_db)
    try:
        expected = town_summary(con)
    finally:
        con.close()
    values = {m.label: m.value for m in at.metric}
    assert values["村居党建总网格"] == "14"
    assert values["党建子网格"] == "89"
    assert values["在册党员"] == f"{expected.party_members:,}"
    assert values["开展活动（场）"] == f"{expected.activities:,}"
    assert values["收集民情民意（件）"] == f"{expected.reports:,}"
    assert expected.activities > 300  # a town's month, not a handful


@pytest.mark.slow
def test_dashboard_builds_a_missing_database_before_sign_in(tmp_path, monkeypatch):
    db = tmp_path / "fresh.duckdb"
    monkeypatch.setenv("GRID_DB", str(db))
    at = AppTest.from_file(str(REPO_ROOT / "dashboard.py"), default_timeout=120).run()
    assert not at.exception
    assert db.exists()
    assert any("数据库已创建" in s.label for s in at.status)
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    # Signed in, the new database's numbers show.
    sign_in(at, LEADER_USER)
    at.run()
    values = {m.label: m.value for m in at.metric}
    assert values["党建子网格"] == "89"
    assert "总览" in texts(at)
