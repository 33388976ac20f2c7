"""The shipped reverse proxy (``deploy/nginx.conf``), checked by the real nginx.

nginx is Debian's package, installed by ``scripts/install-system-deps`` (the test-deps
step). The shipped file is used as it is: only its placeholders (server name,
certificate paths) and its ports are substituted (the listen ports become loopback high
ports, the upstream port that of the server behind it). A minimal main configuration
stands in for Debian's ``/etc/nginx/nginx.conf`` (its ``http {}`` includes the file,
as ``conf.d/`` is included there), with the pid file, logs and temporary files in the
test's directory, so nginx runs as the test user.

Two proxies run on loopback: one in front of a real ``streamlit run dashboard.py``
(``harness.server.streamlit_server``) and one in front of a tiny loopback HTTP
server that answers with the request headers it received, because Streamlit does not
show which ``X-Forwarded-For`` reached it. Clients that must not share a rate-limit
bucket connect from different loopback addresses (127.0.0.2, 127.0.0.3, ...).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.server import free_port, stop
from store.paths import REPO_ROOT

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
OPENSSL = shutil.which("openssl")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        NGINX is None, reason="nginx is not installed (scripts/install-system-deps installs it)"
    ),
]

SHIPPED = REPO_ROOT / "deploy" / "nginx.conf"
DEBIAN_MAIN = Path("/etc/nginx/nginx.conf")
SERVER_NAME = "localhost"
MB = 1024 * 1024
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "content-security-policy": "frame-ancestors 'self'",
    "referrer-policy": "same-origin",
}


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client that trusts only this self-signed certificate (and checks the name)."""
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI."""
    if OPENSSL is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [OPENSSL, "req", "-x509", "-nodes", "-days", "2", "-subj", f"/CN={SERVER_NAME}"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-addext", f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1"]
    command += ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Tls(cert, key)


def _substitute(text: str, pattern: str, replacement: str, flags: int = 0) -> str:
    """Replace ``pattern`` and fail loudly if the shipped file no longer has it."""
    new, count = re.subn(pattern, replacement, text, flags=flags)
    assert count, f"deploy/nginx.conf no longer contains {pattern!r}"
    return new


def site_config(
    folder: Path, tls: Tls, *, https_port: int, http_port: int, upstream_port: int
) -> Path:
    """The shipped file with its placeholders filled and its ports moved to loopback."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = _substitute(text, "__GRID_SERVER_NAME__", SERVER_NAME)
    text = _substitute(text, "__GRID_TLS_CERTIFICATE_KEY__", str(tls.key))
    text = _substitute(text, "__GRID_TLS_CERTIFICATE__", str(tls.cert))
    text = _substitute(
        text, r"^(\s*)listen 443 ssl;", rf"\1listen 127.0.0.1:{https_port} ssl;", re.M
    )
    text = _substitute(text, r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{http_port};", re.M)
    text = _substitute(text, r"server 127\.0\.0\.1:8501;", f"server 127.0.0.1:{upstream_port};")
    assert "__GRID_" not in text
    path = folder / "grid-dashboard.conf"
    path.write_text(text, encoding="utf-8")
    return path


def _temp_paths(folder: Path) -> str:
    return " ".join(
        f"{kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )


def minimal_main_config(folder: Path, site: Path) -> Path:
    """What Debian's nginx.conf provides around conf.d/, with every path in ``folder``."""
    path = folder / "nginx.conf"
    path.write_text(
        f"worker_processes 1;\n"
        f"error_log {folder / 'error.log'} info;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{\n"
        f"    access_log {folder / 'access.log'};\n"
        f"    {_temp_paths(folder)}\n"
        f"    include {site};\n"
        f"}}\n",
        encoding="utf-8",
    )
    return path


def nginx_command(folder: Path, main: Path, directives: str = "") -> list[str]:
    """nginx with its prefix, early error log and pid file in ``folder``."""
    directives = f"pid {folder / 'nginx.pid'}; {directives}"
    early = str(folder / "early.log")
    return [NGINX, "-p", str(folder), "-c", str(main), "-e", early, "-g", directives]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            detail = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{what} did not start: {detail}")
        time.sleep(0.2)


@dataclass(frozen=True)
class Proxy:
    https_port: int
    http_port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def error_log(self) -> str:
        return (self.folder / "error.log").read_text(errors="replace")


@contextmanager
def running_nginx(folder: Path, tls: Tls, upstream_port: int) -> Iterator[Proxy]:
    """The shipped configuration served by a real nginx on loopback high ports."""
    folder.mkdir(parents=True, exist_ok=True)
    https_port, http_port = free_port(), free_port()
    site = site_config(
        folder, tls, https_port=https_port, http_port=http_port, upstream_port=upstream_port
    )
    main = minimal_main_config(folder, site)
    directives = "daemon off;"
    if os.geteuid() == 0:
        # Workers must reach the test's own (private) directory for temporary files.
        directives += " user root;"
    out = open(folder / "nginx.out", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        nginx_command(folder, main, directives), stdout=out, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_port(https_port, process, "nginx", folder / "nginx.out")
        _wait_for_port(http_port, process, "nginx", folder / "nginx.out")
        yield Proxy(https_port, http_port, folder)
    finally:
        stop(process, timeout=30)
        out.close()


# ------------------------------------------------------------------ clients


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def request(
    proxy: Proxy,
    tls: Tls,
    method: str,
    path: str,
    *,
    source: str = "127.0.0.1",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
) -> Answer:
    """One HTTPS request to the proxy from the loopback address ``source``.

    Headers are pairs so that one name can be sent twice (a forged header repeated).
    """
    conn = http.client.HTTPSConnection(
        "127.0.0.1",
        proxy.https_port,
        timeout=120,
        source_address=(source, 0),
        context=tls.client_context(),
    )
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Answer(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def _read_head(sock: ssl.SSLSocket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n")[0].decode("latin-1")


def websocket_handshake(proxy: Proxy, tls: Tls, source: str) -> tuple[int, bool]:
    """Open Streamlit's WebSocket through the proxy, as the browser does, then hang up.

    Returns the status and whether the server's ``Sec-WebSocket-Accept`` is right for
    our key (proof that the upgrade reached a WebSocket server, not an error page).
    """
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    expected = base64.b64encode(
        hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    ).decode()
    raw = socket.create_connection(
        ("127.0.0.1", proxy.https_port), timeout=120, source_address=(source, 0)
    )
    with tls.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        sock.sendall(
            (
                f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{proxy.https_port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
            ).encode()
        )
        head = _read_head(sock)
    status = int(head.split(" ", 2)[1])
    return status, f"sec-websocket-accept: {expected}".lower() in head.lower()


# ------------------------------------------------------------------ the file itself


def _directives(text: str) -> list[str]:
    """The file's non-comment lines, stripped."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_shipped_config_talks_to_no_other_host():
    text = SHIPPED.read_text(encoding="utf-8")
    lines = _directives(text)
    proxy_passes = [line for line in lines if line.startswith("proxy_pass")]
    assert proxy_passes and set(proxy_passes) == {"proxy_pass http://grid_dashboard;"}
    upstream = re.search(r"upstream grid_dashboard \{(.*?)\}", text, re.S).group(1)
    assert _directives(upstream) == ["server 127.0.0.1:8501;"]
    redirects = [line for line in lines if line.startswith("return 30")]
    assert redirects == ["return 301 https://$server_name$request_uri;"]
    assert not [line for line in lines if line.split()[0] in ("resolver", "proxy_redirect")]
    # Every address written anywhere (comments included) is loopback or a private network.
    for literal in re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d+)?\b", text):
        network = ipaddress.ip_network(literal, strict=False)
        assert network.is_loopback or network.is_private, literal


def test_upload_body_limit_matches_streamlits():
    """nginx admits what Streamlit admits: ``server.maxUploadSize`` MB per file plus the
    1 MB Streamlit allows for the multipart framing around it."""
    streamlit = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    text = SHIPPED.read_text(encoding="utf-8")
    upload = re.search(r"location \^~ /_stcore/upload_file \{(.*?)\}", text, re.S).group(1)
    size = re.search(r"client_max_body_size (\d+)m;", upload)
    assert size, "no client_max_body_size in the upload location"
    assert int(size.group(1)) == streamlit["server"]["maxUploadSize"] + 1


@pytest.mark.skipif(not DEBIAN_MAIN.exists(), reason="no Debian /etc/nginx/nginx.conf here")
def test_nginx_t_accepts_it_in_debians_stock_nginx_conf(tmp_path, tls):
    """Dropped into conf.d/ under Debian's own nginx.conf (its TLS, gzip, log settings
    and all), the file passes ``nginx -t``: no directive clashes with the stock ones."""
    site = site_config(tmp_path, tls, https_port=free_port(), http_port=free_port(),
                       upstream_port=8501)  # fmt: skip
    text = DEBIAN_MAIN.read_text(encoding="utf-8")
    text = _substitute(text, r"include /etc/nginx/conf\.d/\*\.conf;", f"include {site};")
    # The test's own paths instead of the system's: the rest is Debian's file unchanged.
    text = re.sub(r"include /etc/nginx/sites-enabled/\*;", "", text)
    text = re.sub(r"(?m)^\s*pid .*;$", "", text)
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    text = _substitute(text, r"(?m)^http \{", "http {\n" + _temp_paths(tmp_path))
    main = tmp_path / "stock-nginx.conf"
    main.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [*nginx_command(tmp_path, main), "-t"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_nginx_t_refuses_the_file_until_the_placeholders_are_filled(tmp_path):
    """As shipped, the certificate paths are placeholders: nginx refuses to load it and
    names the placeholder, so it cannot be deployed half-edited."""
    main = minimal_main_config(tmp_path, SHIPPED)
    done = subprocess.run(
        [*nginx_command(tmp_path, main), "-t"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "__GRID_TLS_CERTIFICATE__" in done.stderr, done.stderr


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
