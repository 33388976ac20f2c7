"""Streamlit-side helpers shared by the pages (connection, formatting)."""
