"""The page registry: every page of the dashboard, who may open it, how to reach it.

Pages live in ``app_pages/`` (not ``pages/``: see docs/decisions/ on why Streamlit's
legacy multipage folder would skip the entry script and its sign-in gate). The entry
point builds the navigation from :data:`PAGES`; drill-downs name their target by key.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from auth.roles import User
from ui import session


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
    PageInfo("subgrid", "app_pages/subgrid.py", "子网格详情", ":material/grid_on:", "subgrid"),
    PageInfo("ranking", "app_pages/ranking.py", "考核排名", ":material/leaderboard:", "ranking"),
    # The four lists (责任清单, 程序清单, 阵地与志愿者).
    PageInfo(
        "responsibility",
        "app_pages/responsibility.py",
        "责任落实",
        ":material/groups:",
        "responsibility",
    ),
    PageInfo(
        "procedures", "app_pages/procedures.py", "程序清单", ":material/account_tree:", "procedures"
    ),
    PageInfo("places", "app_pages/places.py", "阵地与志愿者", ":material/location_city:", "places"),
    PageInfo(
        "supervision",
        "app_pages/supervision.py",
        "督办",
        ":material/assignment_late:",
        "supervision",
    ),
    PageInfo(
        "completeness",
        "app_pages/completeness.py",
        "报送情况",
        ":material/fact_check:",
        "completeness",
    ),
    PageInfo("upload", "app_pages/upload.py", "数据上传", ":material/upload_file:", "upload"),
    # Last: it hides the sidebar (a walk through the pages from the sidebar ends here).
    PageInfo("tv", "app_pages/tv.py", "会议室大屏", ":material/tv:", "tv"),
)
# Users and the audit log: for 管理员 only, who sees no analytics pages.
ADMIN_PAGE = PageInfo(
    "admin", "app_pages/admin.py", "用户与审计", ":material/admin_panel_settings:", "admin"
)
PAGE_BY_KEY = {p.key: p for p in (*PAGES, ADMIN_PAGE)}


def page_path(key: str) -> str:
    """The script of page ``key`` (what ``st.switch_page`` and ``st.page_link`` take)."""
    return PAGE_BY_KEY[key].path


def pages_for(user: User) -> list[PageInfo]:
    """The pages ``user``'s role may open, in navigation order."""
    return [PAGE_BY_KEY[key] for key in user.pages]


# ``/?screen=tv`` opens 会议室大屏 (the address a meeting-room TV keeps as its home page).
SCREEN_PARAM, TV_SCREEN, TV_KEY = "screen", "tv", "tv"


def default_key(infos) -> str:
    """The page at "/": the first, or 会议室大屏 when the link asks for ``screen=tv``."""
    keys = [p.key for p in infos]
    if st.query_params.get(SCREEN_PARAM) == TV_SCREEN and TV_KEY in keys:
        return TV_KEY
    return keys[0]


def streamlit_pages(infos) -> list[st.Page]:
    """``st.Page`` objects: the default page (:func:`default_key`) lives at "/", the
    others at /<url_path> (deep links)."""
    default = default_key(infos) if infos else None
    return [
        st.Page(p.path, title=p.title, icon=p.icon, default=True)
        if p.key == default
        else st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path)
        for p in infos
    ]


def require_page(key: str) -> User:
    """Stop the run unless the signed-in user's role may open page ``key``.

    Navigation already hides pages a role may not open; pages that change data or
    users check again, so that no other route to the script (a stale link, a future
    refactoring) can run it for the wrong role.
    """
    user = session.user()
    if user is None or key not in user.pages:
        st.error("当前账号无权使用此页面。")
        st.stop()
    return user
