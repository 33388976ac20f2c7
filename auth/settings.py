"""Server settings for sign-in: ``data/config/server.toml`` (or ``$GRID_SERVER_CONFIG``).

Two tables, every key optional (the default applies when a key is absent)::

    [proxy]
    trusted_proxies = []            # peers whose X-Forwarded-For is believed

    [sign_in]
    free_attempts = 3               # failed attempts before the delay starts
    base_delay_seconds = 2          # first delay, doubled per further failure …
    max_delay_seconds = 300         # … up to this
    max_concurrent_checks = 2       # password checks at once, process-wide
    busy_wait_seconds = 10          # how long an attempt may wait for a free check
    max_username_length = 64        # longer names are refused before any hashing
    max_password_length = 1024      # and longer passwords too

    [session]
    secure_cookie = "auto"          # the sign-in cookie's Secure: auto, always, never

A misspelt key, a wrong type or an out-of-range value is refused with a Chinese
message naming the file and the key (``store.toml_config``, as the metric files are).
``docs/sign-in.md`` explains each key and how the client address is found.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from auth.store import FileVersion, file_version
from store.paths import CONFIG_DIR
from store.toml_config import ConfigTable, read_config_file

DEFAULT_SERVER_CONFIG = CONFIG_DIR / "server.toml"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# What Streamlit reports (st.context.ip_address is None) for a loopback peer, and the key
# of a client whose address cannot be told.
LOCAL_CLIENT = "local"
_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


@dataclass(frozen=True)
class SignInSettings:
    """The ``[sign_in]`` table: throttle, concurrency cap and input limits."""

    free_attempts: int = 3
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 300.0
    max_concurrent_checks: int = 2
    busy_wait_seconds: float = 10.0
    max_username_length: int = 64
    max_password_length: int = 1024


# When the cookie of a remembered sign-in (auth.session_cookie) is marked Secure.
SECURE_COOKIE_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class SessionSettings:
    """The ``[session]`` table: the cookie that keeps a sign-in across a reload."""

    secure_cookie: str = "auto"


@dataclass(frozen=True)
class ServerSettings:
    """The whole ``server.toml``."""

    trusted_proxies: tuple[IPNetwork, ...] = ()
    sign_in: SignInSettings = SignInSettings()
    session: SessionSettings = SessionSettings()


def server_config_file() -> Path:
    return Path(os.environ.get("GRID_SERVER_CONFIG") or DEFAULT_SERVER_CONFIG)


def load_settings(path: str | Path | None = None) -> ServerSettings:
    """Read and validate ``server.toml``; :class:`ConfigError` names the file and key."""
    root = read_config_file(path or server_config_file())
    proxy, sign_in, session = (
        root.table(name) if name in root.data else ConfigTable({}, root.file, name)
        for name in ("proxy", "sign_in", "session")
    )
    root.done()
    trusted = _networks(proxy, "trusted_proxies")
    proxy.done()
    secure = (
        session.text("secure_cookie", SECURE_COOKIE_MODES)
        if "secure_cookie" in session.data
        else SessionSettings.secure_cookie
    )
    session.done()
    settings = ServerSettings(trusted, _sign_in(sign_in), SessionSettings(secure))
    sign_in.done()
    return settings


def _networks(table: ConfigTable, name: str) -> tuple[IPNetwork, ...]:
    if name not in table.data:
        return ()
    networks = []
    for entry in table.texts(name):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise table.fail(
                name, f'{entry!r} 不是 IP 地址或网段（例如 "127.0.0.1"、"::1"、"10.0.0.0/8"）'
            ) from None
    return tuple(networks)


def _sign_in(t: ConfigTable) -> SignInSettings:
    default = SignInSettings()

    # Every key may be left out (its default applies); one that is given must be valid.
    def integer(name: str, minimum: int, maximum: int) -> int:
        if name not in t.data:
            return getattr(default, name)
        value = t.integer(name, minimum)
        if value > maximum:
            raise t.fail(name, f"应不大于 {maximum}，实际为 {value!r}")
        return value

    def seconds(name: str, maximum: float) -> float:
        if name not in t.data:
            return getattr(default, name)
        return t.number(name, 0.0, maximum, positive=True)

    settings = SignInSettings(
        free_attempts=integer("free_attempts", 1, 100),
        base_delay_seconds=seconds("base_delay_seconds", 3600),
        max_delay_seconds=seconds("max_delay_seconds", 86400),
        max_concurrent_checks=integer("max_concurrent_checks", 1, 64),
        busy_wait_seconds=seconds("busy_wait_seconds", 600),
        max_username_length=integer("max_username_length", 1, 1024),
        max_password_length=integer("max_password_length", 8, 65536),
    )
    if settings.max_delay_seconds < settings.base_delay_seconds:
        raise t.fail("max_delay_seconds", "应不小于 base_delay_seconds")
    return settings


_cache_lock = threading.Lock()
_cache: dict[str, tuple[FileVersion | None, ServerSettings]] = {}


def current_settings() -> ServerSettings:
    """``server.toml`` as it is now: re-read whenever the file changes (compared by
    inode, size and modification time on every call, which costs one ``stat``)."""
    path = server_config_file()
    version = file_version(path)
    with _cache_lock:
        cached = _cache.get(str(path))
        if cached is not None and cached[0] == version and version is not None:
            return cached[1]
    settings = load_settings(path)
    with _cache_lock:
        _cache[str(path)] = (version, settings)
    return settings


# ------------------------------------------------------------------ client address


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a forwarded-for entry (``1.2.3.4``, ``1.2.3.4:5678``,
    ``[::1]:80``, ``::1``), or None when it is not one."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address, trusted: Iterable[IPNetwork]) -> bool:
    return address is not None and any(
        address.version == net.version and address in net for net in trusted
    )


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Iterable[IPNetwork]
) -> str:
    """The address a sign-in attempt is attributed to (throttle key, audit detail).

    ``peer`` is what ``st.context.ip_address`` reports: the TCP peer, or None for a
    loopback peer (and when there is no client, as in AppTest). Only when the peer is
    a trusted proxy is ``X-Forwarded-For`` (all of its header lines, in order) believed:
    the client is the right-most entry that is not itself a trusted proxy, because each
    proxy appends the address it saw and only the entries our proxies added are true.
    An untrusted peer's own address is used whatever headers it sends.
    """
    trusted = tuple(trusted)
    peer_address = _parse_address(peer) if peer else None
    if peer is None:  # loopback: trusted when 127.0.0.1 or ::1 is
        peer_is_trusted = any(_trusted(lo, trusted) for lo in _LOOPBACK)
    else:
        peer_is_trusted = _trusted(peer_address, trusted)
    own = LOCAL_CLIENT if peer is None else str(peer_address or peer)
    if not peer_is_trusted:
        return own
    entries = [e.strip() for line in forwarded_for for e in line.split(",") if e.strip()]
    for entry in reversed(entries):
        address = _parse_address(entry)
        if not _trusted(address, trusted):
            # A trusted proxy wrote this entry; keep it bounded even if it is not an IP.
            return str(address) if address is not None else entry[:64]
    # Every hop is one of our proxies (or there was no header): the left-most is the
    # furthest we can see.
    first = _parse_address(entries[0]) if entries else None
    return str(first) if first is not None else own
