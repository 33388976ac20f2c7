"""The shipped reverse proxy (``deploy/nginx.conf``) at work: a real nginx on loopback
in front of real servers (how it is rendered and started: tests/support/nginx.py).

Two proxies run on loopback: one in front of a real ``streamlit run dashboard.py``
(``harness.server.streamlit_server``) and one in front of a tiny loopback HTTP
server that answers with the request headers it received, because Streamlit does not
show which ``X-Forwarded-For`` reached it. Clients that must not share a rate-limit
bucket connect from different loopback addresses (127.0.0.2, 127.0.0.3, ...).
"""

from __future__ import annotations

import http.client
import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.nginx import (
    SERVER_NAME,
    Answer,
    Tls,
    needs_nginx,
    request,
    running_nginx,
    self_signed_certificate,
    websocket_handshake,
)

pytestmark = [pytest.mark.browser, needs_nginx]

MB = 1024 * 1024
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "content-security-policy": "frame-ancestors 'self'",
    "referrer-policy": "same-origin",
}


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


# ------------------------------------------------------------------ in front of Streamlit

USER, PASSWORD = "proxy_office", "proxy-password-1"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, tls):
    """nginx (shipped config) in front of a real ``streamlit run dashboard.py``."""
    from auth.roles import OFFICE
    from etl.generate import generate
    from harness.server import sample_database, streamlit_server, write_users

    work = tmp_path_factory.mktemp("proxied-dashboard")
    db = sample_database(tmp_path_factory, work / "grid.duckdb", months=23, end=date(2026, 9, 1))
    users = write_users(work / "users.toml", [(USER, PASSWORD, OFFICE, "反向代理测试")])
    month = work / "upload"
    generate(month, months=1, end=date(2026, 10, 1))
    with (
        streamlit_server(db, {"GRID_USERS": str(users)}) as streamlit,
        running_nginx(work / "nginx", tls, int(streamlit.rsplit(":", 1)[1])) as proxy,
    ):
        yield {"proxy": proxy, "streamlit": streamlit, "upload_dir": month / "2026-10"}


def test_health_answers_through_the_proxy_with_security_headers(dashboard, tls):
    answer = request(dashboard["proxy"], tls, "GET", "/_stcore/health")
    assert answer.status == 200
    assert answer.body == b"ok"
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value, name
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert answer.headers["server"] == "nginx"  # no version number


def test_plain_http_redirects_to_https_on_the_servers_own_name(dashboard):
    """The redirect names the configured server, not the Host the client sent."""
    conn = http.client.HTTPConnection("127.0.0.1", dashboard["proxy"].http_port, timeout=60)
    conn.request("GET", "/village?village=CJ03", headers={"Host": "attacker.invalid"})
    resp = conn.getresponse()
    conn.close()
    assert resp.status == 301
    assert resp.headers["location"] == f"https://{SERVER_NAME}/village?village=CJ03"


@pytest.mark.parametrize(
    "path",
    [
        "/_stcore/metrics",
        "/_stcore/metrics?families=session_events_total",
        "/_stcore/metrics/",
        "//_stcore//metrics",
        "/_stcore/%6detrics",
        "/_stcore/agent/openapi.json",
        "/_stcore/script-health-check",
    ],
)
def test_internal_routes_are_refused(dashboard, tls, path):
    answer = request(dashboard["proxy"], tls, "GET", path)
    assert answer.status == 404
    assert b"nginx" in answer.body  # nginx's own page: Streamlit never saw the request
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"  # headers on errors too


def test_metrics_are_open_without_the_proxy(dashboard):
    """What the proxy closes: Streamlit itself serves its statistics to anyone."""
    conn = http.client.HTTPConnection("127.0.0.1", int(dashboard["streamlit"].rsplit(":", 1)[1]))
    conn.request("GET", "/_stcore/metrics")
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200
    assert b"# TYPE" in body


def test_oversized_upload_is_refused_by_nginx(dashboard, tls):
    """A body over 51 MB stops at nginx with 413, declared or streamed (chunked); a
    small one is passed to Streamlit, which refuses it for its own reason (no XSRF
    token), so the 413 is nginx's size limit and nothing else. (Streamlit answers
    that 403 before reading a body, so the small body is small: a large one would
    race the answer. That a 51 MB body is passed whole is shown with the echo server.)"""
    proxy = dashboard["proxy"]
    path = "/_stcore/upload_file/some-session/some-file"

    small = request(proxy, tls, "PUT", path, source="127.0.0.6", body=b"x" * 16)
    assert small.status == 403 and b"XSRF" in small.body, small

    conn = http.client.HTTPSConnection(
        "127.0.0.1", proxy.https_port, timeout=120, source_address=("127.0.0.6", 0),
        context=tls.client_context(),
    )  # fmt: skip
    conn.putrequest("PUT", path)
    conn.putheader("Content-Length", str(60 * MB))
    conn.endheaders()
    declared = conn.getresponse()
    assert declared.status == 413
    assert b"nginx" in declared.read()
    conn.close()

    conn = http.client.HTTPSConnection(
        "127.0.0.1", proxy.https_port, timeout=120, source_address=("127.0.0.6", 0),
        context=tls.client_context(),
    )  # fmt: skip
    conn.putrequest("PUT", path)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"%x\r\n" % MB + b"y" * MB + b"\r\n"
    try:
        for _ in range(56):
            conn.send(chunk)
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # nginx may stop reading once it has decided
    streamed = conn.getresponse()
    assert streamed.status == 413
    conn.close()


def _until_refused(send, limit: int) -> list[int]:
    """Statuses of ``send()`` repeated until one is 429 (or ``limit`` tries)."""
    statuses: list[int] = []
    while len(statuses) < limit and 429 not in statuses:
        statuses.append(send())
    return statuses


def test_an_upload_burst_is_rate_limited_per_address(dashboard, tls):
    proxy = dashboard["proxy"]
    path = "/_stcore/upload_file/some-session/some-file"

    def upload() -> int:
        return request(proxy, tls, "PUT", path, source="127.0.0.3", body=b"x").status

    statuses = _until_refused(upload, 120)
    assert statuses[-1] == 429, statuses
    assert statuses[0] == 403  # the first ones reach Streamlit (and fail its XSRF check)
    assert len(statuses) > 10  # the burst of a multi-file upload passes
    assert 'zone "grid_upload"' in proxy.error_log()
    # Another address is not affected by this one's burst.
    assert request(proxy, tls, "PUT", path, source="127.0.0.4", body=b"x").status == 403


def test_a_burst_of_new_sessions_is_rate_limited(dashboard, tls):
    """WebSocket handshakes to /_stcore/stream go through (101, with the right accept
    key: the upgrade reaches Streamlit) until the address's burst is spent."""
    proxy = dashboard["proxy"]
    first = websocket_handshake(proxy, tls, "127.0.0.5")
    assert first == (101, True)
    statuses = _until_refused(lambda: websocket_handshake(proxy, tls, "127.0.0.5")[0], 200)
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {101}
    assert 'zone "grid_stream"' in proxy.error_log()


def test_sign_in_and_upload_work_through_the_proxy(dashboard):
    """Headless Chromium over HTTPS: the sign-in page renders (its content comes over
    the proxied WebSocket), a user signs in, and files put on the upload page pass
    nginx and Streamlit's XSRF check and are validated."""
    from playwright.sync_api import sync_playwright

    from harness.browser import (
        CHROMIUM,
        CHROMIUM_ARGS,
        exceptions_on,
        open_from_sidebar,
        sign_in,
        wait_until_idle,
    )

    proxy = dashboard["proxy"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                ignore_https_errors=True, locale="zh-CN", viewport={"width": 1440, "height": 1000}
            )
            page = context.new_page()
            page.set_default_timeout(90_000)
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            response = page.goto(proxy.url)
            assert response.status == 200
            assert response.headers["x-frame-options"] == "SAMEORIGIN"  # served by nginx
            page.wait_for_selector('input[aria-label="用户名"]', timeout=90_000)
            assert f"wss://127.0.0.1:{proxy.https_port}/_stcore/stream" in sockets

            sign_in(page, USER, PASSWORD)
            open_from_sidebar(page, "数据上传")
            files = [str(dashboard["upload_dir"] / f"{k}.csv") for k in ("activity", "report")]
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(files)
            wait_until_idle(page)
            assert page.get_by_text("校验通过").count(), exceptions_on(page)
            assert exceptions_on(page) == []
        finally:
            browser.close()


# ------------------------------------------------------------------ the forwarded address


class _EchoHeaders(BaseHTTPRequestHandler):
    """Answers any request with the headers it received, as JSON pairs, and the
    number of body bytes it read as the pair ``["body-bytes", n]``."""

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = 0
        while received < length:
            chunk = self.rfile.read(min(MB, length - received))
            if not chunk:
                break
            received += len(chunk)
        pairs = [[k.lower(), v] for k, v in self.headers.items()]
        body = json.dumps([*pairs, ["body-bytes", str(received)]]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _echo

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def echo(tmp_path_factory, tls):
    """nginx (shipped config) in front of a loopback server that echoes headers."""
    backend = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeaders)
    thread = threading.Thread(target=backend.serve_forever, daemon=True)
    thread.start()
    try:
        folder = tmp_path_factory.mktemp("echo") / "nginx"
        with running_nginx(folder, tls, backend.server_address[1]) as proxy:
            yield proxy
    finally:
        backend.shutdown()
        backend.server_close()


def _seen(answer: Answer) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in json.loads(answer.body):
        seen.setdefault(name, []).append(value)
    return seen


def test_the_backend_sees_the_real_client_address_not_a_forged_one(echo, tls):
    forged = [
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-For", "198.51.100.1, 203.0.113.8"),
        ("X-Real-IP", "203.0.113.7"),
        ("X-Forwarded-Proto", "http"),
        ("Forwarded", "for=203.0.113.7;proto=http"),
        ("X-Forwarded-Host", "attacker.invalid"),
    ]
    for path in ("/", "/_stcore/stream", "/_stcore/upload_file/s/f"):
        seen = _seen(request(echo, tls, "GET", path, source="127.0.0.2", headers=forged))
        assert seen["x-forwarded-for"] == ["127.0.0.2"], path
        assert seen["x-real-ip"] == ["127.0.0.2"], path
        assert seen["x-forwarded-proto"] == ["https"], path
        assert "forwarded" not in seen and "x-forwarded-host" not in seen, path
        assert seen["host"] == [f"127.0.0.1:{echo.https_port}"], path

    # The address follows the connection: another client, another address.
    seen = _seen(request(echo, tls, "GET", "/", source="127.0.0.7"))
    assert seen["x-forwarded-for"] == ["127.0.0.7"]


def test_only_the_websocket_handshake_asks_for_an_upgrade(echo, tls):
    upgrade = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
    seen = _seen(request(echo, tls, "GET", "/_stcore/stream", headers=upgrade))
    assert seen["upgrade"] == ["websocket"] and seen["connection"] == ["upgrade"]
    seen = _seen(request(echo, tls, "GET", "/"))
    assert "upgrade" not in seen and seen["connection"] == ["close"]


def test_an_upload_of_the_full_allowed_size_is_passed_whole(echo, tls):
    """51 MB (a 50 MB file and its multipart framing) reach the server behind nginx
    byte for byte; one byte more is refused."""
    path = "/_stcore/upload_file/s/f"
    allowed = request(echo, tls, "PUT", path, source="127.0.0.8", body=b"z" * (51 * MB))
    assert allowed.status == 200
    assert _seen(allowed)["body-bytes"] == [str(51 * MB)]
    over = request(echo, tls, "PUT", path, source="127.0.0.8", body=b"z" * (51 * MB + 1))
    assert over.status == 413
