"""网格看板 — start the server with ``streamlit run serve.py`` (what ``make run`` does).

Streamlit serves ``dashboard.py`` (the app) as ever, plus one route of ours: the
hand-off that sets the HttpOnly cookie of a remembered sign-in
(:mod:`auth.session_cookie`), so a reload or a pasted link keeps the user signed in.
``streamlit run dashboard.py`` still serves the app, but every reload then asks for
sign-in again (the server log says so at the first sign-in).
"""

from __future__ import annotations

import streamlit as st

from auth.session_cookie import routes

app = st.App("dashboard.py", routes=routes())
