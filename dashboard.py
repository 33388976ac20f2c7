"""网格看板 — the app's script, served by ``serve.py`` (``streamlit run serve.py``).

Builds the database on first start, asks for sign-in (or resumes the browser's
remembered one, ``ui.remembered_sign_in``), holds the run to the user's village scope
and to one read snapshot, draws the shared filters (kept across pages and mirrored in
the URL), then runs the chosen page among those the user's role may open.
"""

from __future__ import annotations

import logging

# Imported up front, once per process: Plotly looks pandas and numpy up in sys.modules
# without the import lock, so a session drawing a chart while another session's thread
# is still importing them (Streamlit imports pandas lazily) saw a half-initialised
# module ("partially initialized module 'pandas' has no attribute 'Series'").
import numpy  # noqa: F401
import pandas  # noqa: F401
import streamlit as st

from metrics import registry
from metrics import scope as metric_scope
from store.paths import private_files
from ui import filters, session
from ui.auth_gate import checked_user, sidebar_account, sign_in_form, startup_check
from ui.db import begin_snapshot, end_snapshot, ensure_database, query
from ui.layout import shared_style
from ui.navigation import ADMIN_PAGE, PAGES, pages_for, streamlit_pages
from ui.remembered_sign_in import hand_over

PAGES_AND_ADMIN = (*PAGES, ADMIN_PAGE)
# Under the navigation: the map's boundaries are illustrative. Only 镇办人员 can
# replace them (on 数据上传), so only they are told where.
BOUNDARY_NOTE = {
    True: "地图边界为示意数据（暂无公开的村居边界），可在“数据上传”页上传边界文件替换。",
    False: "地图边界为示意数据（暂无公开的村居边界），仅表示相对位置。",
}

st.set_page_config(
    page_title="漕泾镇网格化党建看板",
    page_icon="🚩",  # an emoji favicon is drawn in the page; a material icon is fetched from Google
    layout="wide",
    initial_sidebar_state="auto",  # collapsed on a phone, open on a desk
)


private_files()  # the database, its WAL and the users file: owner only
ensure_database()
startup_check()

user = checked_user()
# Set on every run: the thread may have run another session's script before.
metric_scope.set_scope(user.village_scope if user else None)
if user is None:
    # Register every page, hidden, so that the page of a deep link (/village?village=CJ03)
    # stays the current page through sign-in; nothing runs but the form.
    st.navigation(streamlit_pages(PAGES_AND_ADMIN), position="hidden")
    sign_in_form()
    hand_over(st.container())  # clears the cookie of a sign-out
    st.stop()

account = st.sidebar.container()  # at the top; filled once the village names are read
shared_style()
allowed = pages_for(user)
begin_snapshot()
try:
    village_pairs = []
    if user.pages != ("admin",):
        villages = query(registry.villages)
        village_pairs = list(villages.select("village_id", "name").iter_rows())
    sidebar_account(user, dict(village_pairs), account)
    if user.pages != ("admin",):
        view = filters.sidebar(query(registry.data_months), village_pairs, user.village_scope)
        session.set_view_context(view, dict(village_pairs))
    # Every page listed: past ten, Streamlit would hide the rest behind "View N more".
    navigation = st.navigation(streamlit_pages(allowed), expanded=True)
    if user.pages != ("admin",):
        st.sidebar.caption(BOUNDARY_NOTE[user.can_upload])
    hand_over(st.sidebar)  # gives the browser the cookie of a new sign-in (at the bottom)
    try:
        navigation.run()
    except metric_scope.ScopeDenied as denied:
        # Pages narrow to the scope themselves; this is the metrics layer's backstop.
        logging.getLogger("grid.access").warning("%s: %s", user.username, denied)
        st.error(str(denied))
finally:
    end_snapshot()
