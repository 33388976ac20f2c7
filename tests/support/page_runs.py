"""Helpers for page tests: run the real app (dashboard.py + st.navigation) in AppTest,
read what a page shows, and compute what it should show.

The expected numbers are always computed through the metrics layer for the Filter the
page uses (``ui.filters.to_filter``), never written into a test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
from streamlit.testing.v1 import AppTest

from auth.roles import LEADER, OFFICE, SECRETARY, User
from etl.init_db import init_database
from etl.rollups import refresh
from harness.apptest import DASHBOARD, sign_in
from metrics import registry
from store.database import connect
from ui.filters import View, default_view

LEADER_USER = User("leader", "镇领导（测试）", LEADER)
OFFICE_USER = User("office", "镇办人员（测试）", OFFICE)


def secretary(village_id: str) -> User:
    return User(f"sec_{village_id}", "村居书记（测试）", SECRETARY, village_id)


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


BAD_PARAMS = {"from": "2026-13", "village": "XX"}


def empty_database(path: Path) -> Path:
    """A database holding the registry only: every month is empty."""
    init_database(path, sample=False)
    return path


def default_view_of(db: Path, village_id: str | None = None) -> View:
    """The view the sidebar opens with (the last data months), optionally one village."""
    view = default_view(computed(db, registry.data_months))
    return View(view.start, view.end, village_id)


def metrics_by_label(at: AppTest) -> dict[str, tuple[str, str]]:
    """Every st.metric on the page: label → (value, delta)."""
    return {m.label: (m.value, m.delta) for m in at.metric}


def table_with(at: AppTest, *columns: str, without: str | None = None) -> pl.DataFrame:
    """The (only) st.dataframe on the page having all ``columns`` (and not the
    column ``without``), as a Polars frame."""
    found = [
        d.value
        for d in at.dataframe
        if set(columns) <= set(d.value.columns) and without not in d.value.columns
    ]
    assert len(found) == 1, f"expected one table with {columns!r}, found {len(found)}"
    return pl.from_pandas(found[0])


def export_keys(at: AppTest) -> set[str]:
    """Keys of the download buttons on the page (``<name>_csv`` / ``<name>_xlsx``)."""
    return {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}


def shown_as(shown, values, scale: float = 1.0, digits: int = 1) -> bool:
    """Whether a table column ``shown`` holds ``values`` × ``scale`` rounded to
    ``digits`` decimals (missing stays missing; the tolerance covers rounding mode). A
    column with an empty cell is shown as text ("—" there, ``ui.sparse_tables``)."""
    shown, values = list(shown), list(values)
    if len(shown) != len(values):
        return False
    tolerance = 0.5 * 10**-digits + 1e-9
    for a, b in zip(shown, values, strict=True):
        # NaN from pandas, or the "—" a table shows for an empty cell = missing
        a = None if a is None or a != a or a == "—" else float(a)
        if a is None or b is None:
            if a is not b:
                return False
        elif abs(a - b * scale) > tolerance:
            return False
    return True


def run_with_bad_params(db: Path, page: str) -> tuple[str, AppTest]:
    """Open ``page`` from a link with invalid values: the notices the first run shows
    (the sidebar warns once, on the run that reads the link) and the app after it
    switched to the page."""
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    sign_in(at, LEADER_USER)
    for key, value in BAD_PARAMS.items():
        at.query_params[key] = value
    at.run()
    notices = texts(at)
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py").run()
    return notices, at
