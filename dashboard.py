"""网格看板 — entry point: ``streamlit run dashboard.py``.

Builds the database on first start, draws the shared filters (kept across pages and
mirrored in the URL), then runs the chosen page.
"""

from __future__ import annotations

import streamlit as st

from metrics import registry
from ui import filters
from ui.db import ensure_database, query
from ui.page import PAGES, set_context

st.set_page_config(
    page_title="漕泾镇网格化党建看板",
    page_icon=":material/flag:",
    layout="wide",
    initial_sidebar_state="expanded",
)

ensure_database()

villages = query(registry.villages)
village_pairs = list(villages.select("village_id", "name").iter_rows())
view = filters.sidebar(query(registry.data_months), village_pairs)
set_context(view, dict(village_pairs))

navigation = st.navigation(
    [
        # The default page lives at "/"; the others at /<url_path> (deep links).
        st.Page(p.path, title=p.title, icon=p.icon, default=True)
        if i == 0
        else st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path)
        for i, p in enumerate(PAGES)
    ]
)
st.sidebar.caption("地图边界为示意数据（无公开边界），可在“数据上传”页以 GeoJSON 替换。")
navigation.run()
