"""The metrics layer: pure query functions over DuckDB returning Polars frames.

Nothing here imports Streamlit or writes the database; pages, exports and the
``python -m metrics`` CLI all take their numbers from these functions.
"""
