"""Placeholder until the page is built."""

import streamlit as st

st.info("建设中")
