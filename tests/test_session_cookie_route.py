"""The route that sets and clears the sign-in cookie (``auth.session_cookie``), over real
HTTP: its Starlette routes served by uvicorn on loopback in this process (where the
hand-offs are registered), asked with ``urllib``. The cookie's attributes, one use per
nonce, ``Secure`` by ``[session] secure_cookie``, and refusals of another origin and of
anything but a small JSON body. (The whole flow in Chromium:
test_sign_in_persistence_browser.py.)
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import uvicorn
from starlette.applications import Starlette

from auth.session_cookie import COOKIE_NAME, ROUTE_PATH, hand_off, hand_off_clear, pending, routes
from auth.session_tokens import digest
from auth.settings import load_settings
from harness.server import free_port
from store.toml_config import ConfigError

TOKEN = "a-token-of-the-test_0123456789"


@pytest.fixture(scope="module")
def url():
    port = free_port()
    config = uvicorn.Config(
        Starlette(routes=routes()), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(autouse=True)
def server_config(tmp_path, monkeypatch):
    """``server.toml`` of each test (re-read by the route whenever it changes)."""
    path = tmp_path / "server.toml"
    path.write_text("")
    monkeypatch.setenv("GRID_SERVER_CONFIG", str(path))
    return path


def post(url: str, body: bytes | dict, **headers: str | None) -> tuple[int, list[str]]:
    """(status, Set-Cookie headers) of a POST to the route. The headers are a browser's
    same-origin fetch of JSON unless given (``Sec_Fetch_Site=…``; None leaves one out)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    sent = {"Origin": url, "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
    sent |= {name.replace("_", "-"): value for name, value in headers.items()}
    sent = {name: value for name, value in sent.items() if value is not None}
    request = urllib.request.Request(url + ROUTE_PATH, data=data, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get_all("set-cookie") or []
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_all("set-cookie") or []


def attributes(set_cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    found = {"name": name, "value": value}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        found[key.lower()] = val
    return found


def test_a_nonce_sets_the_cookie_once(url):
    nonce = hand_off(TOKEN, 8 * 3600)
    status, cookies = post(url, {"nonce": nonce})
    assert status == 204 and len(cookies) == 1
    cookie = attributes(cookies[0])
    assert (cookie["name"], cookie["value"]) == (COOKIE_NAME, TOKEN)
    assert cookie["max-age"] == str(8 * 3600)
    assert cookie["path"] == "/" and cookie["samesite"].lower() == "strict"
    assert "httponly" in cookie and "secure" not in cookie  # plain http
    assert not pending(nonce)
    assert post(url, {"nonce": nonce}) == (404, [])  # used


@pytest.mark.parametrize(
    ("mode", "forwarded_proto", "secure"),
    [
        ("auto", "https", True),
        ("auto", None, False),
        ("always", None, True),
        ("never", "https", False),
    ],
)
def test_secure_follows_the_setting_and_the_scheme(
    url, server_config, mode, forwarded_proto, secure
):
    server_config.write_text(f'[session]\nsecure_cookie = "{mode}"\n')
    # uvicorn believes X-Forwarded-Proto from loopback, as from nginx on the same host.
    headers = {"X_Forwarded_Proto": forwarded_proto} if forwarded_proto else {}
    status, cookies = post(url, {"nonce": hand_off(TOKEN, 60)}, **headers)
    assert status == 204
    assert ("secure" in attributes(cookies[0])) is secure


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": None},
        {"Sec_Fetch_Site": "cross-site"},
        {"Sec_Fetch_Site": None, "Origin": "http://127.0.0.1:1"},
    ],
    ids=["other-origin", "no-origin", "cross-site", "other-port"],
)
def test_a_request_from_elsewhere_is_refused_and_leaves_the_nonce(url, headers):
    nonce = hand_off(TOKEN, 60)
    assert post(url, {"nonce": nonce}, **headers) == (403, [])
    assert post(url, {"nonce": nonce}, Content_Type="text/plain") == (415, [])
    assert pending(nonce)  # the page's own request can still use it


def test_bad_bodies_are_refused(url):
    assert post(url, b"{not json")[0] == 400
    assert post(url, b'["a list"]')[0] == 400
    assert post(url, {"nonce": 12})[0] == 404
    assert post(url, {"nonce": "x" * 2000})[0] == 413
    get = urllib.request.Request(url + ROUTE_PATH, headers={"Origin": url})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(get, timeout=30)
    assert refused.value.code == 405


def test_clearing_removes_only_the_signed_out_token(url):
    other = "another-token-signed-in-since_0123"
    nonce = hand_off_clear(digest(TOKEN))
    status, cookies = post(url, {"nonce": nonce}, Cookie=f"{COOKIE_NAME}={other}")
    assert (status, cookies) == (204, [])  # the browser holds a newer sign-in: kept
    nonce = hand_off_clear(digest(TOKEN))
    status, cookies = post(url, {"nonce": nonce}, Cookie=f"{COOKIE_NAME}={TOKEN}")
    cookie = attributes(cookies[0])
    assert status == 204 and cookie["name"] == COOKIE_NAME and cookie["max-age"] == "0"


def test_a_bad_setting_is_refused_with_its_key_and_sets_nothing(url, server_config):
    server_config.write_text('[session]\nsecure_cookie = "maybe"\n')
    with pytest.raises(ConfigError, match=r"session\.secure_cookie"):
        load_settings(server_config)
    nonce = hand_off(TOKEN, 60)
    assert post(url, {"nonce": nonce}) == (503, [])
