"""Helpers for the tests of the 总览, 网格覆盖, 学习教育 and 民情处置 pages.

The expected numbers are always computed here through the metrics layer for the same
Filter the page uses, never written into a test.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from streamlit.testing.v1 import AppTest

from etl.init_db import init_database
from metrics import Filter, registry
from tests.pages_support import DASHBOARD, LEADER_USER, computed, sign_in, texts
from ui.filters import View, default_view

BAD_PARAMS = {"from": "2026-13", "village": "XX"}


def empty_database(path: Path) -> Path:
    """A database holding the registry only: every month is empty."""
    init_database(path, sample=False)
    return path


def default_view_of(db: Path, village_id: str | None = None) -> View:
    """The view the sidebar opens with (the last data months), optionally one village."""
    view = default_view(computed(db, registry.data_months))
    return View(view.start, view.end, village_id)


def scope(view: View, start: date | None = None, end: date | None = None) -> Filter:
    """The page's Filter for the view as one unit (town, or the chosen village)."""
    level = "village" if view.village_id else "town"
    return Filter(start or view.start, end or start or view.end, level, view.village_id)


def parts(view: View) -> Filter:
    """The page's Filter one level down (villages, or the village's sub-grids)."""
    level = "subgrid" if view.village_id else "village"
    return Filter(view.start, view.end, level, view.village_id)


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
    ``digits`` decimals (missing stays missing; the tolerance covers rounding mode)."""
    shown, values = list(shown), list(values)
    if len(shown) != len(values):
        return False
    tolerance = 0.5 * 10**-digits + 1e-9
    for a, b in zip(shown, values, strict=True):
        a = None if a is None or a != a else a  # NaN from pandas = missing
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
