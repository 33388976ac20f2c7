"""Page layout rules every page shares, as CSS the entry point adds once per run.

On a phone (below Streamlit's 640 px breakpoint) Streamlit stacks every column full
width, so a row of five metric cards becomes five screens' worth of scrolling. Rows of
cards keep two cards side by side there instead; everything else stacks as Streamlit
decides. Tables wider than the screen scroll inside their own frame, never the page.
"""

from __future__ import annotations

import streamlit as st

# A row of columns whose columns hold metric cards (``st.metric``): two per line on a
# phone. ``:has`` is supported by every browser the towns use (Chromium, Safari ≥ 15.4).
PHONE_STYLE = """<style>
@media (max-width: 640px) {
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stMetric"])
    > [data-testid="stColumn"] {
    min-width: calc(50% - 0.75rem) !important;
  }
  [data-testid="stMetricValue"] { font-size: 1.75rem; }
  [data-testid="stMain"] .block-container { padding-left: 1rem; padding-right: 1rem; }
}
</style>"""


def shared_style() -> None:
    """Add the layout rules (a style element takes no space on the page)."""
    st.html(PHONE_STYLE)
