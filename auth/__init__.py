"""Sign-in, roles and village scope (no Streamlit here except in :mod:`auth.gate`)."""
