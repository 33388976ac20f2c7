"""The baseline of ``python -m bench pages``: a minimal one-chart Streamlit page.

A title and one Plotly bar chart of a small Polars frame (14 villages), nothing else:
no database, no sidebar, no cache. ``bench/pages_bench.py`` runs it through AppTest
standalone (the headline baseline) and as a page of the dashboard's own navigation;
``python -m bench browser`` opens it as the second page of ``bench/minimal_app.py``.
"""

import plotly.graph_objects as go
import polars as pl
import streamlit as st

frame = pl.DataFrame(
    {
        "village": [f"CJ{i:02d}" for i in range(1, 15)],
        "value": [round(60 + (i * 37) % 40 + 0.5, 1) for i in range(1, 15)],
    }
)
st.title("最小页面")
figure = go.Figure(go.Bar(x=frame["village"].to_list(), y=frame["value"].to_list()))
st.plotly_chart(figure, width="stretch")
