"""Helpers for page tests: run the real app (dashboard.py + st.navigation) in AppTest."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from etl.db import REPO_ROOT

DASHBOARD = str(REPO_ROOT / "dashboard.py")


def run_page(
    db_path, page: str | None = None, params: dict[str, str] | None = None, timeout: float = 90
) -> AppTest:
    """Run ``app_pages/<page>.py`` through the entry point against ``db_path``.

    ``params`` are URL query parameters (e.g. {"from": "2026-05", "village": "CJ03"}).
    The caller must have set GRID_DB (monkeypatch.setenv) to ``db_path``.
    """
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
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
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "toast"):
        parts += [getattr(el, "value", "") or "" for el in at.get(kind)]
    return "\n".join(str(p) for p in parts)
