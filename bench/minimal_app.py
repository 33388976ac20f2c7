"""The baseline of ``python -m bench browser``: a minimal TWO-page Streamlit app.

A text page (the default) and ``bench/minimal_page.py`` (a title and one Plotly bar
chart), in Streamlit's own navigation: the benchmark opens the chart page from the
sidebar, as a user opens a page of the dashboard. Started with
``streamlit run bench/minimal_app.py`` from the repository (same ``.streamlit/config.toml``).
"""

import streamlit as st


def home() -> None:
    """The page the benchmark starts from and returns to."""
    st.title("首页")
    st.write("最小的两页应用：从左侧打开“最小页面”。")


st.navigation(
    [
        st.Page(home, title="首页", default=True),
        st.Page("minimal_page.py", title="最小页面", url_path="minimal"),
    ]
).run()
