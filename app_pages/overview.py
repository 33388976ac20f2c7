"""总览 (placeholder until the page is built): grid size and the latest month."""

import streamlit as st

from metrics.overview import town_summary
from ui.db import query
from ui.page import page_header

page_header("漕泾镇网格化党建看板")
summary = query(town_summary)

cols = st.columns(3)
cols[0].metric("村居党建总网格", f"{summary.villages:,}")
cols[1].metric("党建子网格", f"{summary.subgrids:,}")
cols[2].metric("在册党员", f"{summary.party_members:,}")

if summary.latest_month is not None:
    month = f"{summary.latest_month.year}年{summary.latest_month.month}月"
    st.subheader(f"最近一个月：{month}")
    cols = st.columns(2)
    cols[0].metric("开展活动（场）", f"{summary.activities:,}")
    cols[1].metric("收集民情民意（件）", f"{summary.reports:,}")
