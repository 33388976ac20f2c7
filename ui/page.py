"""What every page gets from the entry point: the shared view and the page registry.

``dashboard.py`` draws the sidebar filters and stores the current :class:`View`
before running the page, so pages only read it (``current_view``) and build the
metrics :class:`~metrics.Filter` they need (``metric_filter``).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from auth.roles import User
from metrics import Filter
from store.months import range_label
from ui.filters import View
from ui.text import plain

_VIEW_KEY = "current_view"
_VILLAGE_NAMES_KEY = "village_names"


@dataclass(frozen=True)
class PageInfo:
    key: str
    path: str
    title: str
    icon: str
    url_path: str


# Order is the navigation order.
PAGES = (
    PageInfo("overview", "app_pages/overview.py", "总览", ":material/dashboard:", "overview"),
    PageInfo("coverage", "app_pages/coverage.py", "网格覆盖", ":material/grid_view:", "coverage"),
    PageInfo("study", "app_pages/study.py", "学习教育", ":material/menu_book:", "study"),
    PageInfo("response", "app_pages/response.py", "民情处置", ":material/forum:", "response"),
    PageInfo("map", "app_pages/map.py", "两个指数地图", ":material/map:", "map"),
    PageInfo("village", "app_pages/village.py", "村居详情", ":material/home_work:", "village"),
    PageInfo("ranking", "app_pages/ranking.py", "考核排名", ":material/leaderboard:", "ranking"),
    PageInfo("upload", "app_pages/upload.py", "数据上传", ":material/upload_file:", "upload"),
)
# Users and the audit log: for 管理员 only, who sees no analytics pages.
ADMIN_PAGE = PageInfo(
    "admin", "app_pages/admin.py", "用户与审计", ":material/admin_panel_settings:", "admin"
)
PAGE_BY_KEY = {p.key: p for p in (*PAGES, ADMIN_PAGE)}


def pages_for(user: User) -> list[PageInfo]:
    """The pages ``user``'s role may open, in navigation order."""
    return [PAGE_BY_KEY[key] for key in user.pages]


def set_context(view: View, village_names: dict[str, str]) -> None:
    """Called by the entry point before the page runs."""
    st.session_state[_VIEW_KEY] = view
    st.session_state[_VILLAGE_NAMES_KEY] = village_names


def current_view() -> View:
    """The month range and village the user chose in the sidebar."""
    return st.session_state[_VIEW_KEY]


def village_names() -> dict[str, str]:
    """village_id → display name."""
    return st.session_state.get(_VILLAGE_NAMES_KEY, {})


def metric_filter(level: str = "town", view: View | None = None) -> Filter:
    """The metrics Filter for the current view at ``level``."""
    view = view or current_view()
    return Filter(view.start, view.end, level, view.village_id)


def scope_label(view: View | None = None) -> str:
    """'营房村 · 2026年5月—2026年10月' (or 全镇), as Markdown: the village name is escaped."""
    view = view or current_view()
    where = village_names().get(view.village_id, view.village_id) if view.village_id else "全镇"
    return f"{plain(where)} · {range_label(view.start, view.end)}"


def page_header(title: str) -> None:
    """The page title with the scope it shows."""
    st.title(title)
    st.caption(scope_label())


def current_user() -> User | None:
    """The signed-in user (the entry point lets no page run without one)."""
    return st.session_state.get("user")


def current_user_name() -> str:
    """The signed-in user's name for the audit trail."""
    return getattr(current_user(), "username", None) or "（未登录）"


def require_page(key: str) -> User:
    """Stop the run unless the signed-in user's role may open page ``key``.

    Navigation already hides pages a role may not open; pages that change data or
    users check again, so that no other route to the script (a stale link, a future
    refactoring) can run it for the wrong role.
    """
    user = current_user()
    if user is None or key not in user.pages:
        st.error("当前账号无权使用此页面。")
        st.stop()
    return user
