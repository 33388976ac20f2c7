"""The cookie that carries a remembered sign-in, and the one route that sets it.

Streamlit talks to the browser over a WebSocket, which cannot set a cookie, and a
cookie that page scripts could set they could also read. So a signed-in session hands
the token over through a one-time *hand-off*: it registers the token here under a
fresh random nonce (:func:`hand_off`), a tiny component in the page POSTs that nonce
to :data:`ROUTE_PATH` (same origin), and the route answers with the cookie::

    grid_session=<token>; HttpOnly; SameSite=Strict; Path=/; Max-Age=…[; Secure]

The page's scripts see the nonce for a moment, never the token; the nonce works once,
for ``HANDOFF_SECONDS``. Clearing the cookie after a sign-out goes the same way
(:func:`hand_off_clear`), and clears it only if the browser still holds the token that
was signed out (another page may have signed in anew since).

The route refuses a request from another origin (``Origin`` must name the host the
request was sent to) and anything but a small JSON body, so a page elsewhere can
neither plant nor clear the cookie. ``Secure`` follows ``[session] secure_cookie`` of
``server.toml`` (``auto``: when the browser reached us over https, which uvicorn
learns from the proxy's ``X-Forwarded-Proto``).

:func:`routes` is mounted by ``serve.py`` (``st.App``); no Streamlit here.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.session_tokens import digest
from auth.settings import current_settings
from store.toml_config import ConfigError

COOKIE_NAME = "grid_session"
ROUTE_PATH = "/api/session"
HANDOFF_SECONDS = 300.0
MAX_HANDOFFS = 10_000  # pending at once; only signed-in sessions and sign-outs add one
MAX_BODY_BYTES = 1024

_log = logging.getLogger("grid.auth")


@dataclass(frozen=True)
class HandOff:
    """What a nonce stands for: set ``token`` as the cookie (for ``max_age`` seconds),
    or clear the cookie if it holds the token of digest ``clear_digest``."""

    token: str | None
    max_age: int
    clear_digest: str | None
    deadline: float  # time.monotonic()


_lock = threading.Lock()
_pending: dict[str, HandOff] = {}
_served = threading.Event()


def _register(hand: HandOff) -> str:
    nonce = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _lock:
        for stale in [n for n, h in _pending.items() if h.deadline < now]:
            del _pending[stale]
        while len(_pending) >= MAX_HANDOFFS:  # the oldest first (dicts keep insertion order)
            del _pending[next(iter(_pending))]
        _pending[nonce] = hand
    return nonce


def hand_off(token: str, max_age_seconds: float) -> str:
    """A nonce the browser exchanges for the cookie holding ``token``."""
    deadline = time.monotonic() + HANDOFF_SECONDS
    return _register(HandOff(token, max(0, int(max_age_seconds)), None, deadline))


def hand_off_clear(token_digest: str) -> str:
    """A nonce the browser exchanges for clearing the cookie, if it still holds the
    token of ``token_digest`` (``auth.session_tokens.digest``)."""
    deadline = time.monotonic() + HANDOFF_SECONDS
    return _register(HandOff(None, 0, token_digest, deadline))


def pending(nonce: str) -> bool:
    """Whether the browser has yet to exchange ``nonce`` (False once used or expired)."""
    with _lock:
        hand = _pending.get(nonce)
        return hand is not None and hand.deadline >= time.monotonic()


def take(nonce: str) -> HandOff | None:
    """The hand-off of ``nonce``, once (None when unknown, used or expired)."""
    with _lock:
        hand = _pending.pop(nonce, None)
    return hand if hand is not None and hand.deadline >= time.monotonic() else None


def route_served() -> bool:
    """Whether this process serves :data:`ROUTE_PATH` (started by ``serve.py``)."""
    return _served.is_set()


# ------------------------------------------------------------------ the route


def same_origin(request: Request) -> bool:
    """Whether the request comes from a page of this very site: its ``Origin`` names
    the host it was sent to (browsers send ``Origin`` with every POST), and the
    browser does not call it cross-site."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if not origin or not host or urlsplit(origin).netloc != host:
        return False
    return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"


def secure_cookie(request: Request, mode: str) -> bool:
    """Whether the cookie gets ``Secure``: ``always``, ``never``, or (``auto``) when
    the browser used https (uvicorn takes the scheme from a trusted proxy's
    ``X-Forwarded-Proto``)."""
    if mode == "auto":
        return request.url.scheme == "https"
    return mode == "always"


def _cookie_attributes(request: Request) -> dict:
    mode = current_settings().session.secure_cookie
    return {
        "path": "/",
        "secure": secure_cookie(request, mode),
        "httponly": True,
        "samesite": "strict",
    }


async def exchange(request: Request) -> Response:
    """POST ``{"nonce": …}``: set or clear the cookie the nonce stands for."""
    if not same_origin(request):
        return Response(status_code=403)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return Response(status_code=415)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return Response(status_code=413)
    try:
        nonce = json.loads(body).get("nonce")
    except (ValueError, AttributeError):
        return Response(status_code=400)
    hand = take(nonce) if isinstance(nonce, str) else None
    if hand is None:
        return Response(status_code=404)
    try:
        attributes = _cookie_attributes(request)
    except ConfigError as exc:
        _log.error("登录 Cookie 未设置：%s", exc)
        return Response(status_code=503)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    if hand.token is not None:
        response.set_cookie(COOKIE_NAME, hand.token, max_age=hand.max_age, **attributes)
    else:
        held = request.cookies.get(COOKIE_NAME)
        if held is not None and digest(held) == hand.clear_digest:
            response.delete_cookie(COOKIE_NAME, **attributes)
    return response


def routes() -> list[Route]:
    """The routes ``serve.py`` adds to Streamlit's."""
    _served.set()
    return [Route(ROUTE_PATH, exchange, methods=["POST"])]
