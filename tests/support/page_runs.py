"""Helpers for page tests: run the real app (dashboard.py + st.navigation) in AppTest."""

from __future__ import annotations

import json
import shutil
import time

from streamlit.testing.v1 import AppTest

from auth.roles import LEADER, OFFICE, SECRETARY, User
from etl.rollups import refresh
from store.database import connect
from store.paths import REPO_ROOT

DASHBOARD = str(REPO_ROOT / "dashboard.py")

LEADER_USER = User("leader", "镇领导（测试）", LEADER)
OFFICE_USER = User("office", "镇办人员（测试）", OFFICE)


def secretary(village_id: str) -> User:
    return User(f"sec_{village_id}", "村居书记（测试）", SECRETARY, village_id)


def sign_in(at: AppTest, user: User) -> None:
    """Put a signed-in user in the session, as the sign-in form would."""
    now = time.time()
    at.session_state["user"] = user
    at.session_state["auth_since"] = now
    at.session_state["auth_seen"] = now


def run_page(
    db_path,
    page: str | None = None,
    params: dict[str, str] | None = None,
    timeout: float = 90,
    user: User | None = LEADER_USER,
) -> AppTest:
    """Run ``app_pages/<page>.py`` through the entry point against ``db_path``.

    ``params`` are URL query parameters (e.g. {"from": "2026-05", "village": "CJ03"}).
    The caller must have set GRID_DB (monkeypatch.setenv) to ``db_path``. ``user`` is
    signed in first (a 镇领导 by default; None for the sign-in page itself).
    """
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
    if user is not None:
        sign_in(at, user)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    if page and page != "overview":
        at.switch_page(f"app_pages/{page}.py").run()
    return at


def plotly_specs(at: AppTest) -> list[dict]:
    """The Plotly figures on the page, as dicts (AppTest has no typed accessor)."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def deck_specs(at: AppTest) -> list[dict]:
    """The pydeck maps on the page, as dicts."""
    return [json.loads(el.proto.json) for el in at.get("deck_gl_json_chart")]


def texts(at: AppTest) -> str:
    """All markdown, captions, titles, info/warning/error texts, joined (for 'in' checks)."""
    parts = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "toast",
    ):
        parts += [getattr(el, "value", "") or "" for el in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def computed(db, function, *args, **kwargs):
    """``function(con, *args, **kwargs)`` on its own connection to ``db`` (the expected
    values of a page test, always from the metrics layer)."""
    con = connect(db)
    try:
        return function(con, *args, **kwargs)
    finally:
        con.close()


def copy_with_august_emptied(source, target):
    """A copy of ``source`` with August 2026 emptied (no activities, sign-ins, reports)."""
    shutil.copy(source, target)
    con = connect(target)
    try:
        con.execute("BEGIN TRANSACTION")
        month = "activity_date >= DATE '2026-08-01' AND activity_date < DATE '2026-09-01'"
        con.execute(
            f"DELETE FROM attendance WHERE activity_id IN (SELECT activity_id FROM activity "
            f"WHERE {month})"
        )
        con.execute(f"DELETE FROM activity WHERE {month}")
        con.execute(
            "DELETE FROM report WHERE reported_at >= TIMESTAMP '2026-08-01' "
            "AND reported_at < TIMESTAMP '2026-09-01'"
        )
        refresh(con)
        con.execute("COMMIT")
    finally:
        con.close()
    return target
