"""网格看板 — entry point: ``streamlit run dashboard.py``.

Builds the database on first start, then hands over to the pages.
"""

from __future__ import annotations

import streamlit as st

from ui.db import ensure_database

st.set_page_config(page_title="漕泾镇网格化党建看板", page_icon="🏮", layout="wide")

ensure_database()

navigation = st.navigation([st.Page("pages/overview.py", title="总览", icon="📊", default=True)])
navigation.run()
