"""Helpers for the nginx tests: the shipped reverse proxy (``deploy/nginx.conf``) run by
the real nginx on loopback, a certificate for it, and clients that talk to it.

nginx is Debian's package, installed by ``scripts/install-system-deps`` (the test-deps
step). The shipped file is used as it is: only its placeholders (server name,
certificate paths) and its ports are substituted (the listen ports become loopback high
ports, the upstream port that of the server behind it). A minimal main configuration
stands in for Debian's ``/etc/nginx/nginx.conf`` (its ``http {}`` includes the file,
as ``conf.d/`` is included there), with the pid file, logs and temporary files in the
test's directory, so nginx runs as the test user.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.server import free_port, stop
from store.paths import REPO_ROOT

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
OPENSSL = shutil.which("openssl")
# Both nginx test modules are skipped, saying why, on a machine without nginx.
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (scripts/install-system-deps installs it)"
)

SHIPPED = REPO_ROOT / "deploy" / "nginx.conf"
SERVER_NAME = "localhost"


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client that trusts only this self-signed certificate (and checks the name)."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed_certificate(folder: Path) -> Tls:
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI
    in ``folder`` (the test is skipped when openssl is not installed)."""
    if OPENSSL is None:
        pytest.skip("the openssl command is not installed")
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


def substitute(text: str, pattern: str, replacement: str, flags: int = 0) -> str:
    """Replace ``pattern`` and fail loudly if the shipped file no longer has it."""
    new, count = re.subn(pattern, replacement, text, flags=flags)
    assert count, f"deploy/nginx.conf no longer contains {pattern!r}"
    return new


def site_config(
    folder: Path, tls: Tls, *, https_port: int, http_port: int, upstream_port: int
) -> Path:
    """The shipped file with its placeholders filled and its ports moved to loopback."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = substitute(text, "__GRID_SERVER_NAME__", SERVER_NAME)
    text = substitute(text, "__GRID_TLS_CERTIFICATE_KEY__", str(tls.key))
    text = substitute(text, "__GRID_TLS_CERTIFICATE__", str(tls.cert))
    text = substitute(
        text, r"^(\s*)listen 443 ssl;", rf"\1listen 127.0.0.1:{https_port} ssl;", re.M
    )
    text = substitute(text, r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{http_port};", re.M)
    text = substitute(text, r"server 127\.0\.0\.1:8501;", f"server 127.0.0.1:{upstream_port};")
    assert "__GRID_" not in text
    path = folder / "grid-dashboard.conf"
    path.write_text(text, encoding="utf-8")
    return path


def temp_path_directives(folder: Path) -> str:
    """nginx's temporary-file directives, every one pointing into ``folder``."""
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
        f"    {temp_path_directives(folder)}\n"
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
