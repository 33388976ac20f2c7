"""The shipped reverse proxy (``deploy/nginx.conf``) as a file: what it talks to, its
upload limit next to Streamlit's, and whether the real nginx accepts it (``nginx -t``)
under Debian's stock ``nginx.conf`` and refuses it while its placeholders are unfilled.

How the file is rendered for a test: tests/support/nginx.py. The proxy at work in front
of real servers: test_nginx_proxy.py.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from harness.server import free_port
from store.paths import REPO_ROOT
from tests.support.nginx import (
    SHIPPED,
    Tls,
    minimal_main_config,
    needs_nginx,
    nginx_command,
    self_signed_certificate,
    site_config,
    substitute,
    temp_path_directives,
)

pytestmark = [pytest.mark.browser, needs_nginx]

DEBIAN_MAIN = Path("/etc/nginx/nginx.conf")


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


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
    text = substitute(text, r"include /etc/nginx/conf\.d/\*\.conf;", f"include {site};")
    # The test's own paths instead of the system's: the rest is Debian's file unchanged.
    text = re.sub(r"include /etc/nginx/sites-enabled/\*;", "", text)
    text = re.sub(r"(?m)^\s*pid .*;$", "", text)
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    text = substitute(text, r"(?m)^http \{", "http {\n" + temp_path_directives(tmp_path))
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
