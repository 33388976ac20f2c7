"""Driving the real dashboard from outside, for the tests and the benchmarks.

``harness.server`` starts ``streamlit run serve.py`` on loopback against a database
and users file of the caller's; ``harness.browser`` drives headless Chromium through
it; ``harness.apptest`` signs a user in for Streamlit's AppTest. The product never
imports this package.
"""
