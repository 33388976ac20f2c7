"""Signing a user in for Streamlit's AppTest, as the sign-in form would."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from auth.roles import User
from store.paths import REPO_ROOT
from ui.session import SEEN_KEY, SINCE_KEY, USER_KEY

DASHBOARD = str(REPO_ROOT / "dashboard.py")


def sign_in(at: AppTest, user: User) -> None:
    """Put a signed-in user in the session, as the sign-in form would."""
    now = time.time()
    at.session_state[USER_KEY] = user
    at.session_state[SINCE_KEY] = now
    at.session_state[SEEN_KEY] = now
